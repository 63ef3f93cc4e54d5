// One live tick (the state view the live feed sends after a decision: buildStateView + JSON) with
// a plan in force and a session on every connector but ten, the plan outlook per connector either
// walked per connector per tick (session 7: a find over the plan's sessions, then its slots) or
// walked once per plan (src/api/plan-outlook.ts, what the API runs now). Same outlooks either way
// (test/api/plan-outlook-live.test.ts); the plan has 48 slots of 15 min.
import type { BenchTable } from './types.ts';
import { configSchema } from '../config/schema.ts';
import { buildStateView, type SessionCostSource } from '../src/api/state-view.ts';
import { CurrentPlanOutlooks } from '../src/api/plan-outlook.ts';
import { Bus } from '../src/bus.ts';
import { silentLogger } from '../src/log.ts';
import { SiteState } from '../src/state/site-state.ts';
import { referencePlanOutlook, seededPlan } from '../test/api/plan-outlook-reference.ts';

const T0 = Date.UTC(2026, 11, 7, 16, 0, 0);
const SLOTS = 48;

function site(chargers: number) {
  const ids = Array.from({ length: chargers }, (_, i) => `CP${String(i + 1).padStart(4, '0')}`);
  const config = configSchema.parse({
    site: { name: 'Bench Depot', voltage: 230, timezone: 'Europe/Berlin' },
    grid: { maxCurrent: 4_000 },
    chargers: ids.map((id) => ({ id, connectors: 1, maxCurrent: 32 })),
  });
  const bus = new Bus(silentLogger);
  const state = new SiteState(config, bus);
  const withCar = ids.slice(0, chargers - 10);
  withCar.forEach((chargerId, i) => bus.emit('session.started', { chargerId, connectorId: 1, transactionId: i + 1, idTag: `TAG${i}`, tier: 'fleet', startedAtMs: T0, meterStartWh: 0 }));
  const { plan, inputs } = seededPlan(7, withCar.map((id) => `${id}/1`), T0, SLOTS);
  return { config, state, plan, inputs };
}

/** Per tick: the whole live message, and the outlook calls alone (one per connector with a car). */
function measure(chargers: number, way: 'per tick' | 'once per plan', ticks: number): { tick: number[]; outlooks: number[] } {
  const { config, state, plan, inputs } = site(chargers);
  const source = { currentPlan: () => plan, currentInputs: () => inputs, status: () => ({}) as never };
  const once = new CurrentPlanOutlooks(source);
  const costs: SessionCostSource = {
    sessionBill: () => undefined,
    planOutlook:
      way === 'per tick'
        ? (chargerId, connectorId, atMs) => referencePlanOutlook(plan, inputs, `${chargerId}/${connectorId}`, atMs)
        : (chargerId, connectorId, atMs) => once.at(`${chargerId}/${connectorId}`, atMs),
  };
  const tick: number[] = [];
  const outlooks: number[] = [];
  const keys = [...state.connectors.values()].filter((c) => c.session).map((c) => [c.chargerId, c.connectorId] as const);
  let bytes = 0;
  let shown = 0;
  for (let i = 0; i < ticks + 20; i++) {
    const atMs = T0 + 60_000 + i * 1_000;
    let started = performance.now();
    bytes += JSON.stringify({ type: 'state', data: buildStateView(state, config, atMs, costs) }).length;
    if (i >= 20) tick.push(performance.now() - started);
    started = performance.now();
    for (const [chargerId, connectorId] of keys) if (costs.planOutlook!(chargerId, connectorId, atMs)) shown++;
    if (i >= 20) outlooks.push(performance.now() - started);
  }
  if (bytes === 0 || shown === 0) throw new Error('no state view or no outlook');
  return { tick: tick.sort((a, b) => a - b), outlooks: outlooks.sort((a, b) => a - b) };
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

export default async function planOutlookBench(): Promise<BenchTable[]> {
  const rows: (string | number)[][] = [];
  for (const [chargers, ticks] of [
    [200, 400],
    [1000, 100],
  ] as const) {
    for (const way of ['per tick', 'once per plan'] as const) {
      const { tick, outlooks } = measure(chargers, way, ticks);
      rows.push([chargers, chargers - 10, way, ticks, quantile(tick, 0.5), quantile(tick, 0.99), quantile(outlooks, 0.5)]);
    }
  }
  return [
    {
      title: 'Live tick with a plan in force: state view + JSON, plan outlook per connector',
      columns: ['connectors', 'sessions in the plan', 'outlook walked', 'ticks', 'tick median ms', 'tick p99 ms', 'outlooks alone, median ms'],
      rows,
      notes: ['the rest of the tick (connector views, site powers, JSON) is the same in both rows; the difference is the outlook'],
    },
  ];
}
