// #9 F3, the acceptance site's start-up in one decide() series: a 64 A site whose building load
// differs per phase (10 / 30 / 10 A), a single-phase car on CP1 (site L1) among three three-phase
// cars, chargers that let a car draw before the EMS's first limit reaches them (their default is
// their max), cars that follow a limit after their own response and ramp at 10 A/s, MeterValues
// taken every few seconds and reported late, and a grid reading a little older than the cycle.
// The building load decide() counts must never be more than ~1 A below the truth on any phase.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decide, initialDecideState } from '../../optimizer/index.ts';
import type { ConnectorSnapshot, DecideState } from '../../optimizer/index.ts';
import { charger, circuit, params, plugged, session, T0 } from './scenario.ts';

const FUSE_A = 64;
const BUILDING_A = [10, 30, 10];
const TOLERANCE_A = 1.5;

describe('start-up estimation (F3)', () => {
  // Session 6, each case failing before its fix: a cut that a raise replaced a cycle later (the
  // charger still confirmed the older, higher limit) left no trace in the limits kept per car, so a
  // car sampled before it was taken to draw no less since (L2 28.3 A for 30 A); a car that plugged
  // in under an idle connector's old default was taken as settled on it, not as ramping from 0 at
  // its session's start (L1 8.1 A for 10 A, 1 case in ~1,000); without the meter gate a reading of
  // 0 on every phase anchored the level and the cars were credited with the building's first real
  // reading (L3 0.2 A for 10 A).
  it('never counts the building load low while cars that drew before their first limit come down to it', () => {
    const arbCar = fc.record({
      plugMs: fc.integer({ min: 1_000, max: 4_000 }),
      responseMs: fc.integer({ min: 1_000, max: 4_500 }),
      deliverMs: fc.integer({ min: 100, max: 1_500 }),
      sampleEveryS: fc.integer({ min: 2, max: 10 }),
      sampleOffsetMs: fc.integer({ min: 0, max: 9_000 }),
      reportLagMs: fc.integer({ min: 0, max: 4_000 }),
    });
    fc.assert(
      fc.property(fc.array(arbCar, { minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 900 }), fc.boolean(), fc.integer({ min: 0, max: 2 }), (cars, gridDelayMs, meterGate, zeroReadings) => {
        const ids = ['CP1', 'CP2', 'CP3', 'CP4'];
        const carPhases = [1, 3, 3, 3];
        const p = params({
          grid: { maxCurrentA: FUSE_A, safetyMargin: 0.05, metered: true, meterGate },
          circuit: circuit('main', FUSE_A, ids),
          chargers: ids.map((id) => charger(id, 'main')),
          priority: 'equal',
          carResponseMs: 5_000,
        });
        const DT_MS = 100;
        // What each charger has in force (its max until the EMS's first profile arrives), by time.
        const limits: { atMs: number; capA: number }[][] = cars.map(() => [{ atMs: -Infinity, capA: 32 }]);
        const draws: number[][] = cars.map(() => []);
        const limitAt = (i: number, atMs: number) => limits[i].filter((c) => c.atMs <= atMs).at(-1)!.capA;
        const drawAt = (i: number, atMs: number) => {
          const k = Math.max(0, Math.floor((atMs - T0) / DT_MS));
          return draws[i][Math.min(k, draws[i].length - 1)] ?? 0;
        };
        let state: DecideState = initialDecideState;
        const lastCap: number[] = [NaN, NaN, NaN, NaN];
        for (let tick = 0; tick <= 300; tick++) {
          const nowMs = T0 + tick * DT_MS;
          cars.forEach((car, i) => {
            const before = draws[i][tick - 1] ?? 0;
            const plugged = nowMs >= T0 + car.plugMs;
            const offered = plugged && nowMs >= T0 + car.plugMs + car.responseMs ? limitAt(i, nowMs - car.responseMs) : 0;
            const want = offered < 6 ? 0 : Math.floor(offered);
            draws[i][tick] = want <= before ? want : Math.min(want, before + DT_MS / 100);
          });
          if (tick % 10 !== 0) continue;
          const gridAtMs = nowMs - gridDelayMs;
          // A meter whose registers are not filled yet reads 0 on every phase for its first readings.
          const trueA = tick / 10 < zeroReadings ? [0, 0, 0] : [...BUILDING_A];
          cars.forEach((_, i) => {
            const d = drawAt(i, gridAtMs);
            if (carPhases[i] === 1) trueA[0] += d;
            else for (let ph = 0; ph < 3; ph++) trueA[ph] += d;
          });
          const connectors: ConnectorSnapshot[] = cars.map((car, i) => {
            if (nowMs < T0 + car.plugMs) return plugged(ids[i], null);
            // The latest sample whose MeterValues has arrived by now.
            let sampleMs = Number.NaN;
            for (let s = T0 + car.plugMs + car.sampleOffsetMs % (car.sampleEveryS * 1000); s + car.reportLagMs <= nowMs; s += car.sampleEveryS * 1000) sampleMs = s;
            const s = session(`s${i}`, { startedAtMs: T0 + car.plugMs });
            if (Number.isNaN(sampleMs)) return plugged(ids[i], s, { installedCapA: limitAt(i, nowMs) });
            const d = drawAt(i, sampleMs);
            return plugged(ids[i], s, { installedCapA: limitAt(i, nowMs), drawA: carPhases[i] === 1 ? [d, 0, 0] : [d, d, d], drawAtMs: sampleMs });
          });
          const decision = decide({ atMs: nowMs, grid: { atMs: gridAtMs, currentA: [trueA[0], trueA[1], trueA[2]], powerW: (trueA[0] + trueA[1] + trueA[2]) * 230 }, circuitLoads: [], connectors, signals: {} }, p, state);
          state = decision.nextState;
          decision.caps.forEach((c) => {
            const i = ids.indexOf(c.chargerId);
            if (lastCap[i] !== c.currentA) {
              limits[i].push({ atMs: nowMs + cars[i].deliverMs, capA: c.currentA });
              lastCap[i] = c.currentA;
            }
          });
          if (!decision.failsafe && tick / 10 >= zeroReadings + 7) for (let ph = 0; ph < 3; ph++) expect(decision.headroom.buildingA[ph], `phase ${ph + 1} at ${tick / 10} s`).toBeGreaterThanOrEqual(BUILDING_A[ph] - TOLERANCE_A);
        }
      }),
      {
        numRuns: 300,
        examples: [
          // The cut to 6.3 A at 8 s, replaced by 8.0 A at 9 s, reached CP2's car after its sample at 11.6 s (7 A).
          [
            [
              { plugMs: 3001, responseMs: 1000, deliverMs: 100, sampleEveryS: 2, sampleOffsetMs: 0, reportLagMs: 0 },
              { plugMs: 1001, responseMs: 4394, deliverMs: 107, sampleEveryS: 3, sampleOffsetMs: 7554, reportLagMs: 1446 },
              { plugMs: 1001, responseMs: 3437, deliverMs: 764, sampleEveryS: 6, sampleOffsetMs: 0, reportLagMs: 1000 },
              { plugMs: 3001, responseMs: 1000, deliverMs: 100, sampleEveryS: 2, sampleOffsetMs: 0, reportLagMs: 0 },
            ],
            701,
            true,
            0,
          ],
          // CP1's car plugged in at 3.4 s under the 7.7 A its idle connector had held since 0 s, sampled at 5.4 s (7 A) while ramping.
          [
            [
              { plugMs: 3363, responseMs: 1338, deliverMs: 100, sampleEveryS: 2, sampleOffsetMs: 4037, reportLagMs: 0 },
              { plugMs: 3001, responseMs: 2200, deliverMs: 100, sampleEveryS: 2, sampleOffsetMs: 0, reportLagMs: 0 },
              { plugMs: 3001, responseMs: 1000, deliverMs: 100, sampleEveryS: 2, sampleOffsetMs: 0, reportLagMs: 0 },
              { plugMs: 3001, responseMs: 2200, deliverMs: 801, sampleEveryS: 2, sampleOffsetMs: 0, reportLagMs: 0 },
            ],
            701,
            true,
            0,
          ],
          // Ungated, the first reading 0/0/0 (registers not filled yet).
          [
            [
              { plugMs: 1000, responseMs: 1000, deliverMs: 100, sampleEveryS: 2, sampleOffsetMs: 0, reportLagMs: 0 },
              { plugMs: 1000, responseMs: 1000, deliverMs: 100, sampleEveryS: 2, sampleOffsetMs: 0, reportLagMs: 1 },
              { plugMs: 1000, responseMs: 1000, deliverMs: 100, sampleEveryS: 2, sampleOffsetMs: 2100, reportLagMs: 901 },
              { plugMs: 1000, responseMs: 1000, deliverMs: 1001, sampleEveryS: 2, sampleOffsetMs: 0, reportLagMs: 1001 },
            ],
            0,
            false,
            1,
          ],
        ],
      },
    );
    // About 3 s alone; a loaded 2-core CI machine running two files at once takes several times that.
  }, 180_000);

  // The sequence of the acceptance failure (trace of 2026-12-06 16:44, 75.6 A for 4.7 s on L2): the
  // meter's first reading is 0/0/0 (its registers not filled yet), the next one shows the building
  // (10/30/10 A), the four cars are held at 0 while their chargers' default 32 A may still be in
  // force (holds), they draw nothing, and the grid reading is a few hundred ms older than the cycle.
  // The holds expired one cycle before the readings did: the caps were raised on a level that still
  // credited the 30 A rise to those cars (15.2 A each, 60.8 A of cars on L2 next to 30 A).
  it('raises the cars only on a building load that a meter reading 0/0/0 at start did not anchor low', () => {
    for (const gridDelayMs of [0, 100, 300, 450, 900]) {
      const ids = ['CP1', 'CP2', 'CP3', 'CP4'];
      const p = params({ grid: { maxCurrentA: FUSE_A, safetyMargin: 0.05, metered: true, meterGate: true }, circuit: circuit('main', FUSE_A, ids), chargers: ids.map((id) => charger(id, 'main')), priority: 'equal', carResponseMs: 5_000 });
      let state: DecideState = initialDecideState;
      for (let tick = -1; tick <= 40; tick++) {
        const nowMs = T0 + tick * 500;
        const gridAtMs = nowMs - gridDelayMs;
        const gridA = gridAtMs < T0 + 500 ? [0, 0, 0] : BUILDING_A;
        // Before the cars: the chargers at their default 32 A; then four sessions, their first 0 A profile confirmed.
        const connectors = ids.map((id, i) => (tick < 0 ? plugged(id, null, { installedCapA: 32 }) : plugged(id, session(`s${i}`, { startedAtMs: T0 }), { status: 'SuspendedEVSE', installedCapA: tick === 0 ? 32 : 0 })));
        const decision = decide({ atMs: nowMs, grid: { atMs: gridAtMs, currentA: [gridA[0], gridA[1], gridA[2]], powerW: (gridA[0] + gridA[1] + gridA[2]) * 230 }, circuitLoads: [], connectors, signals: {} }, p, state);
        state = decision.nextState;
        const caps = decision.caps.map((c) => c.currentA);
        // CP1's car is single-phase (site L1), the others three-phase: what the cars would draw at these caps.
        const l1 = BUILDING_A[0] + caps[0] + caps[1] + caps[2] + caps[3];
        const l2 = BUILDING_A[1] + caps[1] + caps[2] + caps[3];
        if (tick >= 0) expect(Math.max(l1, l2), `at ${tick / 2} s, grid ${gridDelayMs} ms old, caps ${caps.join('/')}`).toBeLessThanOrEqual(FUSE_A);
      }
    }
  });

  // Session 5's CI run (75.6 A on L2 of a 64 A fuse): the rig's meter reads 0/0/0 until the plant
  // runs, and with no session yet that reading is trusted (unconfirmed). The four cars plugged in
  // before the EMS read the meter again, so the first real reading (10/30/10 A) arrived with four
  // new sessions at their chargers' default 32 A and no sample: the 30 A rise was credited to them
  // as their ramp, the level stayed at 0, and the caps went to 15.2 A each. The first confirmed
  // reading must start the level afresh.
  it('does not credit the first confirmed reading after 0/0/0 to cars that just plugged in', () => {
    const ids = ['CP1', 'CP2', 'CP3', 'CP4'];
    const p = params({ grid: { maxCurrentA: FUSE_A, safetyMargin: 0.05, metered: true, meterGate: true }, circuit: circuit('main', FUSE_A, ids), chargers: ids.map((id) => charger(id, 'main')), priority: 'equal', carResponseMs: 5_000 });
    let state: DecideState = initialDecideState;
    let caps: number[] = [32, 32, 32, 32];
    for (let tick = -20; tick <= 30; tick++) {
      const nowMs = T0 + tick * 500;
      const gridA = tick < 0 ? [0, 0, 0] : BUILDING_A;
      // Before the plant runs: no car, the meter unfilled. Then four sessions at once, their chargers
      // at the default 32 A until the EMS's first limit is confirmed a cycle later; the cars draw
      // nothing yet (they have not reported, and the meter shows only the building).
      const connectors = ids.map((id, i) => (tick < 0 ? plugged(id, null, { installedCapA: 32 }) : plugged(id, session(`s${i}`, { startedAtMs: T0 }), { installedCapA: tick === 0 ? 32 : caps[i], drawA: undefined, drawAtMs: undefined })));
      const decision = decide({ atMs: nowMs, grid: { atMs: nowMs - 200, currentA: [gridA[0], gridA[1], gridA[2]], powerW: (gridA[0] + gridA[1] + gridA[2]) * 230 }, circuitLoads: [], connectors, signals: {} }, p, state);
      state = decision.nextState;
      caps = decision.caps.map((c) => c.currentA);
      const l2 = BUILDING_A[1] + caps[1] + caps[2] + caps[3];
      if (tick >= 0) {
        expect(l2, `L2 at ${tick / 2} s if the cars take their caps ${caps.join('/')}`).toBeLessThanOrEqual(FUSE_A);
        if (!decision.failsafe) expect(decision.headroom.buildingA[1], `building on L2 at ${tick / 2} s`).toBeGreaterThanOrEqual(BUILDING_A[1] - TOLERANCE_A);
      }
    }
  });
});
