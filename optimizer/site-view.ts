// The derived site view: computed once per snapshot, read by decide(), headroom(), storage control,
// the planner's input and the API. It answers "how much non-EV load is there, what do the cars
// draw, which limits are in force, can the meter be trusted" so that every error makes the EMS
// more careful, never less (DESIGN.md "What the closed loop must guarantee"):
// - an EV draw subtracted from a grid reading is the charger's sample closest to the reading's
//   time, never above what the car could draw under the limits in force at that time (the caps of
//   the last carResponseMs, kept per connector in the estimate memory);
// - a decrease counts as done once a sample shows the car below the new cap or carResponseMs has
//   passed; until then the old cap stays reserved (see inFlightDa), so the freed capacity is not
//   handed on before it is free;
// - the building load at the connection point is the maximum over the readings of the last
//   buildingHoldMs: it rises at once and falls only when the higher readings have aged out;
// - a grid reading that cannot be true (above what the fuse allows, negative on a site that cannot
//   export, below what the cars draw) is a finding and is not used; the last plausible reading
//   stands in while it is fresh; with params.grid.meterGate a suspect or unconfirmed meter means
//   the failsafe (meter-plausibility.ts).
import type {
  ChargerParams,
  ConnectorEstimateMemory,
  ConnectorSnapshot,
  DecideParams,
  EstimateMemory,
  Finding,
  GridMeasurement,
  PhaseValues,
  SiteSnapshot,
  SiteSummary,
} from './types.ts';
import { finiteOr, formatA, formatSeconds, nonNegative } from './numbers.ts';
import { detectSinglePhase, foldLineToLine, lineToLinePair, rotationOf, ALL_PHASES_MASK, COS30 } from './phase-map.ts';
import type { IndexedCharger, SiteIndex } from './site-index.ts';
import { judgeMeter, type GateConnector } from './meter-plausibility.ts';
import { PreviousMemories, withMemories } from './memories-by-index.ts';

/** A car counts as drawing nothing below this, A (highest phase). */
export const IDLE_DRAW_A = 1;
/** Tolerance when comparing a measured draw with a cap, A. */
const FOLLOW_TOLERANCE_A = 0.5;
/** A charger's report above its cap by more than this (and 10 %) is flagged, A. */
const OVER_CAP_TOLERANCE_A = 2;
/** No samples: boundAt over its whole car response window. */
const NO_DRAWS: readonly number[] = [];
/** Draw samples kept per connector. */
const MAX_SAMPLES = 4;

export const DEFAULTS = {
  carResponseMs: 5_000,
  /** How long a building-load reading holds the estimate up after a lower one. */
  buildingHoldMs: 5_000,
  /** A car that draws ≈ 0 (or reports SuspendedEV) this long while offered current gives its share away. */
  idleReleaseMs: 20_000,
  /** A released car is offered its minimum again this often... */
  probeEveryMs: 300_000,
  /** ...for this long; drawing in that time brings it back. */
  probeForMs: 60_000,
} as const;

/**
 * The fastest a car raises its draw, A/s (plant.md: ramps of 5–30 A/s, some step in whole amps).
 * A grid reading that rose faster than the cars could have is building load.
 */
const CAR_RAMP_APS = 30;
/** The slowest a car ramps up after a raise, A/s (plant.md: 5–30 A/s). */
const CAR_MIN_RAMP_APS = 5;
/** A rise of the reading the cars may have made is checked against their samples for this long, ms. */
const RISE_WINDOW_MS = 15_000;
/**
 * How long a car whose pilot comes on (from SuspendedEVSE) draws nothing, ms: it closes its
 * contactor and starts its charger (plant.md: cars follow in 1-2 s, some take 5). Too long a figure
 * costs use only: a rise it leaves the car counts as building load until the car's samples show it.
 */
const CAR_START_MS = 1_000;
/** A car's step when it rounds to whole amps, A. */
const CAR_STEP_A = 1;

export type LoadMode = 'measured' | 'unmetered' | 'failsafe';

/** One connector as the estimator sees it. */
export interface ConnectorView {
  /** The latest fresh sample per charger phase, or undefined when none is fresh. */
  readonly freshDrawA: PhaseValues | undefined;
  /** Its time. */
  readonly freshAtMs: number | undefined;
  /** Site phases learned from per-phase samples this session (0 = not learned). */
  readonly learnedMask: number;
  /** Capacity kept for this connector whatever is decided now, A (pending decrease, over-cap draw). */
  readonly holdA: number;
  /** True while the car is treated as full and its share given away. */
  readonly released: boolean;
  /** True while a released car is offered its minimum to see whether it wants to charge again. */
  readonly probing: boolean;
}

export interface SiteView {
  readonly atMs: number;
  readonly mode: LoadMode;
  /** Why the failsafe applies, for people; '' when it does not. */
  readonly failsafeWhy: string;
  /** The grid reading used (plausible and fresh), or null. */
  readonly grid: GridMeasurement | null;
  /** Per snapshot.connectors index. */
  readonly connectors: readonly ConnectorView[];
  /** index.connectorAt().key of each snapshot connector, by index (computed once per cycle). */
  readonly keys: readonly string[];
  /** Non-EV load per (node, site phase) = 3 × node + phase, A. */
  readonly buildingA: Float64Array;
  /** Non-EV import at the connection point, W, never below 0. */
  readonly buildingPowerW: number;
  /** Estimated EV draw at the connection point per site phase, A. */
  readonly evA: [number, number, number];
  readonly importLimitW: number | undefined;
  readonly importSource: 'grid' | 'signal';
  readonly exportLimitW: number | undefined;
  readonly exportSource: 'grid' | 'signal';
  readonly findings: Finding[];
  /** Estimation memory for the next cycle, before this cycle's caps are added (see recordCaps). */
  readonly next: { connectors: Record<string, ConnectorEstimateMemory>; building: number[]; level?: number[]; levelGrid?: number[]; lastGrid?: GridMeasurement; overSinceMs?: number[]; riseGrid?: number[] };
  /** next.connectors[keys[i]] by snapshot index (for recordLimits, without the lookups). */
  readonly memories: readonly ConnectorEstimateMemory[];
  /** True when a connector key is in the snapshot twice (the memories by index hold the last one's). */
  readonly duplicateKeys: boolean;
  /**
   * 1 where memories[i] is last cycle's object, kept as it was (no field changed): recordLimits
   * gives the connector a new object before it records anything there, as a memory a cycle
   * returned is never changed.
   */
  readonly kept: Uint8Array;
}

interface Timing {
  carResponseMs: number;
  drawStaleMs: number;
  staleAfterMs: number;
  buildingHoldMs: number;
  idleReleaseMs: number;
  probeEveryMs: number;
  probeForMs: number;
}

function timingOf(params: DecideParams): Timing {
  const staleAfterMs = nonNegative(params.staleAfterMs);
  return {
    carResponseMs: nonNegative(params.carResponseMs ?? DEFAULTS.carResponseMs),
    drawStaleMs: nonNegative(params.drawStaleAfterMs ?? params.staleAfterMs),
    staleAfterMs,
    buildingHoldMs: nonNegative(params.buildingHoldMs ?? DEFAULTS.buildingHoldMs),
    idleReleaseMs: nonNegative(params.idleReleaseMs ?? DEFAULTS.idleReleaseMs),
    probeEveryMs: nonNegative(params.probeEveryMs ?? DEFAULTS.probeEveryMs),
    probeForMs: nonNegative(params.probeForMs ?? DEFAULTS.probeForMs),
  };
}

/** The strictest import and export power limits, W before the margin, with their sources. */
export function strictestLimits(
  signals: SiteSnapshot['signals'] | undefined,
  grid: Pick<DecideParams['grid'], 'maxImportPowerW' | 'maxExportPowerW'>,
): { importLimitW: number | undefined; importSource: 'grid' | 'signal'; exportLimitW: number | undefined; exportSource: 'grid' | 'signal' } {
  const pick = (configured: number | undefined, signal: number | undefined) => {
    let limitW: number | undefined;
    let source: 'grid' | 'signal' = 'grid';
    if (configured !== undefined && configured !== null) limitW = nonNegative(configured);
    if (signal !== undefined && signal !== null && (limitW === undefined || nonNegative(signal) < limitW)) {
      limitW = nonNegative(signal);
      source = 'signal';
    }
    return { limitW, source };
  };
  const imp = pick(grid.maxImportPowerW, signals?.importLimitW);
  const exp = pick(grid.maxExportPowerW, signals?.exportLimitW);
  return { importLimitW: imp.limitW, importSource: imp.source, exportLimitW: exp.limitW, exportSource: exp.source };
}

/**
 * The most the car may draw at `t`, A: the highest limit in force during [t − response, t], from
 * the last sample at or below the limit then in force (the car has followed). Counting (the
 * estimate, a decrease's hold) takes that sample as proof; the over-cap report does not (see there).
 */
export function boundAt(bounds: readonly number[], draws: readonly number[], t: number, responseMs: number, fallbackA: number): number {
  if (bounds.length === 0) return fallbackA;
  let windowStart = t - responseMs;
  // A sample at or before t that shows the car at or below the limit then in force: the car has
  // followed; older, higher limits no longer matter.
  for (let i = draws.length - 4; i >= 0; i -= 4) {
    const at = draws[i];
    if (at > t || at <= windowStart) continue;
    const inForce = valueAt(bounds, at);
    if (inForce === undefined) continue;
    const drawn = Math.max(draws[i + 1], draws[i + 2], draws[i + 3]);
    if (drawn <= inForce + FOLLOW_TOLERANCE_A) {
      windowStart = at;
      break;
    }
  }
  if (bounds[0] > windowStart) return Math.max(fallbackA, maxFrom(bounds, windowStart, t));
  return maxFrom(bounds, windowStart, t);
}

/** The limit in force at `t` (the last one set at or before it). */
function valueAt(bounds: readonly number[], t: number): number | undefined {
  let value: number | undefined;
  for (let i = 0; i < bounds.length; i += 2) {
    if (bounds[i] > t) break;
    value = bounds[i + 1];
  }
  return value;
}

/** Highest limit in force at any moment of [from, to]. */
function maxFrom(bounds: readonly number[], from: number, to: number): number {
  let best = 0;
  for (let i = 0; i < bounds.length; i += 2) {
    const start = bounds[i];
    const end = i + 2 < bounds.length ? bounds[i + 2] : Number.POSITIVE_INFINITY;
    if (start > to || end <= from) continue;
    if (bounds[i + 1] > best) best = bounds[i + 1];
  }
  return best;
}

/** Lowest limit in force at any moment of [from, to] (+∞ when none is). */
function minFrom(bounds: readonly number[], from: number, to: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < bounds.length; i += 2) {
    const start = bounds[i];
    const end = i + 2 < bounds.length ? bounds[i + 2] : Number.POSITIVE_INFINITY;
    if (start > to || end <= from) continue;
    if (bounds[i + 1] < best) best = bounds[i + 1];
  }
  return best;
}

const EMPTY: readonly number[] = [];

/** Adds the snapshot's sample when it is new (or corrects the last one), keeps the last few. */
function withSample(draws: readonly number[], connector: ConnectorSnapshot): readonly number[] {
  const at = connector.drawAtMs;
  const d = connector.drawA;
  if (at === undefined || !Number.isFinite(at) || !d) return draws;
  const a = nonNegative(d[0]);
  const b = nonNegative(d[1]);
  const c = nonNegative(d[2]);
  const n = draws.length;
  if (n >= 4 && draws[n - 4] === at) {
    if (draws[n - 3] === a && draws[n - 2] === b && draws[n - 1] === c) return draws;
    const out = draws.slice();
    out[n - 3] = a;
    out[n - 2] = b;
    out[n - 1] = c;
    return out;
  }
  if (n >= 4 && draws[n - 4] > at) return draws; // a late sample from a queue: the newer one stands
  const out = n >= MAX_SAMPLES * 4 ? draws.slice(4) : draws.slice();
  out.push(at, a, b, c);
  return out;
}

/**
 * Adds charger terminals L1..L3 (a, b, c) to `sum` on their site phases, each less `lessA` and no
 * less than 0 when `lessA` is given. A rotation maps the terminals one to one, so each site phase
 * gets one term: in place, with no array per connector per cycle.
 */
function addOnSite(sum: number[], rot: readonly number[], a: number, b: number, c: number, lessA?: number): void {
  if (lessA === undefined) {
    sum[rot[0]] += a;
    sum[rot[1]] += b;
    sum[rot[2]] += c;
    return;
  }
  sum[rot[0]] += Math.max(0, a - lessA);
  sum[rot[1]] += Math.max(0, b - lessA);
  sum[rot[2]] += Math.max(0, c - lessA);
}

/** As addOnSite for a line-to-line charger: its one current (largest terminal) at cos 30° on both its lines (foldLineToLine). */
function addLineToLine(sum: number[], pair: readonly [number, number], a: number, b: number, c: number, lessA?: number): void {
  const amps = Math.max(0, Math.max(a, b, c) - (lessA ?? 0)) * COS30;
  sum[pair[0]] += amps;
  sum[pair[1]] += amps;
}

/** A fresh sample above a limit by more than the tolerance (2 A or 10 %). */
function overLimit(drawnA: number, boundA: number): boolean {
  return drawnA > boundA + Math.max(OVER_CAP_TOLERANCE_A, 0.1 * boundA);
}

/** A car drawing this much below every limit in force draws what it wants, not its cap, A. */
const UNCONSTRAINED_MARGIN_A = 1.5;

/** An idle sample at most this long before a grid reading (or any time after it) shows the car idle at the reading, ms. */
const IDLE_NEAR_MS = 250;

/**
 * Whether a car sampled drawing `drawnA` drew the same from `from` to `to` (a sample and a grid
 * reading, in either order): it had settled by `from` (a car response after the last change of its
 * limit), and its limit did not change until `to`, or every limit in force then stayed clearly
 * above its draw (a car that draws less than offered is not moved by a change it does not feel).
 */
function settledBetween(bounds: readonly number[], from: number, to: number, responseMs: number, drawnA: number, idleNear: boolean, startedAtMs: number): boolean {
  if (bounds.length === 0) return false;
  let inForce: number | undefined;
  let changedAt = Number.NEGATIVE_INFINITY;
  let lowest = Number.POSITIVE_INFINITY;
  let changedBetween = false;
  let raisedByA = 0;
  for (let i = 0; i < bounds.length; i += 2) {
    const at = bounds[i];
    if (at > to) break;
    if (at <= from) {
      changedAt = at;
      raisedByA = inForce === undefined ? 0 : Math.max(0, bounds[i + 1] - inForce);
      inForce = bounds[i + 1];
      continue;
    }
    changedBetween = true;
    if (bounds[i + 1] < lowest) lowest = bounds[i + 1];
  }
  if (inForce === undefined) return false;
  // The car may still have been following any limit in force up to a car response before the last
  // change (a car held at 0 and raised twice in quick succession ramps from 0, not from the
  // limit just before the last raise): the ramp it needs is from the lowest of those.
  raisedByA = Math.max(raisedByA, inForce - minFrom(bounds, changedAt - responseMs, changedAt));
  // A car plugged in under a limit that was in force before (an idle connector's default) starts
  // from 0 when its session starts, not when that limit was set.
  if (startedAtMs > changedAt) {
    changedAt = startedAtMs;
    raisedByA = inForce;
  }
  const clearlyBelow = drawnA + UNCONSTRAINED_MARGIN_A <= Math.min(inForce, lowest);
  // A car sampled idle (< 1 A) at the reading, or just before it (IDLE_NEAR_MS), clearly below every
  // limit in force counts at its sample even within a car response of a raise: it cannot have drawn
  // less, and counting it at its sample can only make the building load look larger (a car that
  // does ramp up then is taken for building load until its next sample, never the other way round).
  // A building step next to cars that say they draw nothing is thus building load at once, not an
  // unseen car ramp.
  if (idleNear && drawnA < IDLE_DRAW_A && clearlyBelow) return true;
  // After a raise the car follows within a response and then ramps up, at CAR_MIN_RAMP_APS at the
  // slowest: until then a sample below the limit may be a car on its way up, not a settled one (a
  // later sample of a car still ramping would show more than it drew at an earlier reading).
  if (from < changedAt + responseMs + (raisedByA * 1000) / CAR_MIN_RAMP_APS) return false;
  if (!changedBetween) return true;
  return clearlyBelow;
}

/**
 * out[0..2]: point estimate, out[3..5]: the most, out[6..8]: the least the car drew, per site phase;
 * out[9..11]: what a car coming down after a lower import limit may still have drawn at the
 * reading above out[3..5] (F9).
 */
const OUT_EST = 0;
const OUT_HIGH = 3;
const OUT_LOW = 6;
const OUT_DOWN = 9;
const OUT_LENGTH = 12;

/**
 * A car's draw at `t` (a grid reading's time), written into `out` (see OUT_*). The sample closest
 * to `t` counts (fresh, or the last one of a charger that is away while its capacity is held),
 * clamped to the limits in force then. When that sample and `t` both lie a car response after
 * the last change of its limit, the car was settled: the sample is its draw. Otherwise the car may
 * have been anywhere between the least of the samples around `t` (and the limit then) and the
 * most it could draw then. Allocation-free: it runs for every connector every cycle.
 */
function drawAt(mem: ConnectorEstimateMemory, c: ConnectorSnapshot, charger: ChargerParams, t: number, atMs: number, timing: Timing, out: Float64Array, samplesAfterBound = false, creditDown = false): void {
  for (let k = 0; k < OUT_LENGTH; k++) out[k] = 0; // (a loop: fill() is a call per connector)
  const reservedA = nonNegative(c.reservedA);
  const maxA = nonNegative(charger.maxCurrentA);
  const bounds = mem.bounds;
  const draws = mem.draws;
  if (draws.length === 0 && timing.carResponseMs <= 0) return; // instant model, never reported: stays in the building load
  const away = c.online === false && reservedA > 0;
  const oldestUsable = away ? Number.NEGATIVE_INFINITY : atMs - timing.drawStaleMs;
  const bound = boundAt(bounds, draws, t, timing.carResponseMs, Math.max(maxA, reservedA));
  const rot = rotationOf(charger.phaseRotation);
  let best = -1;
  let before = -1;
  for (let i = 0; i < draws.length; i += 4) {
    const at = draws[i];
    if (at < oldestUsable) continue;
    if (best < 0 || Math.abs(at - t) < Math.abs(draws[best] - t)) best = i;
    if (at <= t && (before < 0 || at > draws[before])) before = i;
  }
  // The car itself says it draws nothing (SuspendedEV: full or waiting) since a moment after its
  // last sample: at a reading from then on it drew 0. Counting it at 0 can only make the building
  // load look larger, never smaller; it is back in the count as soon as its status or a sample says so.
  const stoppedAt = c.status === 'SuspendedEV' ? c.statusAtMs : undefined;
  if (stoppedAt !== undefined && Number.isFinite(stoppedAt) && t >= stoppedAt && (best < 0 || draws[best] <= stoppedAt)) return;
  // A car whose limit now (a car response included) is below the most it could draw at the
  // reading has come down since: the capacity its hold kept is handed out this cycle, so the
  // estimate may not credit it with that unseen draw either (the bracket closes on the building
  // side, which can only make the EMS more careful). F3: the holds of four cars at a charger's
  // default 32 A expired one cycle before the readings did, the caps were raised on a building
  // level that still credited a 30 A rise to those cars, and L2 reached 75.6 A on a 64 A fuse.
  const nowBound = t < atMs ? boundAt(bounds, draws, atMs, timing.carResponseMs, Math.max(maxA, reservedA)) : bound;
  const reachA = Math.min(bound, Math.max(nowBound, reservedA));
  const highA = Math.max(reachA, reservedA);
  if (best < 0) {
    // No usable sample (a car that just started): nothing is known but the bound.
    out[OUT_HIGH + rot[0]] = highA;
    if (charger.phases === 3) {
      out[OUT_HIGH + rot[1]] = highA;
      out[OUT_HIGH + rot[2]] = highA;
    }
    return;
  }
  const sampleAt = draws[best];
  // Cars that follow at once (carResponseMs 0, an instant model) are always settled.
  const drawnA = Math.max(draws[best + 1], draws[best + 2], draws[best + 3]);
  const idleNear = sampleAt >= t || t - sampleAt <= IDLE_NEAR_MS;
  const lows = mem.lows;
  const settled =
    timing.carResponseMs <= 0 ||
    (settledBetween(bounds, Math.min(t, sampleAt), Math.max(t, sampleAt), timing.carResponseMs, drawnA, idleNear, finiteOr(c.session?.startedAtMs, Number.NEGATIVE_INFINITY)) &&
      // A cut below the sample that may have reached the car between the sample and the reading
      // (one a raise replaced a cycle later leaves no trace in bounds) means it may draw less.
      !(lows && minFrom(lows, Math.min(t, sampleAt) - timing.carResponseMs, Math.max(t, sampleAt)) < drawnA - FOLLOW_TOLERANCE_A));
  const limitThen = bounds.length ? (valueAt(bounds, t) ?? bound) : bound;
  // The lowest limit in force since a car response before the sample: a car cut below its sample
  // and raised again since may still sit at the cut (it ramps back only after a response), and a
  // cut made up to a car response before the sample may reach it only after the sample (a car
  // sampled at 5 A on an old, higher limit drops to 0 when the cut to 0 arrives).
  const lowFrom = Math.min(sampleAt, t) - timing.carResponseMs;
  const lowLimit = Math.min(limitThen, bound, bounds.length ? minFrom(bounds, lowFrom, t) : bound, lows ? minFrom(lows, lowFrom, t) : bound);
  const idle = Math.max(draws[best + 1], draws[best + 2], draws[best + 3]) < IDLE_DRAW_A;
  // F9: while a lower import limit reaches the cars (creditDown), a car cut before the reading and
  // sampled lower after it may still have drawn, at the reading, up to what it was sampled drawing
  // before (within the limit then): its ramp down is in the reading.
  const comingDown = creditDown && !settled && sampleAt > t && before >= 0 && lowLimit + FOLLOW_TOLERANCE_A < Math.max(draws[before + 1], draws[before + 2], draws[before + 3]);
  // For the rise check only (samplesAfterBound): a sample taken at or after the reading, with no
  // lower limit in force from a car response before the reading until the sample (nothing brought
  // the car down in between): the car drew at most that much at the reading (a car on its way up
  // draws more later, never less; one that came down on its own makes the building load look
  // larger, never smaller). Not in every reading's bracket: there it lifted the level of the plant
  // hub at its target (seed 3: 15 -> 12 sessions met), where the check only acts above the target.
  const upTo =
    samplesAfterBound &&
    !settled &&
    sampleAt >= t &&
    !(bounds.length && minFrom(bounds, t - timing.carResponseMs, sampleAt) < bound - FOLLOW_TOLERANCE_A) &&
    !(lows && minFrom(lows, t - timing.carResponseMs, sampleAt) < bound - FOLLOW_TOLERANCE_A);
  for (let p = 0; p < 3; p++) {
    const site = rot[p];
    const sample = draws[best + 1 + p];
    const est = Math.min(sample, bound);
    out[OUT_EST + site] += est;
    if (settled) {
      out[OUT_HIGH + site] += est;
      out[OUT_LOW + site] += est;
      continue;
    }
    const earlier = before >= 0 ? draws[before + 1 + p] : 0;
    // A car above a new, lower limit comes down to it, or a whole amp below (cars that round down).
    const floorA = sample > lowLimit ? Math.max(0, lowLimit - CAR_STEP_A) : lowLimit;
    out[OUT_LOW + site] += Math.min(sample, earlier, floorA);
    // The car draws on the phases its sample shows (a single-phase car on one), up to the bound.
    const on = idle ? p === 0 || charger.phases === 3 : sample > IDLE_DRAW_A;
    const high = upTo ? est : Math.max(on ? reachA : 0, est);
    out[OUT_HIGH + site] += high;
    if (comingDown) out[OUT_DOWN + site] += Math.max(0, Math.min(earlier, bound) - high);
  }
}

/**
 * A connector's estimate memory: `keepable` itself when it holds exactly these values (most
 * connectors on most cycles: no new object per connector per cycle, and last cycle's stays in use
 * instead of being copied by the young-generation GC), else a new one. Every field is set (undefined
 * when absent, which JSON leaves out): one object shape for all. `keepable`: last cycle's memory by
 * index only (an object made here, with every field), never one from a restored record.
 */
function estimateMemory(
  keepable: ConnectorEstimateMemory | undefined,
  bounds: readonly number[],
  draws: readonly number[],
  lows: readonly number[] | undefined,
  sessionId: string | undefined,
  mask: number | undefined,
  idleSinceMs: number | undefined,
  releasedAtMs: number | undefined,
  probeAtMs: number | undefined,
  pilotOff: readonly number[] | undefined = undefined,
): ConnectorEstimateMemory {
  if (
    keepable !== undefined &&
    keepable.bounds === bounds &&
    keepable.draws === draws &&
    keepable.lows === lows &&
    keepable.sessionId === sessionId &&
    keepable.mask === mask &&
    keepable.idleSinceMs === idleSinceMs &&
    keepable.releasedAtMs === releasedAtMs &&
    keepable.probeAtMs === probeAtMs &&
    keepable.pilotOff === pilotOff
  )
    return keepable;
  return { bounds, draws, lows, sessionId, mask, idleSinceMs, releasedAtMs, probeAtMs, pilotOff };
}

/**
 * When the charger's pilot was off this session (see ConnectorEstimateMemory.pilotOff): it said
 * SuspendedEVSE (it offers the car nothing) from a moment, and a status Charging since a later
 * moment ends that span (any status seen between, SuspendedEV or Preparing, has the car drawing
 * nothing either). A charger that applies a raise late keeps the car at 0 A until then, whatever cap
 * the EMS sent: the car explains no rise of a reading taken in that span (F7: a building step was
 * credited to a car whose charger applied its raise 3.4 s late and said Charging only after the
 * step; on the real dispatcher, saved case 2/2598 read up to 96.9 A: 10.4 A·s EMS-caused, 0 now).
 */
function pilotOffSpan(before: ConnectorEstimateMemory | undefined, c: ConnectorSnapshot, sessionId: string | undefined): readonly number[] | undefined {
  const was = before !== undefined && before.sessionId === sessionId ? before.pilotOff : undefined;
  const at = c.statusAtMs;
  if (at === undefined || !Number.isFinite(at)) return was;
  if (c.status === 'SuspendedEVSE') return was !== undefined && was.length === 1 && was[0] === at ? was : [at];
  if (was !== undefined && was.length === 1 && c.status === 'Charging' && at > was[0]) return [was[0], at];
  return was;
}

/** A ConnectorView whose fields are set afresh each cycle (see ViewPool). */
class ViewRecord implements ConnectorView {
  freshDrawA: PhaseValues | undefined = undefined;
  freshAtMs: number | undefined = undefined;
  learnedMask = 0;
  holdA = 0;
  released = false;
  probing = false;
}

/**
 * Last cycle's connector views, for decide() to hand to the next cycle (its scratch): set afresh
 * there, not allocated again. Nothing a decision returns refers to a view.
 */
export type ViewPool = ViewRecord[];

/** `pool[i]` (made when missing) set to these values, or a new view without a pool. */
function connectorView(pool: ViewPool | undefined, i: number, freshDrawA: PhaseValues | undefined, freshAtMs: number | undefined, learnedMask: number, holdA: number, released: boolean, probing: boolean): ConnectorView {
  if (!pool) return { freshDrawA, freshAtMs, learnedMask, holdA, released, probing };
  const view = (pool[i] ??= new ViewRecord());
  view.freshDrawA = freshDrawA;
  view.freshAtMs = freshAtMs;
  view.learnedMask = learnedMask;
  view.holdA = holdA;
  view.released = released;
  view.probing = probing;
  return view;
}

function isValidReading(grid: GridMeasurement | null | undefined): grid is GridMeasurement {
  return (
    !!grid &&
    Number.isFinite(grid.atMs) &&
    Number.isFinite(grid.powerW) &&
    Array.isArray(grid.currentA) &&
    grid.currentA.length >= 3 &&
    [0, 1, 2].every((p) => Number.isFinite(grid.currentA[p]))
  );
}

/**
 * The site view for a snapshot. `memory` is the estimate memory of the previous cycle (undefined on
 * the first), `previousCapA` the caps decided last cycle by connector key (`i`: the connector's
 * index in this snapshot; for idle detection).
 */
export function siteView(
  snapshot: SiteSnapshot,
  params: DecideParams,
  index: SiteIndex,
  memory: EstimateMemory | undefined,
  previousCapA: (key: string, i: number) => number | undefined,
  viewPool?: ViewPool,
): SiteView {
  const atMs = finiteOr(snapshot.atMs, 0);
  const timing = timingOf(params);
  const findings: Finding[] = [];
  const connectors = snapshot.connectors;
  const n = connectors.length;
  const nodeCount = index.nodeIds.length;
  const limits = strictestLimits(snapshot.signals, params.grid);
  // When the import power limit last went down (a car response later the caps have reached the cars).
  // (JSON-safe: -1 W is no limit, -1 ms never.)
  const importLimitNowW = limits.importLimitW ?? -1;
  const lastImport = memory?.importLimit && memory.importLimit.length === 2 && memory.importLimit.every(Number.isFinite) ? memory.importLimit : undefined;
  // (No memory of a limit after a cycle that had one: the first limit arrived now, a drop too.)
  const dropped = importLimitNowW >= 0 && (lastImport ? lastImport[0] < 0 || importLimitNowW < lastImport[0] : memory !== undefined);
  const importDroppedAtMs = dropped ? atMs : lastImport ? lastImport[1] : -1;
  const metered = !!params.grid.metered;
  const canExport = params.grid.canExport ?? true;

  // The reading the estimate is anchored to (validity first; plausibility needs the EV estimate).
  const timeValid = Number.isFinite(snapshot.atMs);
  const raw = snapshot.grid;
  const rawValid = isValidReading(raw);
  const lastGrid = memory?.lastGrid && isValidReading(memory.lastGrid) ? memory.lastGrid : undefined;

  const views: ConnectorView[] = new Array(n);
  const keys: string[] = new Array(n);
  const mems: ConnectorEstimateMemory[] = new Array(n);
  const kept = new Uint8Array(n);
  const indexedAt: (IndexedCharger | undefined)[] = new Array(n);
  const previous = new PreviousMemories<ConnectorEstimateMemory>(memory);
  const evDraw = new Float64Array(nodeCount * 3);
  const evLow = [0, 0, 0];
  // Per site phase, A: what decreases on their way (a car sampled above the limit now in force,
  // within its hold) will still take off the grid reading once they land (see the over-limit check).
  const inFlightA = [0, 0, 0];
  const gated = !!params.grid.meterGate;
  const gateConnectors: GateConnector[] = [];
  let hasSessions = false;

  for (let i = 0; i < n; i++) {
    const c = connectors[i];
    const { key, charger: indexed } = index.connectorAt(i, c.chargerId, c.connectorId);
    const before = previous.at(i, key);
    const session = c.session ?? null;
    const sessionId = session?.id;
    const draws = withSample(before?.draws ?? EMPTY, c);
    const bounds = before?.bounds ?? EMPTY;
    const lows = before?.lows || undefined;
    // The memory's other fields, set below (see estimateMemory).
    let memMask: number | undefined;
    let memIdleSinceMs: number | undefined;
    let memReleasedAtMs: number | undefined;
    let memProbeAtMs: number | undefined;
    const keepable = before !== undefined && previous.byIndexAt(i, key) ? before : undefined;
    const sameSession = before !== undefined && before.sessionId === sessionId && sessionId !== undefined;
    keys[i] = key;
    indexedAt[i] = indexed;

    if (!indexed) {
      views[i] = connectorView(viewPool, i, undefined, undefined, 0, 0, false, false);
      mems[i] = estimateMemory(keepable, bounds, draws, lows, sessionId, undefined, undefined, undefined, undefined);
      if (mems[i] === before) kept[i] = 1;
      continue;
    }
    const charger = indexed.params;
    const maxA = nonNegative(charger.maxCurrentA);
    const fallbackA = Math.max(maxA, nonNegative(c.reservedA));

    // Latest sample, if fresh.
    const last = draws.length >= 4 ? draws.length - 4 : -1;
    const lastAt = last >= 0 ? draws[last] : undefined;
    const fresh = lastAt !== undefined && c.drawAtMs === lastAt && atMs - lastAt <= timing.drawStaleMs;
    const freshDrawA: PhaseValues | undefined = fresh ? [draws[last + 1], draws[last + 2], draws[last + 3]] : undefined;
    const freshMaxA = freshDrawA ? Math.max(freshDrawA[0], freshDrawA[1], freshDrawA[2]) : undefined;

    // Phases the car really uses, learned from per-phase samples and kept for the session.
    let learnedMask = sameSession ? (before.mask ?? 0) : 0;
    if (session && freshDrawA) {
      const single = detectSinglePhase(freshDrawA);
      const rotation = rotationOf(charger.phaseRotation);
      if (single !== undefined) learnedMask = 1 << rotation[single];
      else if (charger.phases === 3 && freshDrawA[0] > IDLE_DRAW_A && freshDrawA[1] > IDLE_DRAW_A && freshDrawA[2] > IDLE_DRAW_A) learnedMask = ALL_PHASES_MASK;
    }
    if (learnedMask) memMask = learnedMask;

    // What the car may draw now (recorded limits only: before any record nothing is known to be in flight).
    const boundNow = boundAt(bounds, draws, atMs, timing.carResponseMs, 0);
    const latestLimitA = bounds.length ? bounds[bounds.length - 1] : fallbackA;
    // For the plausibility check: the least the cars draw by their latest samples.
    const capNow = bounds.length ? Math.min(latestLimitA, maxA) : maxA;
    // A line-to-line charger's current counts on both its lines, at its part in phase with each (phase-map.ts).
    const pair = lineToLinePair(charger);
    if (freshDrawA) {
      const a = Math.min(freshDrawA[0], capNow);
      const b = Math.min(freshDrawA[1], capNow);
      const c3 = Math.min(freshDrawA[2], capNow);
      if (pair) addLineToLine(evLow, pair, a, b, c3);
      else addOnSite(evLow, rotationOf(charger.phaseRotation), a, b, c3);
    }
    if (gated) {
      const hasCar = !!session || !(c.status === 'Available' || c.status === 'Offline' || c.status === 'Unavailable' || c.status === 'Faulted');
      if (draws.length || hasCar) gateConnectors.push({ draws, rot: rotationOf(charger.phaseRotation), capA: capNow, maxA, hasCar, ...(pair ? { lines: pair } : {}) });
    }
    if (session) hasSessions = true;

    // Capacity held whatever is decided now: a decrease that has not reached the car yet, and the
    // draw of a charger that draws above its cap (up to its max).
    let holdA = 0;
    // The most the car may draw until a decrease made now or lately reaches it (none when the
    // caller says cars follow at once, carResponseMs 0).
    // A connector with no car (no session, Available) has nothing to slow down.
    const noCar = !session && (c.status === 'Available' || c.status === 'Unavailable' || c.status === 'Faulted' || c.status === 'Offline');
    holdA = timing.carResponseMs > 0 && !noCar ? boundNow : 0;
    if (holdA > latestLimitA && last >= 0 && lastAt! >= atMs - timing.drawStaleMs) {
      const a = Math.min(draws[last + 1], holdA);
      const b = Math.min(draws[last + 2], holdA);
      const c3 = Math.min(draws[last + 3], holdA);
      if (pair) addLineToLine(inFlightA, pair, a, b, c3, latestLimitA);
      else addOnSite(inFlightA, rotationOf(charger.phaseRotation), a, b, c3, latestLimitA);
    }
    // A car that says it takes nothing (SuspendedEV) has nothing to slow down: it holds only the
    // limit the charger has in force now (the old one until the charger confirms a lower one).
    if (c.status === 'SuspendedEV' && c.statusAtMs !== undefined && c.statusAtMs <= atMs && bounds.length) holdA = Math.min(holdA, latestLimitA);
    // Judged against the limits in force when the sample was taken (a car response included).
    // A draw above the limit in force when it was sampled is counted (up to the charger's max) as
    // long as it is fresh. It is reported as a fault only above every limit in force during the car
    // response before the sample: a sample at or below the newest limit proves nothing to a report
    // (a car at 0 A just after it plugged in, or one still following an older, lower pilot its
    // charger applied late, rises again to a higher limit still on its way: the demo's CP002).
    // (Only a fresh sample is judged: the bound then is worked out for those alone.)
    if (freshMaxA !== undefined && lastAt !== undefined && overLimit(freshMaxA, boundAt(bounds, draws, lastAt, timing.carResponseMs, 0)) && bounds.length && bounds[0] <= lastAt - timing.carResponseMs) {
      holdA = Math.max(holdA, Math.min(freshMaxA, maxA));
      const boundSeen = boundAt(bounds, NO_DRAWS, lastAt, timing.carResponseMs, 0);
      if (overLimit(freshMaxA, boundSeen)) {
        findings.push({
          key: `over-cap:${key}`,
          text: `charger ${c.chargerId} connector ${c.connectorId} reports ${formatA(freshMaxA)}, above its ${formatA(boundSeen)} limit: it over-reports or ignores its cap; counted at ${formatA(Math.min(freshMaxA, maxA))}`,
        });
      }
    }

    // A full or suspended car gives its share away, and is offered its minimum now and then.
    let released = false;
    let probing = false;
    if (session && !session.paused) {
      const offeredA = previousCapA(key, i) ?? 0;
      const suspended = c.status === 'SuspendedEV';
      const offered = offeredA >= nonNegative(charger.minCurrentA);
      // The offer reached this car: it was made (or the car plugged in under it) carResponseMs before the sample.
      // (Whether the sample came after the offer is worked out only for a fresh sample near 0 A.)
      const idleNow =
        suspended ||
        (offered &&
          freshMaxA !== undefined &&
          freshMaxA < IDLE_DRAW_A &&
          lastAt !== undefined &&
          bounds.length > 0 &&
          lastAt >= Math.max(lastRaiseAt(bounds, charger.minCurrentA), finiteOr(session.startedAtMs, -Infinity)) + timing.carResponseMs);
      const drawingNow = freshMaxA !== undefined && freshMaxA >= IDLE_DRAW_A && !suspended;
      let idleSince = sameSession ? before.idleSinceMs : undefined;
      let releasedAt = sameSession ? before.releasedAtMs : undefined;
      let probeAt = sameSession ? before.probeAtMs : undefined;
      if (drawingNow) {
        idleSince = undefined;
        releasedAt = undefined;
        probeAt = undefined;
      } else if (idleNow) {
        // From the first sample that shows it idle (or now, when its status says so): one old sample
        // of 0 A is not 20 s of idling while the car, unseen since, charges.
        idleSince ??= suspended || lastAt === undefined ? atMs : lastAt;
      } else if (!offered) {
        // Offered less than its minimum (held by the plan, the limits or a pause), a car cannot show
        // that it is full: the idle time so far does not count.
        idleSince = undefined;
      }
      // A car that says it takes nothing while offered its minimum (SuspendedEV: full or done) gives
      // its share away at once; one that only draws ≈ 0 does so after idleReleaseMs.
      const byStatus = suspended && offered;
      const releaseAfterMs = byStatus ? 0 : timing.idleReleaseMs;
      // Drawing ≈ 0 lasts as long as the samples show it (to the latest one), not until now: a
      // charger that reports every 10-60 s may have a car charging since its last 0 A sample (the
      // closed-loop property: a car released at 17.8 A on a 20 s old sample taken before it started).
      const idleForMs = idleSince === undefined ? Number.NEGATIVE_INFINITY : byStatus || lastAt === undefined ? atMs - idleSince : lastAt - idleSince;
      if (releasedAt === undefined && idleForMs >= releaseAfterMs) releasedAt = atMs;
      if (releasedAt !== undefined) {
        released = true;
        const lastProbe = probeAt ?? releasedAt;
        if (probeAt !== undefined && atMs - probeAt < timing.probeForMs) probing = true;
        else if (atMs - lastProbe >= timing.probeEveryMs) {
          probeAt = atMs;
          probing = true;
        }
      }
      if (idleSince !== undefined) memIdleSinceMs = idleSince;
      if (releasedAt !== undefined && released) memReleasedAtMs = releasedAt;
      if (probeAt !== undefined && released) memProbeAtMs = probeAt;
    }

    mems[i] = estimateMemory(keepable, bounds, draws, lows, sessionId, memMask, memIdleSinceMs, memReleasedAtMs, memProbeAtMs, pilotOffSpan(before, c, sessionId));
    if (mems[i] === before) kept[i] = 1;
    views[i] = connectorView(viewPool, i, freshDrawA, fresh ? lastAt : undefined, learnedMask, holdA, released, probing);
  }

  // Which grid reading to trust.
  let mode: LoadMode = metered ? 'measured' : 'unmetered';
  let failsafeWhy = '';
  let grid: GridMeasurement | null = null;
  let nextLastGrid = lastGrid;
  let meterGate = memory?.meterGate;
  let standIn = true;
  if (metered) {
    let candidate: GridMeasurement | undefined;
    if (!timeValid) failsafeWhy = 'no valid time for the grid reading';
    else if (!raw) failsafeWhy = 'no grid meter reading';
    else if (!rawValid) failsafeWhy = 'grid meter reading is not a number';
    else {
      const verdict = judgeMeter(
        { gated, atMs, reading: raw, fuseA: params.grid.maxCurrentA, voltageV: finiteOr(params.voltageV, 0), canExport, evLowA: evLow, drawStaleMs: timing.drawStaleMs, connectors: gateConnectors, hasSessions },
        memory?.meterGate,
      );
      meterGate = verdict.memory;
      if (!verdict.trusted) {
        findings.push({ key: verdict.key, text: `${verdict.why}; reading ignored` });
        failsafeWhy = `grid meter reading implausible (${verdict.why})`;
        standIn = verdict.standIn;
      } else {
        candidate = raw;
        nextLastGrid = raw;
      }
    }
    if (!candidate && standIn && timeValid && lastGrid && rawValid && lastGrid.atMs <= raw.atMs) candidate = lastGrid;
    if (candidate) {
      const ageMs = atMs - candidate.atMs;
      if (ageMs <= timing.staleAfterMs) {
        grid = candidate;
        failsafeWhy = '';
      } else if (!failsafeWhy) failsafeWhy = Number.isNaN(ageMs) ? 'no valid time for the grid reading' : `grid meter stale for ${formatSeconds(ageMs)}`;
    }
    if (!grid) mode = 'failsafe';
  }

  // Each car's draw at the grid reading's time: a point estimate and the bracket it lies in.
  const anchorAtMs = grid ? grid.atMs : atMs;
  const loEv = [0, 0, 0];
  const hiEv = [0, 0, 0];
  // How much the cars' draw may have risen since the reading the last level was taken from.
  // A level taken before the meter was confirmed anchors nothing: a meter whose registers read
  // 0/0/0 until filled would otherwise hand the building's first real reading to the cars starting
  // at that moment as their ramp (F3, session 6 CI: 75.6 A on a 64 A fuse). The first confirmed
  // reading starts the level afresh at the reading less the least the cars draw.
  // Without the gate, a reading of exactly 0 on every phase and in power (no real building reads
  // that) anchors nothing either: the next reading's rise is building load until the cars show it.
  const lastLevelGrid = memory?.levelGrid && memory.levelGrid.length === 5 && Number.isFinite(memory.levelGrid[0]) ? memory.levelGrid : undefined;
  const unfilled = lastLevelGrid !== undefined && lastLevelGrid[1] === 0 && lastLevelGrid[2] === 0 && lastLevelGrid[3] === 0 && lastLevelGrid[4] === 0;
  const anchored = (!gated || memory?.meterGate?.confirmed === true) && !unfilled;
  const prevGrid = anchored ? lastLevelGrid : undefined;
  const sinceMs = grid && prevGrid && grid.atMs > prevGrid[0] ? grid.atMs - prevGrid[0] : Number.POSITIVE_INFINITY;
  const riseCapA = (CAR_RAMP_APS * sinceMs) / 1000 + CAR_STEP_A;
  const riseSlowCapA = (CAR_MIN_RAMP_APS * sinceMs) / 1000 + CAR_STEP_A;
  const riseEv = [0, 0, 0];
  const riseEvSlow = [0, 0, 0];
  // Only while a lower import limit reaches the cars (F9): credited at every reading, the ramp down of
  // cars cut for other reasons cost the plant hub 3 met sessions of 122 (session 14, both forms tried).
  const creditDown = grid !== null && grid !== undefined && importDroppedAtMs >= 0 && grid.atMs - importDroppedAtMs < timing.carResponseMs;
  const out = new Float64Array(OUT_LENGTH);
  // A key seen twice: every index reads the memory the key ended with, as a lookup by key would.
  const duplicateKeys = previous.hasDuplicates(keys);
  if (duplicateKeys) {
    // (Each index's own object first: recordLimits changes the one a key ends with once per index.)
    for (let i = 0; i < n; i++) if (kept[i]) mems[i] = { ...mems[i] };
    kept.fill(0);
    const last = new Map<string, ConnectorEstimateMemory>();
    for (let i = 0; i < n; i++) last.set(keys[i], mems[i]);
    for (let i = 0; i < n; i++) mems[i] = last.get(keys[i])!;
  }
  for (let i = 0; i < n; i++) {
    const c = connectors[i];
    const indexed = indexedAt[i];
    if (!indexed) continue;
    if (!c.session && (c.status === 'Available' || c.status === 'Offline' || c.status === 'Unavailable' || c.status === 'Faulted')) continue; // no car
    const mem = mems[i];
    drawAt(mem, c, indexed.params, anchorAtMs, atMs, timing, out, false, creditDown);
    const pair = lineToLinePair(indexed.params);
    if (pair) {
      foldLineToLine(out, OUT_EST, pair);
      foldLineToLine(out, OUT_HIGH, pair);
      foldLineToLine(out, OUT_LOW, pair);
      foldLineToLine(out, OUT_DOWN, pair);
    }
    const path = index.paths[indexed.node];
    const est0 = out[OUT_EST];
    const est1 = out[OUT_EST + 1];
    const est2 = out[OUT_EST + 2];
    // (Nothing to add for a car with no usable sample, most of them on most cycles: 0 adds nothing.)
    if (est0 !== 0 || est1 !== 0 || est2 !== 0) for (let k = 0; k < path.length; k++) {
      const at = path[k] * 3;
      evDraw[at] += est0;
      evDraw[at + 1] += est1;
      evDraw[at + 2] += est2;
    }
    // A charger that says it offers the car nothing (SuspendedEVSE: its pilot is off) has a car that
    // can only come down from then on, never ramp up: it explains no rise of the reading after that
    // moment, only what it could ramp before it (F7: a building step next to four cars waiting at
    // 0 A was credited to their possible ramp under the idle default, and their caps were set for
    // the old building; the rig's grid reached 80.8 A on its 64 A fuse). And a car whose pilot was
    // off from before the last level's reading until a moment since could ramp only from a car start
    // after that moment to this reading. rampMs: how long it could have ramped since that reading.
    let rampMs = sinceMs;
    if (prevGrid !== undefined && c.status === 'SuspendedEVSE' && c.statusAtMs !== undefined && Number.isFinite(c.statusAtMs)) rampMs = c.statusAtMs - prevGrid[0];
    const off = mem.pilotOff;
    if (prevGrid !== undefined && grid && off !== undefined && off.length === 2 && off[0] <= prevGrid[0] && off[1] > prevGrid[0]) rampMs = Math.min(rampMs, grid.atMs - off[1] - CAR_START_MS);
    const carRiseCapA = rampMs >= sinceMs ? riseCapA : rampMs <= 0 ? 0 : (CAR_RAMP_APS * rampMs) / 1000 + CAR_STEP_A;
    const carRiseSlowCapA = rampMs >= sinceMs ? riseSlowCapA : rampMs <= 0 ? 0 : (CAR_MIN_RAMP_APS * rampMs) / 1000 + CAR_STEP_A;
    for (let p = 0; p < 3; p++) {
      // (OUT_DOWN: against the floor of the building level only, never as a rise the cars could have made.)
      loEv[p] += out[OUT_HIGH + p] + out[OUT_DOWN + p];
      hiEv[p] += out[OUT_LOW + p];
      const width = out[OUT_HIGH + p] - out[OUT_LOW + p];
      if (width > 0) {
        riseEv[p] += Math.min(width, carRiseCapA);
        riseEvSlow[p] += Math.min(width, carRiseSlowCapA);
      }
    }
  }

  const building = new Float64Array(nodeCount * 3);
  let buildingPowerW = 0;
  let nextBuilding: number[] = [];
  let nextLevel: number[] | undefined;
  let overSince: number[] | undefined;
  let nextLevelGrid: number[] | undefined;
  // The first reading of the last RISE_WINDOW_MS whose rise the cars could have made at their
  // fastest but not at their slowest (credited to them): once their samples after it show how
  // little they rose, the rest of it is building load.
  // [5..8]: the part of the rises since (L1, L2, L3, W) that the cars could not have made at their
  // slowest: building load after all if the meter then reads above what the EMS aims for.
  const riseAtMs0 = memory?.riseGrid && memory.riseGrid.length === 9 && memory.riseGrid.every(Number.isFinite) ? memory.riseGrid[0] : undefined;
  let riseGrid = riseAtMs0 !== undefined && grid && grid.atMs >= riseAtMs0 && grid.atMs - riseAtMs0 <= RISE_WINDOW_MS ? memory!.riseGrid!.slice() : undefined;
  const voltageV = finiteOr(params.voltageV, 0);
  if (mode !== 'failsafe') {
    submeterLoads(snapshot, index, evDraw, building);
    if (mode === 'measured' && grid) {
      // The building load lies between the reading less the most the cars could draw (lo) and
      // the reading less the least they plausibly draw (hi). Inside that bracket the last level
      // stands: a car ramping or slowing between two of its samples moves neither. A level forced
      // up by lo rises at once; one forced down by hi falls once the hold window has passed.
      const prev = anchored ? memory?.level : undefined;
      const level: number[] = [0, 0, 0, 0];
      const rose = [false, false, false, false];
      let ambiguousRise = false;
      let dangerRise = false;
      const slowExcess = [0, 0, 0, 0];
      const dangerExcess = [0, 0, 0, 0];
      const keepFactor = 1 - Math.min(0.5, nonNegative(params.grid.safetyMargin));
      const rootTargetA = index.nodeLimitA[0] * keepFactor;
      const importTargetW = limits.importLimitW === undefined ? undefined : limits.importLimitW * keepFactor;
      for (let p = 0; p < 4; p++) {
        const lo = p < 3 ? grid.currentA[p] - loEv[p] : grid.powerW - (loEv[0] + loEv[1] + loEv[2]) * voltageV;
        const hi = p < 3 ? grid.currentA[p] - hiEv[p] : grid.powerW - (hiEv[0] + hiEv[1] + hiEv[2]) * voltageV;
        const before = prev && prev.length === 4 && Number.isFinite(prev[p]) ? prev[p] : hi;
        // The reading rose by more than the cars could have added since the last one: a building
        // step, and all of the rise counts as building load at once (the cars' share of it is unknown;
        // crediting them with all they could have ramped left a step corrected a car response late).
        let rise = 0;
        if (prevGrid && prev && prev.length === 4) {
          const grew = p < 3 ? grid.currentA[p] - prevGrid[1 + p] : grid.powerW - prevGrid[4];
          const couldRamp = p < 3 ? riseEv[p] : (riseEv[0] + riseEv[1] + riseEv[2]) * voltageV;
          const readA = p < 3 ? grid.currentA[p] : grid.powerW;
          const target = p < 3 ? rootTargetA : importTargetW;
          // Above what the EMS aims for (the caps were set to fit under it with the last level), no
          // ramp credit: the whole rise is building load. At worst the cars' true ramp in this one
          // interval is counted twice, never a building step taken for cars.
          // Not on the import power while a lower limit is reaching the cars (they were capped under
          // the old one and may still ramp towards it: F9, cars back on their way up when a tighter
          // limit arrived were taken for a 4.8 A building rise and three of four were paused).
          const settling = p === 3 && grid.atMs - importDroppedAtMs < timing.carResponseMs;
          const danger = target !== undefined && readA > target && !settling;
          rise = grew > couldRamp || danger ? grew : 0;
          // A rise the cars could have made at their fastest but not at their slowest is counted as
          // building load until their samples show it: ask for them now (src/ocpp/samples-wanted.ts).
          const couldRampSlow = p < 3 ? riseEvSlow[p] : (riseEvSlow[0] + riseEvSlow[1] + riseEvSlow[2]) * voltageV;
          if (!danger && grew <= couldRamp && grew > couldRampSlow) {
            ambiguousRise = true;
            slowExcess[p] = grew - couldRampSlow;
          }
          if (danger && riseGrid !== undefined) {
            dangerExcess[p] = riseGrid[5 + p];
            riseGrid[5 + p] = 0;
          }
          // A rise into or above the target: the rises before it were credited to the cars, each
          // within what they could ramp; their samples after this reading show what they drew.
          if (danger && grew > 0) dangerRise = true;
        }
        rose[p] = rise > 0;
        level[p] = Math.max(0, lo, Math.min(before + Math.max(0, rise), hi));
        if (dangerExcess[p] > 0) level[p] = Math.max(level[p], Math.min(level[p] + dangerExcess[p], hi));
      }
      // A building load draws at least its power over the voltage in current (a power factor is at
      // most 1; up to 10 % more voltage than nominal is allowed for): when the power's rise counts as
      // building load and no phase's does, and the power's level then says more than the currents'
      // levels add up to, the currents' rise was credited to the cars a reading before (a meter whose
      // power and current registers change a reading apart), and the currents' levels rise by the
      // difference, shared over the phases. F7 on the rig: the power level was 32.2 A per phase and
      // the currents' 10 A; caps of 12.7 A per car followed.
      if (voltageV > 0 && rose[3] && !rose[0] && !rose[1] && !rose[2]) {
        const impliedA = level[3] / (voltageV * 1.1);
        const sumA = level[0] + level[1] + level[2];
        if (impliedA > sumA) for (let p = 0; p < 3; p++) level[p] += (impliedA - sumA) / 3;
      }
      // The meter keeps reading above a limit longer than a car takes to follow a cut: the cars did
      // not slow down as the estimate expected, so whatever the bracket says, the building load is
      // raised by the measured excess over what the EMS aims for (the caps fall by as much), again
      // after every car response while it lasts.
      const marginFactor = 1 - Math.min(0.5, nonNegative(params.grid.safetyMargin));
      let limitA = index.nodeLimitA[0];
      if (nodeCount > 1 && index.nodeLimitA[1] < limitA) limitA = index.nodeLimitA[1];
      const wasOver = memory?.overSinceMs;
      overSince = [Number.NaN, Number.NaN, Number.NaN, Number.NaN];
      for (let p = 0; p < 4; p++) {
        const readA = p < 3 ? grid.currentA[p] : grid.powerW;
        const limit = p < 3 ? limitA : limits.importLimitW;
        if (limit === undefined || !(readA > limit)) continue;
        const since = wasOver && wasOver.length === 4 && Number.isFinite(wasOver[p]) && wasOver[p] <= grid.atMs ? wasOver[p] : grid.atMs;
        overSince[p] = since;
        if (grid.atMs <= since || grid.atMs - since < timing.carResponseMs) continue;
        // The excess is explained by decreases still on their way (the cars' samples above their new
        // limits, within their holds): the reading falls under the limit once they land; act only
        // when it would not (F9: a tight limit paused a car that fits while the others came down).
        const inFlight = p < 3 ? inFlightA[p] : (inFlightA[0] + inFlightA[1] + inFlightA[2]) * voltageV;
        if (inFlight > 0 && readA - inFlight <= limit) continue;
        level[p] += readA - limit * marginFactor;
        overSince[p] = grid.atMs;
      }
      if (dangerRise && !ambiguousRise && riseGrid === undefined) riseGrid = [grid.atMs, grid.currentA[0], grid.currentA[1], grid.currentA[2], grid.powerW, 0, 0, 0, 0];
      else if (ambiguousRise && riseGrid === undefined) riseGrid = [grid.atMs, grid.currentA[0], grid.currentA[1], grid.currentA[2], grid.powerW, ...slowExcess];
      else if (ambiguousRise && riseGrid !== undefined) for (let p = 0; p < 4; p++) riseGrid[5 + p] += slowExcess[p];
      // While the meter reads above the target: that reading less the most the cars drew then, as
      // their samples since show it, is the building load then, at least (and now, unless the
      // reading now says less). Not below the target: a car sampled lower than it drew (it came
      // down on its own) would hold the others down, and cars were paused at start-up and under a
      // lower limit (test/optimizer/pause-after-start, pause-lower-limit).
      if (riseGrid !== undefined) {
        const then = riseGrid[0];
        const highThen = [0, 0, 0];
        const drawThen = new Float64Array(OUT_LENGTH);
        for (let i = 0; i < n; i++) {
          const c = connectors[i];
          const indexed = indexedAt[i];
          if (!indexed) continue;
          if (!c.session && (c.status === 'Available' || c.status === 'Offline' || c.status === 'Unavailable' || c.status === 'Faulted')) continue;
          drawAt(mems[i], c, indexed.params, then, atMs, timing, drawThen, true);
          for (let p = 0; p < 3; p++) highThen[p] += drawThen[OUT_HIGH + p];
        }
        for (let p = 0; p < 4; p++) {
          const loThen = p < 3 ? riseGrid[1 + p] - highThen[p] : riseGrid[4] - (highThen[0] + highThen[1] + highThen[2]) * voltageV;
          const hi = p < 3 ? grid.currentA[p] - hiEv[p] : grid.powerW - (hiEv[0] + hiEv[1] + hiEv[2]) * voltageV;
          const readNow = p < 3 ? grid.currentA[p] : grid.powerW;
          const targetNow = p < 3 ? rootTargetA : importTargetW;
          if (targetNow === undefined || !(readNow > targetNow)) continue;
          if (Math.min(loThen, hi) > level[p]) level[p] = Math.min(loThen, hi);
        }
      }
      nextLevel = level;
      nextLevelGrid = [grid.atMs, grid.currentA[0], grid.currentA[1], grid.currentA[2], grid.powerW];
      const kept = memory?.building ?? EMPTY;
      const out: number[] = [];
      for (let i = 0; i < kept.length; i += 5) {
        if (kept[i] >= atMs - timing.buildingHoldMs && kept[i] < grid.atMs) out.push(kept[i], kept[i + 1], kept[i + 2], kept[i + 3], kept[i + 4]);
      }
      out.push(grid.atMs, level[0], level[1], level[2], level[3]);
      nextBuilding = out;
      const est = [0, 0, 0];
      let estW = 0;
      for (let i = 0; i < out.length; i += 5) {
        for (let p = 0; p < 3; p++) if (out[i + 1 + p] > est[p]) est[p] = out[i + 1 + p];
        if (out[i + 4] > estW) estW = out[i + 4];
      }
      for (let p = 0; p < 3; p++) {
        const root = Math.max(est[p], building[3 + p]);
        building[3 + p] = root;
        building[p] = root;
      }
      buildingPowerW = estW;
    } else {
      for (let p = 0; p < 3; p++) building[p] = building[3 + p];
    }
  }

  // (Fields set one by one in this order, not spread from small objects: the same keys, cheaper.)
  const nextFields: Partial<Omit<EstimateMemory, 'connectors'>> & { building?: number[] } = {};
  if (importLimitNowW >= 0 || lastImport) nextFields.importLimit = [importLimitNowW, importDroppedAtMs];
  nextFields.building = nextBuilding;
  if (nextLevel) nextFields.level = nextLevel;
  if (nextLevelGrid) nextFields.levelGrid = nextLevelGrid;
  if (nextLastGrid) nextFields.lastGrid = nextLastGrid;
  if (overSince && overSince.some(Number.isFinite)) nextFields.overSinceMs = overSince;
  if (riseGrid !== undefined) nextFields.riseGrid = riseGrid as number[];
  if (meterGate) nextFields.meterGate = meterGate;
  const next = withMemories(nextFields as Omit<SiteView['next'], 'connectors'>, keys, mems, duplicateKeys);
  return {
    atMs,
    mode,
    failsafeWhy,
    grid,
    connectors: views,
    keys,
    buildingA: building,
    buildingPowerW,
    evA: [evDraw[0], evDraw[1], evDraw[2]],
    ...limits,
    findings,
    next,
    memories: mems,
    duplicateKeys,
    kept,
  };
}

/** When the limit last rose to at least `minA` from below (or the first record), ms. */
function lastRaiseAt(bounds: readonly number[], minA: number): number {
  let at = bounds[0];
  for (let i = 2; i < bounds.length; i += 2) {
    if (bounds[i + 1] >= minA && bounds[i - 1] < minA) at = bounds[i];
  }
  return at;
}

/** Submeters: what they measure minus the EV draw under them; a node carries at least its children. */
function submeterLoads(snapshot: SiteSnapshot, index: SiteIndex, evDraw: Float64Array, building: Float64Array): void {
  const nodeCount = index.nodeIds.length;
  const loads = snapshot.circuitLoads ?? [];
  if (loads.length) {
    const byId = new Map<string, number>();
    index.nodeIds.forEach((id, node) => {
      if (node > 0 && !byId.has(id)) byId.set(id, node);
    });
    for (const load of loads) {
      const node = byId.get(load.circuitId);
      if (node === undefined || !load.currentA) continue;
      for (let p = 0; p < 3; p++) {
        const measured = finiteOr(load.currentA[p], Number.NaN);
        if (Number.isNaN(measured)) continue;
        building[node * 3 + p] = Math.max(building[node * 3 + p], measured - evDraw[node * 3 + p], 0);
      }
    }
  }
  const childSums = new Float64Array(nodeCount * 3);
  for (let node = nodeCount - 1; node >= 1; node--) {
    const parent = index.parent[node];
    for (let p = 0; p < 3; p++) {
      const c = node * 3 + p;
      building[c] = Math.max(building[c], childSums[c]);
      if (parent >= 1) childSums[parent * 3 + p] += building[c];
    }
  }
}

/**
 * The limit a connector with no transaction records: no car draws there, so what it may hold
 * (an unanswered setup reserved at the charger's max, and the default the allocator gives it out
 * of that reservation, which cannot reach the charger before the setup is answered) is counted
 * while it lasts (the snapshot's reservedA) but is no limit a car was under: a car that starts
 * after the charger confirmed its default is held to what the charger confirmed, not to the
 * charger's max for a car response. Session 9 measured three new cars on a 40 A row held at 0 A
 * for ~5.5 s after a power-up this way (`test/acceptance/new-cars-start.test.ts`).
 */
function idleLimitA(c: ConnectorSnapshot, decidedA: number): number {
  const confirmedA = nonNegative(c.installedCapA);
  return c.reservedA !== undefined && c.reservedA > 0 ? confirmedA : Math.max(decidedA, confirmedA);
}

/**
 * After the caps are decided: records for each connector the most it may draw from now on (the
 * cap, the charger's confirmed cap, any reservation), so the next cycles know what was in force.
 * History older than the window any later reading can need is dropped.
 */
export function recordLimits(
  view: SiteView,
  snapshot: SiteSnapshot,
  index: SiteIndex,
  capA: (i: number) => number,
  params: DecideParams,
): EstimateMemory {
  const timing = timingOf(params);
  const keepFromMs = view.atMs - timing.carResponseMs - Math.max(timing.staleAfterMs, timing.drawStaleMs);
  const memories = view.memories as ConnectorEstimateMemory[];
  for (let i = 0; i < snapshot.connectors.length; i++) {
    const c = snapshot.connectors[i];
    let mem = memories[i];
    if (!mem) continue;
    const decidedA = capA(i);
    const lows = mem.lows;
    const lowsLen = lows ? lows.length : 0;
    let nextLows = lows;
    if (!lows || lows[lowsLen - 1] !== decidedA || (lowsLen >= 4 && lows[2] <= keepFromMs)) {
      let from = 0;
      if (lows) while (from + 2 < lowsLen && lows[from + 2] <= keepFromMs) from += 2;
      const kept = lows ? lows.slice(from) : [];
      if (kept.length < 2 || kept[kept.length - 1] !== decidedA) kept.push(view.atMs, decidedA);
      nextLows = kept;
    }
    const limitA = c.session ? Math.max(decidedA, nonNegative(c.installedCapA), nonNegative(c.reservedA)) : idleLimitA(c, decidedA);
    const bounds = mem.bounds;
    const len = bounds.length;
    let nextBounds = bounds;
    if (!(len >= 2 && bounds[len - 1] === limitA && (len < 4 || bounds[2] > keepFromMs))) {
      // Drop records that ended before keepFromMs (keep the one in force then).
      let start = 0;
      while (start + 2 < len && bounds[start + 2] <= keepFromMs) start += 2;
      const out = bounds.slice(start);
      if (out.length < 2 || out[out.length - 1] !== limitA) out.push(view.atMs, limitA);
      nextBounds = out;
    }
    if (nextLows === lows && nextBounds === bounds) continue;
    if (view.kept[i]) {
      // Last cycle's object: this cycle's memory is a new one (the next memory reads memories by
      // index, and its record by key is built from them when first read, after this).
      mem = { ...mem };
      memories[i] = mem;
      view.kept[i] = 0;
    }
    mem.lows = nextLows;
    (mem as { bounds: readonly number[] }).bounds = nextBounds;
  }
  return view.next;
}

/** The figures other parts of the system read (API, storage control, history). */
export function siteSummary(view: SiteView, params: DecideParams): SiteSummary {
  const voltageV = finiteOr(params.voltageV, 0);
  const summary: SiteSummary = {
    atMs: view.atMs,
    buildingPowerW: view.buildingPowerW,
    evPowerW: (view.evA[0] + view.evA[1] + view.evA[2]) * voltageV,
    evA: [view.evA[0], view.evA[1], view.evA[2]],
    gridTrusted: view.grid !== null,
  };
  if (view.importLimitW !== undefined) summary.importLimitW = view.importLimitW;
  if (view.exportLimitW !== undefined) summary.exportLimitW = view.exportLimitW;
  if (view.grid) summary.gridAgeMs = view.atMs - view.grid.atMs;
  return summary;
}
