// The CPU a relayed message costs, A/B between two checkouts, on a loaded machine: one process per
// run hosts a strict 1.6 charger, the EMS's central system with the relay (test/upstream's
// startLocalController: no control loop) and a strict CSMS, all of the checkout under test; one
// message at a time (nothing queues, whatever the load), process.cpuUsage() over N round trips,
// the bytes allocated per MeterValues (v8.GCProfiler) and each Start/Stop's round trip.
// The peers' share is the same in both checkouts, so the difference is the EMS's.
//   node --import tsx bench/upstream-cpu-ab.ts <checkout A> <checkout B> [rounds] [messages]
// prints per run and the medians; A and B take turns going first. Loopback only.
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import v8 from 'node:v8';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);

/**
 * Bytes the process allocated while `run` ran (garbage included): the heap before and after each
 * garbage collection (v8.GCProfiler), so a load-independent count, not a time.
 */
async function allocatedBytes(run: () => Promise<void>): Promise<number> {
  const profiler = new v8.GCProfiler();
  const before = v8.getHeapStatistics().used_heap_size;
  profiler.start();
  await run();
  const { statistics } = profiler.stop();
  const after = v8.getHeapStatistics().used_heap_size;
  let allocated = 0;
  let last = before;
  for (const gc of statistics) {
    allocated += gc.beforeGC.heapStatistics.usedHeapSize - last;
    last = gc.afterGC.heapStatistics.usedHeapSize;
  }
  return allocated + after - last;
}

async function one(root: string, messages: number): Promise<void> {
  const { startLocalController, relayConfig, T0 } = await import(`${root}/test/upstream/local-controller.ts`);
  const { StrictCharger, TestCsms } = await import(`${root}/test/upstream/peers.ts`);
  const csms = new TestCsms();
  await csms.start();
  const ems = await startLocalController(relayConfig(csms.url));
  const charger = new StrictCharger(ems.cs.port, 'CP16', 'ocpp1.6');
  charger.nowMs = () => ems.clock.nowMs();
  const ready = ems.cs.whenReady('CP16');
  await charger.connect();
  await charger.boot();
  await ready;
  while (!csms.clients.has('CLOUD-CP16') || ems.status('CP16').uplink !== 'online') await new Promise((r) => setTimeout(r, 20));
  const at = (s: number) => new Date(T0 + s * 1000).toISOString();
  const meter = async (count: number, from: number) => {
    for (let i = 0; i < count; i++) await charger.meter16(1, at(from + i), 1000 + from + i);
  };
  /** Each Start and Stop's round trip (ms): whether its answer waits for a group commit (an fsync) shows here, whatever the load. */
  const boundaryMs: number[] = [];
  const sessions = async (count: number, from: number) => {
    for (let i = 0; i < count; i++) {
      let t = performance.now();
      await charger.start16(1, 'LOCAL01', at(from + 2 * i));
      boundaryMs.push(performance.now() - t);
      t = performance.now();
      await charger.stop16(1, at(from + 2 * i + 1), 2000 + i);
      boundaryMs.push(performance.now() - t);
    }
  };
  await meter(300, 0);
  await sessions(20, 1000);
  boundaryMs.length = 0;
  csms.received.length = 0;
  if (csms.frames) csms.frames.length = 0;
  const t0 = process.cpuUsage();
  await meter(messages, 10_000);
  const t1 = process.cpuUsage(t0);
  const meterBytes = await allocatedBytes(() => meter(messages, 50_000));
  const pairs = Math.max(20, Math.round(messages / 20));
  const t2 = process.cpuUsage();
  await sessions(pairs, 100_000);
  const t3 = process.cpuUsage(t2);
  boundaryMs.sort((x, y) => x - y);
  const q = (f: number) => boundaryMs[Math.min(boundaryMs.length - 1, Math.floor(f * boundaryMs.length))]!;
  // The peers' own share: the same charger straight to the CSMS (the EMS's share is the rest).
  const direct = new StrictCharger(csms.port, 'DIRECT', 'ocpp1.6');
  direct.client._options.endpoint = csms.url;
  await direct.connect();
  await direct.boot();
  for (let i = 0; i < 300; i++) await direct.meter16(1, at(i), 1000 + i);
  const t4 = process.cpuUsage();
  for (let i = 0; i < messages; i++) await direct.meter16(1, at(20_000 + i), 5000 + i);
  const t5 = process.cpuUsage(t4);
  const directBytes = await allocatedBytes(async () => {
    for (let i = 0; i < messages; i++) await direct.meter16(1, at(60_000 + i), 9000 + i);
  });
  await direct.close();
  process.stdout.write(
    `${JSON.stringify({ meterUs: (t1.user + t1.system) / messages, startStopUs: (t3.user + t3.system) / (2 * pairs), directMeterUs: (t5.user + t5.system) / messages, startStopP50Ms: q(0.5), startStopP90Ms: q(0.9), meterKB: meterBytes / messages / 1024, directMeterKB: directBytes / messages / 1024 })}\n`,
  );
  await charger.close();
  await ems.stop();
  await csms.stop();
  process.exit(0);
}

if (process.argv[2] === '--one') {
  await one(process.argv[3]!, Number(process.argv[4]));
} else {
  const [a, b] = [process.argv[2]!, process.argv[3]!];
  const rounds = Number(process.argv[4] ?? 4);
  const messages = Number(process.argv[5] ?? 2000);
  type Run = { meterUs: number; startStopUs: number; directMeterUs: number; startStopP50Ms: number; startStopP90Ms: number; meterKB: number; directMeterKB: number };
  const runs: Record<string, Run[]> = { [a]: [], [b]: [] };
  for (let round = 1; round <= rounds; round++) {
    for (const root of round % 2 ? [a, b] : [b, a]) {
      const load = loadavg()[0]!.toFixed(1);
      const out = execFileSync(process.execPath, ['--import', 'tsx', SELF, '--one', root, String(messages)], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      const result = JSON.parse(out.trim().split('\n').pop()!) as Run;
      runs[root]!.push(result);
      process.stdout.write(
        `round ${round} ${root}: MeterValues ${result.meterUs.toFixed(1)} µs (direct, peers only: ${result.directMeterUs.toFixed(1)}), Start/Stop ${result.startStopUs.toFixed(1)} µs, round trip p50/p90 ${result.startStopP50Ms.toFixed(2)}/${result.startStopP90Ms.toFixed(2)} ms, allocated per MeterValues ${result.meterKB.toFixed(1)} KB (direct ${result.directMeterKB.toFixed(1)}) (load ${load})\n`,
      );
    }
  }
  const median = (v: number[]) => [...v].sort((x, y) => x - y)[Math.floor((v.length - 1) / 2)]!;
  for (const root of [a, b]) {
    const r = runs[root]!;
    process.stdout.write(
      `median ${root}: MeterValues ${median(r.map((x) => x.meterUs)).toFixed(1)} µs, less the peers (direct) ${median(r.map((x) => x.meterUs - x.directMeterUs)).toFixed(1)} µs; Start/Stop ${median(r.map((x) => x.startStopUs)).toFixed(1)} µs, round trip p50 ${median(r.map((x) => x.startStopP50Ms)).toFixed(2)} ms, p90 ${median(r.map((x) => x.startStopP90Ms)).toFixed(2)} ms; allocated per relayed MeterValues ${median(r.map((x) => x.meterKB)).toFixed(1)} KB, the EMS's share (less direct) ${median(r.map((x) => x.meterKB - x.directMeterKB)).toFixed(1)} KB\n`,
    );
  }
  const ratios = runs[a]!.map((x, i) => (x.meterUs - x.directMeterUs) / (runs[b]![i]!.meterUs - runs[b]![i]!.directMeterUs));
  process.stdout.write(`EMS share of a relayed MeterValues, A/B per round: ${ratios.map((x) => x.toFixed(3)).join(', ')}; median ${median(ratios).toFixed(3)}\n`);
}
