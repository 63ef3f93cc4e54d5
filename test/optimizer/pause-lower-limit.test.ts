// #9 F9 ("a lower limit never pauses cars that still fit at their minimum"), the acceptance case
// lower-limit-tight in one controlStep() series: a 64 A site, building 10 A per phase, four
// three-phase cars sharing it (12.7 A each); an import limit arrives at once (an operator signal)
// at a level where n cars fit at their 6 A minimum. Chargers answer a profile after their own delay
// (the old cap stays reserved until then) and apply it after another; cars follow after their own
// response and ramp at 10 A/s; MeterValues come every 2-10 s, reported late; the grid reading is a
// little older than the cycle. While the cars come down the grid still reads above the limit and
// the cars' last samples show their old draw: that is no reason to pause a car that fits.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { initialControlMemory, controlStep, type ControlMemory } from '../../src/control/control-step.ts';
import type { ConnectorSnapshot } from '../../optimizer/index.ts';
import { plugged, session, T0 } from './scenario.ts';
import { REPLAY_MARGIN, replaySiteParams } from './site-model.ts';

const FUSE_A = 64;
const BUILDING_A = 10;
const MARGIN = REPLAY_MARGIN;
const V = 230;
const IDS = ['CP1', 'CP2', 'CP3', 'CP4'];

interface Car {
  responseMs: number;
  answerMs: number;
  applyMs: number;
  sampleEveryS: number;
  sampleOffsetMs: number;
  reportLagMs: number;
}

interface Case {
  cars: Car[];
  limitA: number;
  limitAtMs: number;
  gridDelayMs: number;
  cycleMs: number;
}

interface Outcome {
  paused: number;
  fit: number;
  maxGridAfterA: number;
  log: string[];
}

/** Runs the case; returns how many cars that were charging were paused, and the true grid after the cars' response. */
function run(c: Case): Outcome {
  const p = replaySiteParams(FUSE_A, IDS);
  const DT = 100;
  const END_MS = c.limitAtMs + 30_000;
  // Per charger: limits applied (time, cap), the profile's answer (time, cap) and the cap before it.
  const applied: { atMs: number; capA: number }[][] = IDS.map(() => [{ atMs: -Infinity, capA: 0 }]);
  const answered: { atMs: number; capA: number; beforeA: number }[][] = IDS.map(() => []);
  const draw: number[] = [0, 0, 0, 0];
  const history: number[][] = IDS.map(() => []);
  const gridHistory: number[] = [];
  const lastCap = [Number.NaN, Number.NaN, Number.NaN, Number.NaN];
  let memory: ControlMemory = initialControlMemory;
  let paused = 0;
  let maxGridAfterA = 0;
  const log: string[] = [];
  const limitAt = (i: number, atMs: number) => applied[i].filter((x) => x.atMs <= atMs).at(-1)!.capA;
  const at = (series: number[], atMs: number) => series[Math.max(0, Math.min(series.length - 1, Math.floor((atMs - T0) / DT)))] ?? 0;
  for (let tick = 0; T0 + tick * DT <= T0 + END_MS; tick++) {
    const nowMs = T0 + tick * DT;
    c.cars.forEach((car, i) => {
      const offered = limitAt(i, nowMs - car.responseMs);
      const want = offered < 6 ? 0 : offered;
      // 10 A/s both ways (a decrease lands within the response plus a fraction of a second).
      draw[i] = want <= draw[i] ? Math.max(want, draw[i] - 1) : Math.min(want, draw[i] + 1);
      history[i].push(draw[i]);
    });
    gridHistory.push(BUILDING_A + draw.reduce((a, b) => a + b, 0));
    const sinceLimit = nowMs - (T0 + c.limitAtMs);
    const slowest = Math.max(...c.cars.map((car) => car.answerMs + car.applyMs + car.responseMs)) + 1_000 + c.cycleMs + c.gridDelayMs + 2_000;
    if (sinceLimit >= slowest) maxGridAfterA = Math.max(maxGridAfterA, gridHistory.at(-1)!);
    if ((tick * DT) % c.cycleMs !== 0) continue;
    const gridAtMs = nowMs - c.gridDelayMs;
    const gridA = at(gridHistory, gridAtMs);
    const connectors: ConnectorSnapshot[] = c.cars.map((car, i) => {
      let sampleMs = Number.NaN;
      for (let s = T0 + (car.sampleOffsetMs % (car.sampleEveryS * 1000)); s + car.reportLagMs <= nowMs; s += car.sampleEveryS * 1000) sampleMs = s;
      const answers = answered[i].filter((x) => x.atMs <= nowMs);
      const pending = answered[i].filter((x) => x.atMs > nowMs);
      const installedCapA = answers.length ? answers.at(-1)!.capA : undefined;
      // The old cap stays reserved until the charger confirms the new one (src/state/site-state.ts).
      const reservedA = pending.length ? Math.max(...pending.map((x) => Math.max(x.capA, x.beforeA))) : undefined;
      const d = Number.isNaN(sampleMs) ? undefined : at(history[i], sampleMs);
      return plugged(IDS[i], session(`s${i}`, { startedAtMs: T0 }), {
        ...(installedCapA === undefined ? {} : { installedCapA }),
        ...(reservedA === undefined ? {} : { reservedA }),
        ...(d === undefined ? { drawA: [0, 0, 0] } : { drawA: [d, d, d], drawAtMs: sampleMs }),
        status: d !== undefined && d < 1 && lastCap[i] === 0 ? 'SuspendedEVSE' : 'Charging',
      });
    });
    const signals = sinceLimit >= 0 ? { importLimitW: c.limitA * 3 * V } : {};
    const step = controlStep({ snapshot: { atMs: nowMs, grid: { atMs: gridAtMs, currentA: [gridA, gridA, gridA], powerW: gridA * 3 * V }, circuitLoads: [], connectors, signals }, params: p, memory });
    memory = step.memory;
    step.decision.caps.forEach((cap) => {
      const i = IDS.indexOf(cap.chargerId);
      if (lastCap[i] === cap.currentA) return;
      if (sinceLimit >= 0 && cap.currentA === 0 && lastCap[i] > 0) paused++;
      if (sinceLimit >= -1_000) log.push(`${(sinceLimit / 1000).toFixed(1)} s ${cap.chargerId} ${lastCap[i]} → ${cap.currentA} A (${cap.reason.text}); grid ${gridA.toFixed(1)} A, draws ${draw.map((x) => x.toFixed(1)).join('/')}`);
      const answerAt = nowMs + c.cars[i].answerMs;
      answered[i].push({ atMs: answerAt, capA: cap.currentA, beforeA: Number.isNaN(lastCap[i]) ? 32 : lastCap[i] });
      applied[i].push({ atMs: answerAt + c.cars[i].applyMs, capA: cap.currentA });
      lastCap[i] = cap.currentA;
    });
  }
  const freeA = c.limitA * (1 - MARGIN) - BUILDING_A;
  return { paused, fit: Math.min(4, Math.floor(freeA / 6 + 1e-9)), maxGridAfterA, log };
}

// Within IEC 61851's 5 s from the charger's answer: apply delay + response + the ramp down (≤ 1.3 s).
const arbCar = fc.record({
  responseMs: fc.integer({ min: 500, max: 3_000 }),
  answerMs: fc.integer({ min: 50, max: 1_500 }),
  applyMs: fc.integer({ min: 0, max: 700 }),
  sampleEveryS: fc.integer({ min: 2, max: 10 }),
  sampleOffsetMs: fc.integer({ min: 0, max: 9_000 }),
  reportLagMs: fc.integer({ min: 0, max: 2_000 }),
});

const arbCase = fc.record({
  cars: fc.array(arbCar, { minLength: 4, maxLength: 4 }),
  // From "all four fit at 6 A" (38 A: 26.1 A free) down to "three fit" (30 A); see the known failure below for fewer.
  limitA: fc.integer({ min: 30, max: 40 }),
  limitAtMs: fc.integer({ min: 40_000, max: 50_000 }),
  gridDelayMs: fc.integer({ min: 0, max: 900 }),
  cycleMs: fc.constantFrom(500, 1_000),
});

describe('a lower limit and the cars that still fit (F9)', () => {
  it('pauses no car that fits at its minimum while the decreases are on their way, and keeps the limit after the cars respond', () => {
    fc.assert(
      fc.property(arbCase, (c) => {
        const out = run(c);
        const text = out.log.join('\n');
        expect(out.paused, `cars paused (${out.fit} of 4 fit at 6 A under ${c.limitA} A)\n${text}`).toBeLessThanOrEqual(4 - out.fit);
        expect(out.maxGridAfterA, `true grid after the cars' response\n${text}`).toBeLessThanOrEqual(c.limitA);
      }),
      { numRuns: Number(process.env.PAUSE_RUNS ?? 60), seed: Number(process.env.PAUSE_SEED ?? 20261206) },
    );
  });

  // One car of four fits (18 A), the other three are cut to 0 and come down in 1.3 s; a grid
  // reading 0.2 s older than their 0 A samples still holds ~2 A of their ramp, which the estimate
  // (closing the bracket on the building side, site-view.ts F3) took for building load: 0.7 A too
  // much, and the one car that fits at 7.1 A was paused for 2 min. Now, while a lower import limit
  // reaches the cars, a car sampled lower after the reading is credited with what it drew before
  // (site-view.ts OUT_DOWN); and the first limit after none counts as a drop (it did not).
  it('keeps the one car that fits when the others are cut to 0 (18 A)', () => {
    const fast: Car = { responseMs: 500, answerMs: 50, applyMs: 0, sampleEveryS: 2, sampleOffsetMs: 0, reportLagMs: 0 };
    const out = run({ cars: [fast, fast, fast, fast], limitA: 18, limitAtMs: 40_000, gridDelayMs: 201, cycleMs: 500 });
    expect(out.paused, out.log.join('\n')).toBeLessThanOrEqual(4 - out.fit);
  });
});
