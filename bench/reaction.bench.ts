// Reaction: from a step in the grid meter reading to every affected charger holding its new
// profile, with N strict OCPP chargers on loopback. Priority `equal`, so every step moves every
// charger's cap (the worst case). Bounded: a fixed number of steps, each with a deadline.
import { startApp } from '../src/app.ts';
import { silentLogger } from '../src/log.ts';
import { TestCharger } from '../test/helpers/test-charger.ts';
import type { Bench, BenchTable } from './types.ts';
import { percentile, until } from './measure.ts';
import { reactionSite } from './reaction-site.ts';

const STEPS = 20;
const STEP_DEADLINE_MS = 5_000;

async function measure(chargerCount: number): Promise<{ p50: number; p99: number; max: number; steps: number }> {
  const { config, ids, gridA } = reactionSite(chargerCount, { driver: 'simulated' });
  const app = await startApp({ config, log: silentLogger });
  const meter = (buildingA: number) =>
    app.ctx.bus.emit('device.reading', {
      deviceId: 'grid',
      role: 'grid-meter',
      atMs: Date.now(),
      currentA: [buildingA, buildingA, buildingA],
      powerW: buildingA * 230 * 3,
    });
  const keepFresh = setInterval(() => meter(currentBuildingA), 500);
  let currentBuildingA = 0;
  meter(0);
  const chargers = ids.map((id) => new TestCharger(id, `ws://127.0.0.1:${app.ocppPort}/ocpp`));
  try {
    for (let i = 0; i < chargers.length; i += 50) await Promise.all(chargers.slice(i, i + 50).map((c) => c.connect()));
    for (const c of chargers) await c.startTransaction(1, `TAG-${c.id}`);
    await until(() => chargers.every((c) => c.txLimitA(1) !== undefined), 20_000);

    const samples: number[] = [];
    for (let step = 0; step < STEPS; step++) {
      const before = chargers.map((c) => c.txLimitA(1));
      // Alternate: a building surge that forces every cap down, then its end.
      currentBuildingA = step % 2 === 0 ? gridA * 0.5 : 0;
      const t0 = performance.now();
      meter(currentBuildingA);
      const changed = await until(() => chargers.every((c, i) => c.txLimitA(1) !== before[i]), STEP_DEADLINE_MS);
      if (!changed) {
      process.stderr.write(`step ${step}: not every charger got a new profile within ${STEP_DEADLINE_MS} ms\n`);
      continue;
    }
      const last = Math.max(...chargers.map((c) => c.received.filter((r) => r.method === 'SetChargingProfile').at(-1)!.atMs));
      samples.push(last - t0);
      await new Promise((r) => setTimeout(r, 300));
    }
    return { p50: percentile(samples, 50), p99: percentile(samples, 99), max: Math.max(...samples), steps: samples.length };
  } finally {
    clearInterval(keepFresh);
    await Promise.all(chargers.map((c) => c.close().catch(() => undefined)));
    await app.stop();
  }
}

const bench: Bench = async () => {
  const rows: BenchTable['rows'] = [];
  for (const n of [50, 200]) {
    const r = await measure(n);
    if (r.steps === 0) throw new Error(`reaction bench: no step measured with ${n} chargers`);
    rows.push([n, r.steps, r.p50.toFixed(1), r.p99.toFixed(1), r.max.toFixed(1)]);
  }
  const p99at200 = Number(rows[1]![3]);
  return [
    {
      title: 'Reaction: grid-meter step → every charger holds its new profile (loopback, strict OCPP clients)',
      columns: ['chargers', 'steps measured', 'p50 ms', 'p99 ms', 'max ms'],
      rows,
      notes: [`target: p99 under 250 ms with 200 chargers — ${p99at200 < 250 ? 'met' : 'NOT met'} (${p99at200} ms)`],
    },
  ];
};
export default bench;
