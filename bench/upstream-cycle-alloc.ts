// What one control cycle allocates at 200 chargers (#14: the relay's tail is mostly GC, and the
// control cycle made half the garbage): the closed loop's seeded depot (test/closed-loop) with 200
// chargers, every car plugged in from the first two minutes, the EMS's real control step on virtual
// time, and the bytes each step allocates (the heap's used size after less before; a step during
// which a collection ran is left out, so run it with a young generation large enough to make those
// rare, as below). With CYCLE_ALLOC_HEAP=1 also a sampling heap profile of the steps alone: the
// functions that allocate most. Then the other half of a cycle: one ProfileDispatcher round (the
// caps to 200 one-connector chargers, 4 in 5 in a transaction, each holding its profiles already:
// a steady round, nothing to send, as most rounds are). Counts of bytes, not times: trustworthy
// on a loaded machine. Also the CPU ms of each step (the control cycle's decision turn, controlStep;
// with --single-threaded the collector's work is on this thread and counted).
//   node --max-semi-space-size=64 [--single-threaded] --import tsx bench/upstream-cycle-alloc.ts
//   env: CYCLE_ALLOC_CHARGERS (200), CYCLE_ALLOC_MINUTES (simulated, 10), CYCLE_ALLOC_HEAP
import { Session } from 'node:inspector/promises';
import v8 from 'node:v8';
import { createEmsStep } from '../test/closed-loop/ems-step.ts';
import { depotDay } from '../test/closed-loop/depot-day.ts';
import { runClosedLoop } from '../test/closed-loop/harness.ts';
import { Bus } from '../src/bus.ts';
import { systemClock } from '../src/clock.ts';
import { silentLogger } from '../src/log.ts';
import { ChargerHoldings } from '../src/ocpp/charger-holdings.ts';
import { ProfileDispatcher, type ProfileTarget } from '../src/ocpp/profile-dispatcher.ts';
import type { ConnectorCap } from '../optimizer/types.ts';

const CHARGERS = Number(process.env.CYCLE_ALLOC_CHARGERS ?? 200);
const MINUTES = Number(process.env.CYCLE_ALLOC_MINUTES ?? 10);
/** Steps before this simulated time warm the code and the memories up; not counted. */
const WARM_MS = 3 * 60_000;

const scenario = depotDay({ seed: 20261207, chargers: CHARGERS, hours: MINUTES / 60, rootA: 4000 });
const perStepBytes: number[] = [];
/** CPU µs of each step in the window (process.cpuUsage: run with --single-threaded so GC counts where it happens). */
const perStepCpuUs: number[] = [];
let skipped = 0;
let inWindow = false;
let session: Session | undefined;
if (process.env.CYCLE_ALLOC_HEAP) {
  session = new Session();
  session.connect();
}
let sampling = false;

runClosedLoop(scenario, {
  stepMs: 250,
  createStep: (config) => {
    const step = createEmsStep(config);
    return {
      run(state, atMs) {
        inWindow = atMs - scenario.startAtMs >= WARM_MS;
        if (inWindow && session && !sampling) {
          sampling = true;
          void session.post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
        }
        const before = v8.getHeapStatistics().used_heap_size;
        const cpuBefore = process.cpuUsage();
        const decision = step.run(state, atMs);
        const cpu = process.cpuUsage(cpuBefore);
        const after = v8.getHeapStatistics().used_heap_size;
        if (inWindow) {
          perStepCpuUs.push(cpu.user + cpu.system);
          if (after >= before) perStepBytes.push(after - before);
          else skipped++;
        }
        return decision;
      },
    };
  },
});

const sorted = [...perStepBytes].sort((a, b) => a - b);
function cpuQuantiles(us: number[]): { p50: number; p90: number; p99: number; max: number } {
  const v = [...us].sort((a, b) => a - b);
  const at = (p: number) => Math.round((v[Math.min(v.length - 1, Math.floor(p * v.length))] ?? NaN) / 10) / 100;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
}
const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
const kb = (b: number) => Math.round(b / 102.4) / 10;
console.log(
  JSON.stringify({
    chargers: CHARGERS,
    steps: perStepBytes.length,
    skippedForGc: skipped,
    kbPerStep: { mean: kb(perStepBytes.reduce((s, b) => s + b, 0) / Math.max(1, perStepBytes.length)), p50: kb(q(0.5)), p90: kb(q(0.9)) },
    cpuMsPerStep: cpuQuantiles(perStepCpuUs),
  }),
);

if (session) {
  // The sampling profile covers the plant too: only stacks through controlStep count.
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: { head: HeapNode } };
  const byFunction = new Map<string, number>();
  let total = 0;
  const walk = (node: HeapNode, inStep: boolean) => {
    const f = node.callFrame;
    const here = inStep || f.functionName === 'controlStep';
    if (here && node.selfSize > 0) {
      total += node.selfSize;
      const name = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(src|optimizer)\//, '$1/')}:${f.lineNumber + 1}`;
      byFunction.set(name, (byFunction.get(name) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child, here);
  };
  walk(profile.head, false);
  const top = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 20);
  for (const [name, bytes] of top) console.log(`${((bytes / total) * 100).toFixed(1).padStart(5)} %  ${name}`);
}

/** Bytes of one steady dispatcher round (p50 over 400 rounds after 50 that install the profiles). */
async function dispatcherRoundBytes(chargers: number): Promise<number> {
  const targets = new Map<string, ProfileTarget>();
  const active = new Map<string, number>();
  for (let i = 0; i < chargers; i++) {
    const id = `CP${i}`;
    targets.set(id, {
      chargerId: id,
      ready: true,
      capabilities: { rateUnit: 'A', maxStackLevel: 8, maxPeriods: 5 },
      config: { id, connectors: 1, maxCurrent: 32, minCurrent: 6, phases: 3 } as ProfileTarget['config'],
      log: silentLogger,
      holdings: new ChargerHoldings({ chargerId: id, connectors: 1, maxA: 32, shareA: 16 }),
      sendProfile: async () => 'Accepted',
      stepDownStackLevel: () => undefined,
      uncontrollableFound: () => undefined,
    });
    if (i % 5 !== 4) active.set(id, 1000 + i);
  }
  const dispatcher = new ProfileDispatcher({
    bus: new Bus(silentLogger),
    clock: systemClock,
    log: silentLogger,
    voltageV: 230,
    profileDurationS: 600,
    profileMinIntervalMs: 0,
    answerWaitMs: 2000,
    target: (id) => targets.get(id),
    activeTransaction: (id) => active.get(id),
  });
  const caps = [...targets.keys()].map((chargerId, i) => ({ chargerId, connectorId: 1, currentA: 6 + (i % 10), phases: 3, reason: { kind: 'charger' } }) as unknown as ConnectorCap);
  for (let r = 0; r < 50; r++) await dispatcher.applyCaps(caps);
  const bytes: number[] = [];
  for (let r = 0; r < 400; r++) {
    const before = v8.getHeapStatistics().used_heap_size;
    await dispatcher.applyCaps(caps);
    const after = v8.getHeapStatistics().used_heap_size;
    if (after >= before) bytes.push(after - before);
  }
  bytes.sort((a, b) => a - b);
  return bytes[bytes.length >> 1] ?? NaN;
}

console.log(JSON.stringify({ chargers: CHARGERS, dispatcherSteadyRoundKb: kb(await dispatcherRoundBytes(CHARGERS)) }));

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}
