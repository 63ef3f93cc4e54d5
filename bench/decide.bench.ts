// decide() latency for 10, 100 and 1000 connectors in a 3-level tree with per-phase limits
// (test/optimizer/bench-site.ts, the site decide-golden also decides on).
// Site → feeders (250 A) → circuits of 10 connectors (63 A) → connectors; 60 % three-phase
// (16/32 A), 40 % single-phase on rotating phases; 80 % of connectors have a session; the limits
// bind, so minimums, fill and reasons all do real work. Memory is carried cycle to cycle.
import type { BenchTable } from './types.ts';
import { decide, initialDecideState } from '../optimizer/index.ts';
import type { DecideState, PriorityScheme } from '../optimizer/index.ts';
import { NOW_MS } from '../test/optimizer/arb-site.ts';
import { benchSite } from '../test/optimizer/bench-site.ts';

const T0 = NOW_MS;

function measure(connectorCount: number, priority: PriorityScheme, iterations: number, variedCars = false): number[] {
  const { params, snapshot } = benchSite(connectorCount, priority, variedCars ? 'all' : 'none');
  let state: DecideState = initialDecideState;
  for (let i = 0; i < Math.min(200, iterations); i++) state = decide({ ...snapshot, atMs: T0 + i * 1000 }, params, state).nextState; // warm-up
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const snap = { ...snapshot, atMs: T0 + (200 + i) * 1000, grid: { ...snapshot.grid!, atMs: T0 + (200 + i) * 1000, currentA: [40 + (i % 10), 35, 30] as const } };
    const started = performance.now();
    state = decide(snap, params, state).nextState;
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

export default async function decideBench(): Promise<BenchTable[]> {
  const rows: (string | number)[][] = [];
  let median1000 = Number.NaN;
  let worst1000 = 0;
  for (const [count, iterations] of [[10, 3000], [100, 2000], [1000, 500]] as const) {
    for (const priority of ['fcfs', 'departure', 'equal'] as const) {
      const times = measure(count, priority, iterations);
      const median = quantile(times, 0.5);
      if (count === 1000 && priority === 'fcfs') median1000 = median;
      if (count === 1000) worst1000 = Math.max(worst1000, median);
      rows.push([count, priority, iterations, median, quantile(times, 0.99), times[times.length - 1]]);
    }
  }
  const varied = measure(1000, 'equal', 500, true);
  rows.push(['1000 (car limits 6–32 A)', 'equal', 500, quantile(varied, 0.5), quantile(varied, 0.99), varied[varied.length - 1]]);
  const met = worst1000 < 0.5;
  return [
    {
      title: 'decide(): one control cycle, 3-level tree with per-phase limits',
      columns: ['connectors', 'scheme', 'runs', 'median ms', 'p99 ms', 'max ms'],
      rows,
      notes: [
        `target (DESIGN.md, issue #9): 1000 connectors, median under 0.5 ms for every scheme — ${met ? 'met' : 'NOT met'} (fcfs median ${median1000.toFixed(3)} ms, slowest scheme ${worst1000.toFixed(3)} ms)`,
        'tree: site → feeders of 10 circuits (250 A) → circuits of 10 connectors (63 A); 60 % three-phase, 40 % single-phase on rotating phases; 80 % with a session; memory carried between cycles',
        'p99 and max are dominated by the other processes sharing the 2 cores (GC and scheduling); the median is the figure to compare',
      ],
    },
  ];
}
