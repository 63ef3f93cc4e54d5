// The grid meter's plausibility gate. A reading the EMS builds its building-load estimate on must be
// one that can be true at this site; when the meter is suspect, the site view falls back to the
// failsafe (the static share, which holds whatever the meter says). Three kinds of evidence:
// - a reading that cannot be true (beyond what the fuse allows, an import below zero on a site that
//   cannot export): that reading is ignored, the last good one stands in while it is fresh;
// - a reading below what the chargers measured at that moment (a scale factor off by 100, wrong
//   wiring), or one that stood still while the chargers' measured draw moved by a lot (stuck):
//   the meter is suspect until it shows the cars' draw again (latched: no stand-in, failsafe now);
// - a meter not yet confirmed: a reading too small to tell from one 100 times too small (a few
//   percent of the fuse) is not trusted with sessions present until it reads more, or agrees with a
//   charger's measured draw. On a quiet site this costs the first seconds of the first session: the
//   cars charge at the failsafe current until their own draw shows on the meter (1.5 % of the fuse).
// Pure: no clock, no I/O; the memory is data (EstimateMemory.meterGate).
import type { GridMeasurement, MeterGateMemory } from './types.ts';
import { formatA, nonNegative } from './numbers.ts';
import { COS30 } from './phase-map.ts';

/** A charger's measured draw, as the gate reads it. */
export interface GateConnector {
  /** Samples as flat [atMs, L1, L2, L3] quadruples, oldest first (ConnectorEstimateMemory.draws). */
  readonly draws: readonly number[];
  /** Charger terminals L1..L3 → site phase index. */
  readonly rot: readonly number[];
  /** A line-to-line charger's two site lines: its one current counts at cos 30° on each (phase-map.ts foldLineToLine). */
  readonly lines?: readonly [number, number];
  /** The most this connector may draw now, A (its latest limit within the charger's max). */
  readonly capA: number;
  /** The charger's max, A (how far a car may have moved unseen). */
  readonly maxA: number;
  /** A car is plugged in (a session, or a status that says so). */
  readonly hasCar: boolean;
}

export interface GateInput {
  /** false: only the one-reading checks, against evLowA, with the last good reading standing in (no memory). */
  readonly gated: boolean;
  readonly atMs: number;
  /** A valid (finite) reading. */
  readonly reading: GridMeasurement;
  readonly fuseA: number;
  readonly voltageV: number;
  readonly canExport: boolean;
  /** The least the cars draw by their latest fresh samples, per site phase (ungated check). */
  readonly evLowA: readonly number[];
  /** Samples older than this (ms before atMs) are not fresh. */
  readonly drawStaleMs: number;
  readonly connectors: readonly GateConnector[];
  /** Some connector has a session (an unconfirmed meter only matters when a car could be given more than the failsafe share). */
  readonly hasSessions: boolean;
}

export interface GateVerdict {
  /** The reading may be used. */
  readonly trusted: boolean;
  /** Not trusted, but the last trusted reading may stand in while it is fresh (a single implausible reading). */
  readonly standIn: boolean;
  /** Why it is not trusted ('' when it is). */
  readonly why: string;
  /** Finding key while not trusted. */
  readonly key: string;
  readonly memory: MeterGateMemory | undefined;
}

/** A fuse carries a moderate overload for a while, never several times its rating. */
export function highBoundA(fuseA: number): number {
  return Math.max(3 * fuseA, fuseA + 100);
}

/**
 * A reading above this on some phase cannot be one 100 times too small at this site (that would be
 * a load of 1.5× the fuse, which the fuse does not carry for long), A.
 */
export function confirmingA(fuseA: number): number {
  return Math.max(1, 0.015 * fuseA);
}

/** A measured EV draw of at least this on a phase is enough to check the meter against, A. */
const SIGNIFICANT_EV_A = 4;
/** The chargers' measured draw moved at least this much (and this share of the fuse) while the meter stood still, A. */
const MOVED_EV_A = 10;
const MOVED_EV_FUSE_SHARE = 0.15;
/** A reading within this of the last one on every phase stands still, A. */
const STILL_A = 0.05;
/** A still span is given up (no verdict) after this long, ms. */
const STILL_SPAN_MS = 120_000;
/** Readings below the chargers' draw this long make the meter suspect, ms. */
const BELOW_LASTS_MS = 3_000;
/** A sample taken at most this long before the reading counts against it, ms. */
const NEAR_READING_MS = 2_000;
/** A sample taken this long after the reading still counts as "at the reading", ms. */
const SAMPLE_SLACK_MS = 250;
/** A suspect meter counts as moving again once it leaves the value it was suspected at by this much, A. */
const UNSTUCK_A = 1;

function belowEvTolerance(evA: number): number {
  return Math.max(2, 0.1 * evA);
}

/** What the chargers measured at `upToMs` (each one's latest fresh sample up to then, within its cap), per site phase. */
function measuredAt(input: GateInput, upToMs: number, clamp: boolean, fromMs: number): [number, number, number] {
  const out: [number, number, number] = [0, 0, 0];
  const oldest = Math.max(fromMs, input.atMs - input.drawStaleMs);
  for (const c of input.connectors) {
    let at = -1;
    for (let i = c.draws.length - 4; i >= 0; i -= 4) {
      if (c.draws[i] <= upToMs) {
        at = i;
        break;
      }
    }
    if (at < 0 || c.draws[at] < oldest) continue;
    if (c.lines) {
      const amps = Math.max(nonNegative(c.draws[at + 1]), nonNegative(c.draws[at + 2]), nonNegative(c.draws[at + 3]));
      const inPhase = (clamp ? Math.min(amps, nonNegative(c.capA)) : amps) * COS30;
      out[c.lines[0]] += inPhase;
      out[c.lines[1]] += inPhase;
      continue;
    }
    for (let p = 0; p < 3; p++) out[c.rot[p]] += clamp ? Math.min(nonNegative(c.draws[at + 1 + p]), nonNegative(c.capA)) : nonNegative(c.draws[at + 1 + p]);
  }
  return out;
}

/**
 * How much the chargers' measured draw moved between samples taken within [fromMs, toMs], per site
 * phase (signed), in out[0..2]; out[3]: how far cars without two samples in that span may have
 * moved unseen (their max), A.
 */
function movedWithin(input: GateInput, fromMs: number, toMs: number): [number, number, number, number] {
  const out: [number, number, number, number] = [0, 0, 0, 0];
  for (const c of input.connectors) {
    let first = -1;
    let last = -1;
    for (let i = 0; i < c.draws.length; i += 4) {
      const at = c.draws[i];
      if (at < fromMs || at > toMs) continue;
      if (first < 0) first = i;
      last = i;
    }
    if (first < 0 || last === first) {
      if (c.hasCar) out[3] += nonNegative(c.maxA);
      continue;
    }
    if (c.lines) {
      const most = (i: number) => Math.max(nonNegative(c.draws[i + 1]), nonNegative(c.draws[i + 2]), nonNegative(c.draws[i + 3]));
      const moved = (most(last) - most(first)) * COS30;
      out[c.lines[0]] += moved;
      out[c.lines[1]] += moved;
      continue;
    }
    for (let p = 0; p < 3; p++) out[c.rot[p]] += nonNegative(c.draws[last + 1 + p]) - nonNegative(c.draws[first + 1 + p]);
  }
  return out;
}

/** Why this one reading cannot be true at the site, or '' when it can. */
function impossible(reading: GridMeasurement, input: GateInput): string {
  const fuseA = nonNegative(input.fuseA);
  const highA = highBoundA(fuseA);
  for (let p = 0; p < 3; p++) {
    const a = reading.currentA[p];
    if (a > highA || a < -highA) return `grid meter reads ${formatA(a)} on L${p + 1}, beyond what a ${formatA(fuseA)} fuse allows`;
  }
  if (input.voltageV > 0 && Math.abs(reading.powerW) > 3 * highA * input.voltageV) {
    return `grid meter reads ${Math.round(reading.powerW)} W, beyond what a ${formatA(fuseA)} fuse allows`;
  }
  if (input.canExport) return '';
  const toleranceA = 1;
  for (let p = 0; p < 3; p++) {
    if (reading.currentA[p] < -toleranceA) return `grid meter reads ${formatA(reading.currentA[p])} (export) on L${p + 1}, but the site cannot export`;
  }
  if (input.voltageV > 0 && reading.powerW < -3 * toleranceA * input.voltageV) return `grid meter reads ${Math.round(reading.powerW)} W (export), but the site cannot export`;
  return '';
}

/** The phase on which the reading is below what the chargers measured at its time, as a sentence, or ''. */
function belowChargers(reading: GridMeasurement, evA: readonly number[]): string {
  for (let p = 0; p < 3; p++) {
    if (reading.currentA[p] < evA[p] - belowEvTolerance(evA[p])) {
      return `grid meter reads ${formatA(reading.currentA[p])} on L${p + 1}, below the ${formatA(evA[p])} the chargers report (scale factor or wiring?)`;
    }
  }
  return '';
}

/** The gate's verdict on the current reading, and its memory for the next cycle. */
export function judgeMeter(input: GateInput, memory: MeterGateMemory | undefined): GateVerdict {
  const reading = input.reading;
  if (!input.gated) {
    const why = impossible(reading, input) || (input.canExport ? '' : belowChargers(reading, input.evLowA));
    return { trusted: !why, standIn: true, why, key: why ? 'grid-implausible' : '', memory: undefined };
  }
  let confirmed = memory?.confirmed ?? false;
  let suspect = memory?.suspect;
  let stuckA = memory?.stuckA;
  let still = memory?.still;
  const isNew = memory?.lastAtMs === undefined || reading.atMs > memory.lastAtMs;
  const lastAtMs = isNew ? reading.atMs : memory!.lastAtMs;
  const remember = (): MeterGateMemory => ({
    confirmed,
    lastAtMs,
    ...(suspect !== undefined ? { suspect } : {}),
    ...(stuckA !== undefined ? { stuckA } : {}),
    ...(still !== undefined ? { still } : {}),
  });

  // One reading that cannot be true: ignored; a confirmed meter's last good reading stands in.
  const why = impossible(reading, input);
  if (why) return { trusted: false, standIn: confirmed && suspect === undefined, why, key: 'grid-implausible', memory: remember() };

  // Below what the chargers measured at the reading's time: the meter (or its scale) is wrong.
  // Only samples taken just before the reading count (a car that filled up or tapered since an
  // older sample draws less now), and a car cut since its sample counts at its new cap.
  const evAtReading = measuredAt(input, reading.atMs + SAMPLE_SLACK_MS, true, reading.atMs - NEAR_READING_MS);
  // One such reading may be a cut that reached the car before the charger confirmed it: it is
  // ignored (the last good reading stands in); still below BELOW_LASTS_MS later, the meter is suspect.
  // On a site with PV or a battery the grid may rightly read less than the cars draw: no verdict there.
  const below = input.canExport ? '' : belowChargers(reading, evAtReading);
  let belowSinceMs = below ? (memory?.belowSinceMs ?? reading.atMs) : undefined;
  if (below && suspect === undefined && reading.atMs - belowSinceMs! < BELOW_LASTS_MS) {
    const kept = { ...remember(), belowSinceMs: belowSinceMs! };
    return { trusted: false, standIn: confirmed, why: below, key: 'grid-implausible', memory: kept };
  }
  if (below) {
    if (suspect === undefined) stuckA = [reading.currentA[0], reading.currentA[1], reading.currentA[2]];
    suspect = below;
    still = undefined;
    belowSinceMs = undefined;
  }

  // A reading that stands still (to the last few hundredths of an amp, reading after reading) while
  // the chargers' measured draw moves by a lot: a meter stuck on one value. Only samples taken
  // while it stood still count, and only once every car has two of them (a car seen once may have
  // moved unseen the other way).
  if (!below && isNew) {
    const span = still;
    const moves = !span || [0, 1, 2].some((p) => Math.abs(reading.currentA[p] - span[1 + p]) > STILL_A);
    if (!span || moves || reading.atMs - span[0] > STILL_SPAN_MS) still = [reading.atMs, reading.currentA[0], reading.currentA[1], reading.currentA[2]];
    else {
      const moved = movedWithin(input, span[0], reading.atMs);
      const largeA = Math.max(MOVED_EV_A, MOVED_EV_FUSE_SHARE * nonNegative(input.fuseA));
      const p = [0, 1, 2].find((q) => moved[3] === 0 && Math.abs(moved[q]) >= largeA);
      if (p !== undefined) {
        suspect = `grid meter stands at ${formatA(reading.currentA[p])} on L${p + 1} since ${Math.round((reading.atMs - span[0]) / 1000)} s while the chargers' measured draw moved by ${formatA(moved[p])} (stuck?)`;
        stuckA = [reading.currentA[0], reading.currentA[1], reading.currentA[2]];
        still = undefined;
      }
    }
  }

  // Evidence that the meter is right: it agrees with a significant measured draw (as sampled, not
  // as the caps since would have it), or reads more than a meter 100× too small could. A suspect
  // meter must also have moved off the value it was suspected at (a stuck one never does).
  const evRaw = measuredAt(input, reading.atMs + SAMPLE_SLACK_MS, false, Number.NEGATIVE_INFINITY);
  const agrees = !below && Math.max(evRaw[0], evRaw[1], evRaw[2]) >= SIGNIFICANT_EV_A && !belowChargers(reading, evRaw);
  if (suspect !== undefined && !below && stuckA && [0, 1, 2].some((p) => Math.abs(reading.currentA[p] - stuckA![p]) >= UNSTUCK_A) && agrees) {
    suspect = undefined;
    stuckA = undefined;
  }
  if (!confirmed && suspect === undefined) {
    const readsA = Math.max(Math.abs(reading.currentA[0]), Math.abs(reading.currentA[1]), Math.abs(reading.currentA[2]));
    confirmed = agrees || readsA >= confirmingA(nonNegative(input.fuseA));
  }

  if (suspect !== undefined) return { trusted: false, standIn: false, why: suspect, key: 'grid-suspect', memory: remember() };
  if (!confirmed && input.hasSessions) {
    const readsA = Math.max(reading.currentA[0], reading.currentA[1], reading.currentA[2]);
    return {
      trusted: false,
      standIn: false,
      why: `grid meter not confirmed yet: it reads ${formatA(readsA)}, too little to tell from a scale factor off by 100; held at the failsafe share until the cars' draw shows on it`,
      key: 'grid-unconfirmed',
      memory: remember(),
    };
  }
  return { trusted: true, standIn: false, why: '', key: '', memory: remember() };
}
