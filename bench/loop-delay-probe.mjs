// Preloaded into the EMS process by bench/upstream.bench.ts (node --import): the event loop's
// delay, the time a frame that has arrived waits for the EMS's one thread. On SIGUSR2 it writes
// the histogram since the last signal to $EMS_LOOP_DELAY_FILE (ms) and starts a new one, and
// appends its pid and the monotonic time of the signal (µs) to $EMS_LOOP_MARKS_FILE (default
// $EMS_LOOP_DELAY_FILE.marks).
import { appendFileSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.EMS_LOOP_DELAY_FILE;
if (file) {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  process.on('SIGUSR2', () => {
    const ms = (ns) => ns / 1e6;
    writeFileSync(file, JSON.stringify({ p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max), count: histogram.count }));
    histogram.reset();
    // When (the monotonic clock a --cpu-prof profile is timed on, µs): to cut the bench's window out of a profile.
    appendFileSync(process.env.EMS_LOOP_MARKS_FILE ?? `${file}.marks`, `${process.pid} ${process.hrtime.bigint() / 1000n}\n`);
  });
}
