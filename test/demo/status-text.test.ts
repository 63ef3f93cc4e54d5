// The terminal demo's status: the time the demo was started at (--start 11:00 local), not UTC, and
// per connector the dashboard's words for why its cap is what it is (a car the plan holds says from
// when and why), read from the state view the API answers.
import { expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import type { Decision } from '../../optimizer/types.ts';
import { PlanOutlooks } from '../../src/api/plan-outlook.ts';
import { buildStateView } from '../../src/api/state-view.ts';
import { Bus } from '../../src/bus.ts';
import type { DemoReading } from '../../src/demo/demo-site.ts';
import { formatStatus } from '../../src/demo/status-text.ts';
import { silentLogger } from '../../src/log.ts';
import { SiteState } from '../../src/state/site-state.ts';

const site: DemoReading = { buildingA: [1, 2, 3], gridCurrentA: [1, 2, 3], gridPowerW: 1000, pvPowerW: 0, batteryPowerW: 0, batterySocPct: 50 };

it("prints the site's local time", () => {
  const config = configSchema.parse({ site: { timezone: 'Europe/Berlin' }, grid: { maxCurrent: 63 }, chargers: [{ id: 'CP1' }] });
  const state = new SiteState(config, new Bus(silentLogger));
  const atMs = Date.parse('2026-12-06T10:21:32Z');
  const text = formatStatus(buildStateView(state, config, atMs), atMs, site, config.site.timezone);
  expect(text.split('\n')[0]).toMatch(/^11:21:32 /);
});

it('says, as the dashboard does, that a car the plan holds at 0 A waits for cheaper hours, from when, and when it is ready', () => {
  const config = configSchema.parse({ site: { timezone: 'Europe/Berlin' }, grid: { maxCurrent: 63 }, chargers: [{ id: 'CP1' }, { id: 'CP2' }] });
  const bus = new Bus(silentLogger);
  const state = new SiteState(config, bus);
  // 18:00 in Berlin; import at €0.40 until 20:00, €0.10 from 20:00; the plan charges CP1 20:00–21:00.
  const startMs = Date.parse('2026-12-07T17:00:00Z');
  const atMs = startMs + 60_000;
  for (const [i, chargerId] of ['CP1', 'CP2'].entries())
    bus.emit('session.started', { chargerId, connectorId: 1, transactionId: i + 1, idTag: `BUS${i + 1}`, tier: 'fleet', startedAtMs: startMs, meterStartWh: 0 });
  const decision: Decision = {
    atMs,
    failsafe: false,
    nextState: { connectors: {} },
    headroom: { limitA: [60, 60, 60], headroomA: [44, 44, 44], buildingA: [0, 0, 0], binding: { kind: 'grid-current', phase: 'L1', text: 'grid connection 60 A on L1' } },
    caps: [
      { chargerId: 'CP1', connectorId: 1, currentA: 0, phases: 3, reason: { kind: 'plan', text: 'planner target 0 kW is below the 6 A minimum' } },
      { chargerId: 'CP2', connectorId: 1, currentA: 16, phases: 3, reason: { kind: 'plan', text: 'planner target 11 kW' } },
    ],
  };
  bus.emit('decision', decision);
  const slots = 16;
  const plan = new PlanOutlooks(
    {
      startMs,
      slotMs: 900_000,
      slotCount: slots,
      status: 'optimal',
      sessions: [
        { key: 'CP1/1', steer: true, powerW: Array.from({ length: slots }, (_, t) => (t >= 8 && t < 12 ? 11_000 : 0)), plannedWh: 11_000, unmetWh: 0 },
        { key: 'CP2/1', steer: true, powerW: new Array(slots).fill(11_000), plannedWh: 44_000, unmetWh: 0 },
      ],
      gridW: [],
      batteryW: [],
      peakW: 0,
      energyCost: 0,
      demandCharge: 0,
      unmetPenalty: 0,
      overloadWh: 0,
    },
    { importPricePerKWh: Array.from({ length: slots }, (_, t) => (t < 8 ? 0.4 : 0.1)), pvW: new Array(slots).fill(0), importLimitW: [] },
  );
  const view = buildStateView(state, config, atMs, { sessionBill: () => undefined, planOutlook: (chargerId, connectorId, at) => plan.at(`${chargerId}/${connectorId}`, at) });
  const lines = formatStatus(view, atMs, site, config.site.timezone).split('\n');
  expect(lines.find((l) => l.startsWith('CP1/1'))).toMatch(/ Waiting for cheaper hours from 20:00; ready by 21:00 \(planner target 0 kW is below the 6 A minimum\)$/);
  expect(lines.find((l) => l.startsWith('CP2/1'))).toMatch(/ 16\.0A .* planner target 11 kW$/);
  expect(lines[0]).toContain('headroom 44/44/44 A');
});
