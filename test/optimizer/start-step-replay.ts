// A pure decide() replay of the independent #9 rig's start-up (findings F6 and F7): a 64 A site,
// four chargers at their own default (32 A) until the EMS's first profile reaches them, four
// three-phase cars that plug in at once, each following the limit in force a response earlier and
// ramping at its own rate in whole amps, MeterValues taken every few seconds and reported late, a
// grid meter read every cycle whose reading is a few hundred ms old, and (F7) the building stepping
// up at some moment of the start. Time is data; nothing here has a clock.
import { decide, initialDecideState } from '../../optimizer/index.ts';
import type { ConnectorSnapshot, DecideState, Decision } from '../../optimizer/index.ts';
import { plugged, session, T0 } from './scenario.ts';
import { replaySiteParams } from './site-model.ts';

export const FUSE_A = 64;
const IDS = ['CP1', 'CP2', 'CP3', 'CP4'];
const DEFAULT_A = 32;
const DT_MS = 100;

export interface StartCar {
  /** When the car is plugged in, ms after T0. */
  plugMs: number;
  /** How long it takes to follow a new limit, ms. */
  responseMs: number;
  /** Its ramp up, A/s. */
  rampAps: number;
  /** SetChargingProfile from decision to the charger applying it, ms. */
  deliverMs: number;
  sampleEveryS: number;
  sampleOffsetMs: number;
  /** MeterValues reach the EMS this long after they were taken, ms. */
  reportLagMs: number;
}

export interface StartCase {
  cars: StartCar[];
  /** The grid reading decide() gets is this old, ms. */
  gridDelayMs: number;
  buildingBeforeA: number;
  buildingAfterA: number;
  /** When the building steps, ms after T0 (Infinity: never). */
  stepMs: number;
  /** Simulated length, ms. */
  durationMs: number;
  /** Control cycle, ms. */
  cycleMs: number;
  /** The meter is read this often, ms (decide() gets the last reading). */
  meterEveryMs: number;
  /** The minimum pause, ms (default 0: a cut in the first seconds is not this replay's subject). */
  minPauseMs?: number;
}

export interface StartTick {
  /** ms after T0. */
  tMs: number;
  decision: Decision;
  /** True building per phase at the grid reading's time, A. */
  buildingTrueA: number;
  /** True grid current on a phase at this moment, A. */
  gridTrueA: number;
  /** Each car's true draw now, A. */
  drawA: number[];
  capsA: number[];
}

/** The building at ms after T0. */
export function buildingAt(c: StartCase, tMs: number): number {
  return tMs >= c.stepMs ? c.buildingAfterA : c.buildingBeforeA;
}

/** Runs the case; `onTick` sees every decision. */
export function replayStart(c: StartCase, onTick: (t: StartTick) => void): void {
  // minPauseMs 0 unless the case is about the minimum pause after a start-up cut (pause-after-start.test.ts).
  const p = replaySiteParams(FUSE_A, IDS, { minPauseMs: c.minPauseMs ?? 0 });
  const limits: { atMs: number; capA: number }[][] = c.cars.map(() => [{ atMs: -Infinity, capA: DEFAULT_A }]);
  const draws: number[][] = c.cars.map(() => []);
  const limitAt = (i: number, atMs: number) => limits[i].filter((l) => l.atMs <= atMs).at(-1)!.capA;
  const drawAt = (i: number, atMs: number) => {
    const k = Math.max(0, Math.floor((atMs - T0) / DT_MS));
    return draws[i][Math.min(k, draws[i].length - 1)] ?? 0;
  };
  let state: DecideState = initialDecideState;
  const lastCap = c.cars.map(() => Number.NaN);
  const profiles: { appliedMs: number; capA: number }[][] = c.cars.map(() => []);
  const ticks = Math.floor(c.durationMs / DT_MS);
  const every = Math.max(1, Math.round(c.cycleMs / DT_MS));
  for (let tick = 0; tick <= ticks; tick++) {
    const tMs = tick * DT_MS;
    const nowMs = T0 + tMs;
    c.cars.forEach((car, i) => {
      const before = draws[i][tick - 1] ?? 0;
      const responded = tMs >= car.plugMs + car.responseMs;
      const offered = responded ? limitAt(i, nowMs - car.responseMs) : 0;
      const want = offered < 6 ? 0 : Math.floor(offered);
      draws[i][tick] = want <= before ? want : Math.min(want, before + (car.rampAps * DT_MS) / 1000);
    });
    if (tick % every !== 0) continue;
    // The last reading taken (every meterEveryMs), a little older than the poll that brought it.
    const gridAtMs = T0 + Math.floor(tMs / c.meterEveryMs) * c.meterEveryMs - c.gridDelayMs;
    const buildingTrueA = buildingAt(c, gridAtMs - T0);
    let evAtGrid = 0;
    c.cars.forEach((_, i) => (evAtGrid += drawAt(i, gridAtMs)));
    const gridA = buildingTrueA + evAtGrid;
    const connectors: ConnectorSnapshot[] = c.cars.map((car, i) => {
      if (tMs < car.plugMs) return plugged(IDS[i], null);
      let sampleMs = Number.NaN;
      for (let s = T0 + car.plugMs + (car.sampleOffsetMs % (car.sampleEveryS * 1000)); s + car.reportLagMs <= nowMs; s += car.sampleEveryS * 1000) sampleMs = s;
      const s = session(`s${i}`, { startedAtMs: T0 + car.plugMs });
      // As src/state/site-state.ts says it: the cap the charger accepted, and while a profile is on
      // its way the larger of it and the one before (the charger's default before the first).
      const sent = profiles[i];
      const applied = sent.filter((pr) => pr.appliedMs <= nowMs).at(-1);
      const k = sent.findIndex((pr) => pr.appliedMs > nowMs);
      const fields: Partial<ConnectorSnapshot> = {};
      if (applied) fields.installedCapA = applied.capA;
      if (k >= 0) fields.reservedA = Math.max(sent[k].capA, k > 0 ? sent[k - 1].capA : DEFAULT_A);
      if (Number.isNaN(sampleMs)) return plugged(IDS[i], s, { ...fields, drawA: undefined, drawAtMs: undefined });
      const d = drawAt(i, sampleMs);
      return plugged(IDS[i], s, { ...fields, drawA: [d, d, d], drawAtMs: sampleMs });
    });
    const decision = decide(
      { atMs: nowMs, grid: { atMs: gridAtMs, currentA: [gridA, gridA, gridA], powerW: gridA * 3 * 230 }, circuitLoads: [], connectors, signals: {} },
      p,
      state,
    );
    state = decision.nextState;
    const capsA = c.cars.map(() => 0);
    decision.caps.forEach((cap) => {
      const i = IDS.indexOf(cap.chargerId);
      capsA[i] = cap.currentA;
      // A profile goes out only for a session (TxProfile): before it the charger keeps its default.
      if (tMs >= c.cars[i].plugMs && lastCap[i] !== cap.currentA) {
        limits[i].push({ atMs: nowMs + c.cars[i].deliverMs, capA: cap.currentA });
        profiles[i].push({ appliedMs: nowMs + c.cars[i].deliverMs, capA: cap.currentA });
        lastCap[i] = cap.currentA;
      }
    });
    const drawNow = c.cars.map((_, i) => draws[i][tick]);
    onTick({ tMs, decision, buildingTrueA, gridTrueA: buildingAt(c, tMs) + drawNow.reduce((a, b) => a + b, 0), drawA: drawNow, capsA });
  }
}
