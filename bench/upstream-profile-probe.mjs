// Preloaded into the EMS process by bench/upstream-profile.ts (node --import): on the first SIGUSR2
// it starts a window, on the second it ends it and writes to $EMS_PROFILE_WINDOW_FILE what the
// process did in it, as counts, not times of day: CPU (process.cpuUsage), every GC's pause and the
// bytes allocated between GCs (v8.GCProfiler: the heap before each GC less the heap after the one
// before), and the monotonic bounds of the window (µs, the clock a --cpu-prof profile is timed on).
// With $EMS_PROFILE_HEAP_FILE: a sampling heap profile of the window, garbage included (what is
// allocated, not what is kept), written there.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import v8 from 'node:v8';

const file = process.env.EMS_PROFILE_WINDOW_FILE;
if (file) {
  let window;
  process.on('SIGUSR2', () => {
    if (!window) {
      const profiler = new v8.GCProfiler();
      window = { profiler, cpu: process.cpuUsage(), startUs: Number(process.hrtime.bigint() / 1000n), heap: v8.getHeapStatistics().used_heap_size };
      profiler.start();
      if (process.env.EMS_PROFILE_HEAP_FILE) {
        window.session = new Session();
        window.session.connect();
        window.session.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
      }
      return;
    }
    if (window.session) {
      window.session.post('HeapProfiler.stopSampling', (error, result) => {
        if (!error) writeFileSync(process.env.EMS_PROFILE_HEAP_FILE, JSON.stringify(result.profile));
      });
    }
    const { statistics } = window.profiler.stop();
    const cpu = process.cpuUsage(window.cpu);
    const endUs = Number(process.hrtime.bigint() / 1000n);
    let allocated = 0;
    let last = window.heap;
    const pauses = [];
    for (const gc of statistics) {
      allocated += gc.beforeGC.heapStatistics.usedHeapSize - last;
      last = gc.afterGC.heapStatistics.usedHeapSize;
      pauses.push({ type: gc.gcType, ms: gc.cost / 1000 });
    }
    allocated += v8.getHeapStatistics().used_heap_size - last;
    writeFileSync(file, JSON.stringify({ startUs: window.startUs, endUs, cpuUs: cpu.user + cpu.system, allocatedBytes: allocated, pauses }));
    window = undefined;
  });
}
