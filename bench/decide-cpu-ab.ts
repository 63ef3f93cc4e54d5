// decide()'s CPU per call, A/B between two checkouts in one process, on a loaded machine: the decide
// bench's 1,000-connector site (test/optimizer/bench-site.ts) for every scheme, memory carried cycle
// to cycle as the bench does; process.cpuUsage() around each call (CPU, not wall clock: waiting for
// a core does not count), and the
// bytes allocated per call (v8.GCProfiler: the heap before and after each collection). One process
// per version per round, A and B taking turns going first (two versions in one process do not
// compare: the second one loaded runs about twice as slow); node --single-threaded by default
// (DECIDE_AB_NODE_FLAGS), so the collector's work is on the calling thread and counted in the call.
//   node --import tsx bench/decide-cpu-ab.ts <checkout A> <checkout B> [rounds] [calls per run]
// A checkout may be a copy of optimizer/, test/optimizer/{bench,arb}-site.ts, package.json and tsconfig.json
// (without package.json's "type": "module" tsx loads it as CommonJS, about 1.5x slower).
// prints per scheme the median and p90 CPU µs per call and the KB allocated per call, A then B.
import v8 from 'node:v8';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);

type Decide = (snapshot: unknown, params: unknown, state: unknown) => { nextState: unknown };
interface Version {
  name: string;
  decide: Decide;
  initial: unknown;
  benchSite: (count: number, priority: string, carLimits: string) => { params: unknown; snapshot: Record<string, unknown> & { grid: Record<string, unknown> } };
  nowMs: number;
}

async function load(root: string): Promise<Version> {
  const optimizer = await import(`${resolve(root)}/optimizer/index.ts`);
  const site = await import(`${resolve(root)}/test/optimizer/bench-site.ts`);
  const arb = await import(`${resolve(root)}/test/optimizer/arb-site.ts`);
  return { name: root, decide: optimizer.decide, initial: optimizer.initialDecideState, benchSite: site.benchSite, nowMs: arb.NOW_MS };
}

const CASES = [
  { label: 'fcfs', priority: 'fcfs', cars: 'none' },
  { label: 'departure', priority: 'departure', cars: 'none' },
  { label: 'equal', priority: 'equal', cars: 'none' },
  { label: 'equal (car limits 6–32 A)', priority: 'equal', cars: 'all' },
  { label: 'soc', priority: 'soc', cars: 'none' },
  { label: 'tier', priority: 'tier', cars: 'none' },
] as const;

/** One site being decided cycle after cycle by one version. */
class Runner {
  private state: unknown;
  private cycle = 0;
  readonly cpuUs: number[] = [];
  readonly wallUs: number[] = [];
  allocatedBytes = 0;
  calls = 0;
  constructor(
    private readonly v: Version,
    private readonly site: ReturnType<Version['benchSite']>,
  ) {
    this.state = v.initial;
  }
  private snap(): unknown {
    const at = this.v.nowMs + this.cycle * 1000;
    const i = this.cycle++;
    return { ...this.site.snapshot, atMs: at, grid: { ...this.site.snapshot.grid, atMs: at, currentA: [40 + (i % 10), 35, 30] } };
  }
  warm(n: number): void {
    for (let i = 0; i < n; i++) this.state = this.v.decide(this.snap(), this.site.params, this.state).nextState;
  }
  block(n: number): void {
    const profiler = new v8.GCProfiler();
    const before = v8.getHeapStatistics().used_heap_size;
    profiler.start();
    for (let i = 0; i < n; i++) {
      const snap = this.snap();
      const w = performance.now();
      const t = process.cpuUsage();
      this.state = this.v.decide(snap, this.site.params, this.state).nextState;
      const d = process.cpuUsage(t);
      this.wallUs.push(Math.round((performance.now() - w) * 1000));
      this.cpuUs.push(d.user + d.system);
    }
    const { statistics } = profiler.stop();
    const after = v8.getHeapStatistics().used_heap_size;
    let last = before;
    let allocated = 0;
    for (const gc of statistics) {
      allocated += gc.beforeGC.heapStatistics.usedHeapSize - last;
      last = gc.afterGC.heapStatistics.usedHeapSize;
    }
    this.allocatedBytes += allocated + after - last;
    this.calls += n;
  }
}

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};

/** Child: one version, every scheme, `calls` measured calls each after 200 warm-up; prints JSON. */
async function child(root: string, calls: number, only: string | undefined): Promise<void> {
  const v = await load(root);
  const out: Record<string, { cpuUs: number[]; wallUs: number[]; allocatedBytes: number; calls: number }> = {};
  for (const c of CASES) {
    if (only && !c.label.startsWith(only)) continue;
    const r = new Runner(v, v.benchSite(1000, c.priority, c.cars));
    r.warm(200);
    r.block(calls);
    out[c.label] = { cpuUs: r.cpuUs, wallUs: r.wallUs, allocatedBytes: r.allocatedBytes, calls: r.calls };
  }
  process.stdout.write(JSON.stringify(out));
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], Number(process.argv[4]), process.env.DECIDE_AB_ONLY);
} else {
  const [rootA, rootB] = [process.argv[2], process.argv[3]];
  if (!rootA || !rootB) throw new Error('usage: decide-cpu-ab.ts <checkout A> <checkout B> [rounds] [calls per run]');
  const rounds = Number(process.argv[4] ?? 6);
  const calls = Number(process.argv[5] ?? 300);
  const flags = (process.env.DECIDE_AB_NODE_FLAGS ?? '--single-threaded').split(' ').filter(Boolean);
  const loadStart = loadavg();
  const all = [rootA, rootB].map(() => new Map<string, { cpuUs: number[]; wallUs: number[]; allocatedBytes: number; calls: number; roundMedians: number[] }>());
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [0, 1] : [1, 0];
    for (const which of order) {
      const root = [rootA, rootB][which];
      const json = execFileSync(process.execPath, [...flags, '--import', 'tsx', SELF, '--child', root, String(calls)], { encoding: 'utf8', maxBuffer: 1 << 28 });
      for (const [label, r] of Object.entries(JSON.parse(json) as Record<string, { cpuUs: number[]; wallUs: number[]; allocatedBytes: number; calls: number }>)) {
        const acc = all[which].get(label) ?? { cpuUs: [], wallUs: [], allocatedBytes: 0, calls: 0, roundMedians: [] };
        acc.cpuUs.push(...r.cpuUs);
        acc.wallUs.push(...r.wallUs);
        acc.allocatedBytes += r.allocatedBytes;
        acc.calls += r.calls;
        acc.roundMedians.push(quantile(r.cpuUs, 0.5));
        all[which].set(label, acc);
      }
    }
  }
  console.log(`A = ${rootA}, B = ${rootB}; ${rounds} rounds (A and B alternate first), one process per version per round (node ${flags.join(' ')}), ${calls} calls per scheme after 200 warm-up; load ${loadStart.map((l) => l.toFixed(1)).join(' ')} → ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  for (const [label, a] of all[0]) {
    const b = all[1].get(label)!;
    const cell = (r: typeof a) =>
      `CPU median ${quantile(r.cpuUs, 0.5)} p90 ${quantile(r.cpuUs, 0.9)} µs (rounds ${r.roundMedians.join('/')}; wall median ${quantile(r.wallUs, 0.5)}), ${(r.allocatedBytes / r.calls / 1024).toFixed(0)} KB/call`;
    console.log(`${label.padEnd(26)} A: ${cell(a)}\n${''.padEnd(26)} B: ${cell(b)}`);
  }
}
