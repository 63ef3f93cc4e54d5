// What one control cycle allocates at 200 chargers (#14: the relay's tail is mostly GC, and the
// control cycle made half the garbage): the closed loop's seeded depot (test/closed-loop) with 200
// chargers, every car plugged in from the first two minutes, the EMS's real control step on virtual
// time, and the bytes each step allocates (the heap's used size after less before; a step during
// which a collection ran is left out, so run it with a young generation large enough to make those
// rare, as below). With CYCLE_ALLOC_HEAP=1 also a sampling heap profile of the steps alone: the
// functions that allocate most. A count of bytes, not a time: trustworthy on a loaded machine.
//   node --max-semi-space-size=64 --import tsx bench/upstream-cycle-alloc.ts
//   env: CYCLE_ALLOC_CHARGERS (200), CYCLE_ALLOC_MINUTES (simulated, 10), CYCLE_ALLOC_HEAP
import { Session } from 'node:inspector/promises';
import v8 from 'node:v8';
import { createEmsStep } from '../test/closed-loop/ems-step.ts';
import { depotDay } from '../test/closed-loop/depot-day.ts';
import { runClosedLoop } from '../test/closed-loop/harness.ts';

const CHARGERS = Number(process.env.CYCLE_ALLOC_CHARGERS ?? 200);
const MINUTES = Number(process.env.CYCLE_ALLOC_MINUTES ?? 10);
/** Steps before this simulated time warm the code and the memories up; not counted. */
const WARM_MS = 3 * 60_000;

const scenario = depotDay({ seed: 20261207, chargers: CHARGERS, hours: MINUTES / 60, rootA: 4000 });
const perStepBytes: number[] = [];
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
        const decision = step.run(state, atMs);
        const after = v8.getHeapStatistics().used_heap_size;
        if (inWindow) {
          if (after >= before) perStepBytes.push(after - before);
          else skipped++;
        }
        return decision;
      },
    };
  },
});

const sorted = [...perStepBytes].sort((a, b) => a - b);
const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
const kb = (b: number) => Math.round(b / 102.4) / 10;
console.log(
  JSON.stringify({
    chargers: CHARGERS,
    steps: perStepBytes.length,
    skippedForGc: skipped,
    kbPerStep: { mean: kb(perStepBytes.reduce((s, b) => s + b, 0) / Math.max(1, perStepBytes.length)), p50: kb(q(0.5)), p90: kb(q(0.9)) },
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

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}
