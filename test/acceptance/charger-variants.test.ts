// The load-step case of #9 (64 A site, building 10 → 40 A/phase, four cars) with chargers as they
// are found in the field (plant.md), harsher than the default rig: MeterValues every 10 s and no
// TriggerMessage; only the energy register or only power in MeterValues; clocks 15 min off; a slow
// control step. Each variant asserts the same: ≥ 95 % headroom use before the step, the true grid
// within 64 A after the reaction window. These run with ACCEPTANCE_VARIANTS=1 (about 100 s each);
// variants that fail are always run, as it.fails, until the cause is fixed.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPeer, hasPythonModule } from '../helpers/peers.ts';
import type { ChargePointOptions } from '../fixtures/independent/charge-point.ts';
import { Ev } from '../fixtures/independent/ev.ts';
import { until } from '../fixtures/independent/ems-runner.ts';
import { Rig } from '../fixtures/independent/rig.ts';
import { elapse, figures, meanOf, round1, type Sample } from '../fixtures/independent/site.ts';
import { dumpTimeline, REACTION_WINDOW_MS, report, traceState } from './acceptance-report.ts';

const FUSE_A = 64;
const BUDGET_A = FUSE_A * 0.95 - 10;
const evTotal = (s: Sample) => Object.values(s.drawA).reduce((a, b) => a + b, 0);

interface Variant {
  name: string;
  charger: Partial<ChargePointOptions>;
  /** 'fails': committed as it.fails (a finding); 'passes': only with ACCEPTANCE_VARIANTS=1. */
  known: 'passes' | 'fails';
  only?: string;
}

const VARIANTS: Variant[] = [
  { name: 'MeterValues every 10 s, no TriggerMessage', charger: { meterPeriodS: [10, 10], triggerMessage: false }, known: 'passes' },
  { name: 'only the energy register in MeterValues', charger: { measurands: 'energy-only', triggerMessage: false }, known: 'passes' },
  { name: 'only Power.Active.Import in MeterValues', charger: { measurands: 'power-only', triggerMessage: false }, known: 'passes' },
  { name: 'charger clocks 15 min behind', charger: { clockErrorMs: -15 * 60_000 }, known: 'passes' },
  { name: 'charger clocks 15 min ahead', charger: { clockErrorMs: 15 * 60_000 }, known: 'passes' },
  { name: 'a 1.5 s charger control step, cars 1–3 s', charger: { applyDelayMs: 1500 }, known: 'passes' },
  // Finding F1 (#10, s4-peers): GetCompositeSchedule right after an Accepted SetChargingProfile showed
  // the limit still applied (32 A, the control step had not run): the EMS declared all four chargers
  // uncontrollable for good, stopped sending them profiles, and the grid sat at 70-86 A on 64 A.
  // Fixed: a composite above what was sent is asked again twice, 10 s apart, before any verdict
  // (after the fix: 59.8 A after the reaction window). The default-run regression is in
  // test/ocpp/ocpp201.test.ts ('keeps steering a station whose composite schedule ...').
  { name: 'GetCompositeSchedule lags a 1.5 s control step', charger: { applyDelayMs: 1500, compositeReports: 'applied' }, known: 'passes' },
];

const selected = process.env.ACCEPTANCE_VARIANT;
for (const v of VARIANTS) {
  const run = selected ? selected === v.name || v.name.includes(selected) : v.known === 'fails' || process.env.ACCEPTANCE_VARIANTS === '1';
  if (!run) continue;
  describeWithPeer('pymodbus', hasPythonModule('pymodbus'), `acceptance #9 variant: ${v.name}`, () => {
    const rig = new Rig();
    const delays = v.charger.applyDelayMs ? [1, 2, 2.5, 3] : [1.5, 2.5, 3.5, 4];
    const cars = delays.map((d, i) => new Ev({ name: `car${i + 1}`, maxA: 32, phases: 3, responseDelayS: d }));
    let stopTrace = () => undefined as void;
    beforeAll(async () => {
      await rig.start({ gridMaxA: FUSE_A, chargers: ['CP1', 'CP2', 'CP3', 'CP4'].map((id) => ({ id, ...v.charger })), buildingA: [10, 10, 10] });
      stopTrace = traceState(rig.ems, `variant-${v.name.replace(/\W+/g, '-')}`);
      await Promise.all(rig.site.chargers.map((cp, i) => cp.plugIn(cars[i]!, `TAG${i + 1}`)));
      await until(() => cars.every((c) => c.drawA >= 6), 'all four cars charging', 60_000).catch(() => undefined);
      await elapse(12_000);
    }, 120_000);
    afterAll(() => {
      stopTrace();
      return rig.stop();
    });

    const test = v.known === 'fails' ? it.fails : it;
    test('uses the headroom, then keeps the grid within 64 A after a 10 → 40 A step', async () => {
      const steady = rig.site.window(Date.now() - 8_000, Date.now());
      const meanEvA = meanOf(steady, evTotal);
      const stepMs = Date.now();
      rig.site.buildingA = [40, 40, 40];
      await elapse(25_000);
      const after = rig.site.window(stepMs + REACTION_WINDOW_MS, Date.now());
      const grid = figures(after, (s) => s.gridA, FUSE_A);
      report(`variant ${v.name}`, { meanEvA, usePct: round1((100 * meanEvA) / BUDGET_A), minCarA: round1(Math.min(...steady.flatMap((s) => Object.values(s.drawA)))), afterWindow: grid, inWindow: figures(rig.site.window(stepMs, stepMs + REACTION_WINDOW_MS), (s) => s.gridA, FUSE_A) });
      dumpTimeline(rig.site.samples, v.name);
      if (process.env.ACCEPTANCE_TIMELINE) {
        const state = await rig.ems.request('GET', '/api/v1/state');
        const received = rig.site.chargers.map((cp) => `${cp.id}: ${cp.received.map((r) => `${round1((r.atMs - rig.site.samples[0]!.tMs) / 1000)}s ${r.purpose[2]}${r.connectorId}=${r.limit} ${r.status}`).join(', ')}`);
        const { appendFileSync } = await import('node:fs');
        appendFileSync(process.env.ACCEPTANCE_TIMELINE, `${received.join('\n')}\n${JSON.stringify(state.body.connectors, null, 1)}\n${rig.ems.output().split('\n').filter((l) => /warn|"level":(40|50)/.test(l)).slice(-30).join('\n')}\n`);
      }
      expect(grid.maxA, 'true grid after the window').toBeLessThanOrEqual(FUSE_A);
      expect(meanEvA, 'headroom use before the step').toBeGreaterThanOrEqual(0.95 * BUDGET_A);
    }, 60_000);
  });
}

// With no variant selected and none known to fail, the file still holds a (skipped) test saying how to run them.
const variantsOff = !selected && process.env.ACCEPTANCE_VARIANTS !== '1' && !VARIANTS.some((v) => v.known === 'fails');
it.skipIf(variantsOff)('field variants of the load step are opt-in: ACCEPTANCE_VARIANTS=1 (or ACCEPTANCE_VARIANT=<part of a name>)', () => undefined);
