// Per-charger cut latency, learnt from the charger's own samples: the time from a decrease being
// decided to the car's measured draw following it (the dispatch, the charger's answer and apply
// delay, and the car's response together). control.carResponseS is one figure for the whole site;
// a charger that applies a profile seconds late (plant.md: "usually at once, some at the next
// control step, up to a few seconds") with a car that takes its full 5 s is slower than that, and
// once carResponseMs has passed the estimator takes its car as slowed down while it still draws
// the old cap: the grid reading less the new cap is then counted as building load, which holds
// every car lower until fresh samples undo it (step-while-cars-ramp: 53-63 % use).
//
// Samples come every 10-900 s, so one cut rarely shows its latency. What a sample does show:
// - still above the new cap `d` ms after the decrease: this charger's cuts can take longer than d;
// - at or below it `d` ms after: this cut took at most d.
// The learnt figure is the longest "still above" of the last few cuts; the control step keeps the
// old cap reserved for that long (cut-latency reservations), so the estimator does not count the
// car as slowed down before a car of this charger has been seen to slow down. A sample that shows
// the car followed only ends the watch on that cut: nothing learns a charger faster than
// carResponseMs (freed capacity is never handed on sooner than that). Pure, bounded: a few numbers
// per charger.
import { finiteOr, nonNegative } from './numbers.ts';
import type { ConnectorSnapshot } from './types.ts';

/** A sample within this of the new cap has followed it, A (cars round down to whole amps). */
const FOLLOWED_TOLERANCE_A = 0.5;
/** A sample this far above the new cap has not followed it yet, A. */
const NOT_YET_MARGIN_A = 1;
/** A decrease smaller than this is not watched (a car's own wobble could fake it), A. */
const MIN_WATCHED_CUT_A = 2;
/** Observations kept per charger and kind. */
const MAX_OBSERVATIONS = 4;
/**
 * Nothing is learnt beyond this, ms: IEC 61851-1 gives the car 5 s, chargers apply within a few
 * seconds; a car still above its cap later than this ignores it (the estimator's over-cap check
 * handles that), it is not slow.
 */
export const MAX_CUT_LATENCY_MS = 15_000;
/** Added to a learnt "slower than" figure: the next cut may be a little slower still, ms. */
const SLOW_MARGIN_MS = 1_000;

/** A decrease on its way to one connector's car. */
export interface PendingCut {
  readonly sentAtMs: number;
  /** The cap before the decrease, A. */
  readonly fromA: number;
  /** The new cap, A. */
  readonly toA: number;
  /** A sample has already shown this cut late (it counts once, at its latest such sample). */
  readonly seenLate?: true;
}

/** What is learnt about one charger. */
export interface ChargerCutLatency {
  /** Times after a decrease at which a sample still showed the car above its new cap, ms (newest last). */
  readonly slowerThanMs: readonly number[];
}

export interface CutLatencyMemory {
  /** By charger id. */
  readonly chargers: Readonly<Record<string, ChargerCutLatency>>;
  /** By connector key (`chargerId/connectorId`). */
  readonly pending: Readonly<Record<string, PendingCut>>;
  /** The sample time last looked at per connector key (a sample is judged once). */
  readonly seenSampleAtMs: Readonly<Record<string, number>>;
}

export const initialCutLatency: CutLatencyMemory = { chargers: {}, pending: {}, seenSampleAtMs: {} };

const NONE: ChargerCutLatency = { slowerThanMs: [] };

function pushBounded(list: readonly number[], value: number): number[] {
  const out = list.length >= MAX_OBSERVATIONS ? list.slice(list.length - MAX_OBSERVATIONS + 1) : list.slice();
  out.push(value);
  return out;
}

function maxDrawA(c: ConnectorSnapshot): number | undefined {
  const d = c.drawA;
  if (!d) return undefined;
  const m = Math.max(nonNegative(d[0]), nonNegative(d[1]), nonNegative(d[2]));
  return Number.isFinite(m) ? m : undefined;
}

/**
 * How long a decrease to this charger's cars is taken to take, ms: the longest time a car of this
 * charger was recently seen above a new cap (plus a margin), or undefined when no cut has been
 * seen taking longer than `defaultMs`.
 */
export function slowCutMs(memory: CutLatencyMemory, chargerId: string, defaultMs: number): number | undefined {
  const learnt = memory.chargers[chargerId];
  if (!learnt || learnt.slowerThanMs.length === 0) return undefined;
  const slowest = Math.min(MAX_CUT_LATENCY_MS, Math.max(...learnt.slowerThanMs) + SLOW_MARGIN_MS);
  return slowest > defaultMs ? slowest : undefined;
}

/**
 * The old cap each connector must keep reserved now, A by connector key: a decrease sent less than
 * its charger's learnt slow cut latency ago, less `responseMs` (the estimator itself keeps the old
 * cap in force for carResponseMs after its last record).
 */
export function cutReservations(memory: CutLatencyMemory, atMs: number, responseMs: number): Map<string, number> {
  const out = new Map<string, number>();
  const defaultMs = nonNegative(responseMs);
  for (const key in memory.pending) {
    const cut = memory.pending[key];
    const chargerId = key.slice(0, key.lastIndexOf('/'));
    const slowMs = slowCutMs(memory, chargerId, defaultMs);
    if (slowMs === undefined) continue;
    if (atMs - cut.sentAtMs < slowMs - defaultMs) out.set(key, cut.fromA);
  }
  return out;
}

/**
 * The next memory: judges each connector's new sample against its pending cut, then records the
 * decreases just decided (`capA` by connector key and index in `connectors`, `previousCapA` the caps
 * before). Pending cuts
 * older than MAX_CUT_LATENCY_MS, and those of connectors no longer in the snapshot, are dropped.
 */
export function learnCutLatency(
  memory: CutLatencyMemory,
  connectors: readonly ConnectorSnapshot[],
  atMs: number,
  previousCapA: (key: string, i: number) => number | undefined,
  capA: (key: string, i: number) => number | undefined,
): CutLatencyMemory {
  const chargers: Record<string, ChargerCutLatency> = { ...memory.chargers };
  const pending: Record<string, PendingCut> = {};
  const seen: Record<string, number> = {};
  for (let i = 0; i < connectors.length; i++) {
    const c = connectors[i];
    if (!c || typeof c !== 'object') continue;
    const key = `${c.chargerId}/${c.connectorId}`;
    let cut: PendingCut | undefined = memory.pending[key];
    const sampleAt = finiteOr(c.drawAtMs, Number.NaN);
    const drawn = maxDrawA(c);
    const newSample = Number.isFinite(sampleAt) && drawn !== undefined && sampleAt !== memory.seenSampleAtMs[key];
    if (Number.isFinite(sampleAt)) seen[key] = sampleAt;
    if (cut && newSample && sampleAt > cut.sentAtMs) {
      const afterMs = sampleAt - cut.sentAtMs;
      if (drawn! <= cut.toA + FOLLOWED_TOLERANCE_A) {
        cut = undefined; // followed: nothing left to watch
      } else if (drawn! > cut.toA + NOT_YET_MARGIN_A && afterMs <= MAX_CUT_LATENCY_MS) {
        const last = (chargers[c.chargerId] ?? NONE).slowerThanMs;
        const slowerThanMs = cut.seenLate && last.length > 0 ? [...last.slice(0, -1), Math.max(last[last.length - 1]!, afterMs)] : pushBounded(last, afterMs);
        chargers[c.chargerId] = { slowerThanMs };
        cut = { ...cut, seenLate: true };
      }
    }
    const before = previousCapA(key, i);
    const now = capA(key, i);
    if (before !== undefined && now !== undefined && now <= before - MIN_WATCHED_CUT_A) {
      // A decrease the car can show: its last sample was above the new cap.
      // A cut made while an earlier one is still on its way: the car may still draw the older cap.
      cut = drawn !== undefined && drawn > now + NOT_YET_MARGIN_A ? { sentAtMs: atMs, fromA: Math.max(before, cut?.fromA ?? 0), toA: now } : undefined;
    } else if (cut && now !== undefined && now > cut.toA) cut = undefined; // raised again: nothing left to watch
    if (cut && atMs - cut.sentAtMs <= MAX_CUT_LATENCY_MS) pending[key] = cut;
  }
  return { chargers, pending, seenSampleAtMs: seen };
}
