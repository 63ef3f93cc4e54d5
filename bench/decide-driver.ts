// Runs decide() on the decide bench's 1,000-connector site (test/optimizer/bench-site.ts) N times
// for one scheme, memory carried cycle to cycle as the bench does: a fixed amount of work to count
// instructions on (valgrind --tool=callgrind) or to CPU-profile (node --cpu-prof), where wall-clock
// timings mean nothing on a loaded machine.
//   node --import tsx bench/decide-driver.ts [checkout=.] [scheme=fcfs] [calls=500] [warm-up=200] [car limits=none]
// Prints the CPU µs per measured call (process.cpuUsage) and a hash of the last decision.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';

const [root = '.', scheme = 'fcfs', callsArg = '500', warmArg = '200', cars = 'none'] = process.argv.slice(2);
const optimizer = await import(`${resolve(root)}/optimizer/index.ts`);
const { benchSite, canonical } = await import(`${resolve(root)}/test/optimizer/bench-site.ts`);
const { NOW_MS } = await import(`${resolve(root)}/test/optimizer/arb-site.ts`);

const { params, snapshot } = benchSite(1000, scheme, cars);
let state = optimizer.initialDecideState;
let cycle = 0;
let last: unknown;
const step = (): void => {
  const at = NOW_MS + cycle * 1000;
  const i = cycle++;
  const decision = optimizer.decide({ ...snapshot, atMs: at, grid: { ...snapshot.grid, atMs: at, currentA: [40 + (i % 10), 35, 30] } }, params, state);
  state = decision.nextState;
  last = decision;
};
for (let i = 0; i < Number(warmArg); i++) step();
const calls = Number(callsArg);
const t = process.cpuUsage();
for (let i = 0; i < calls; i++) step();
const d = process.cpuUsage(t);
const hash = createHash('sha256').update(canonical(last)).digest('hex').slice(0, 12);
console.log(`${scheme} ${calls} calls: ${((d.user + d.system) / calls).toFixed(1)} µs CPU per call; last decision ${hash}`);
