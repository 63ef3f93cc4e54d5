// Where a connector's current lands on the site's three conductors (guarantee 5).
import type { ChargerParams, LineConnection, PhaseRotation, PhaseValues, SessionSnapshot } from './types.ts';
import { nonNegative } from './numbers.ts';

type PhaseIndex = 0 | 1 | 2;

/** Charger terminal L1, L2, L3 → site phase index. */
const ROTATIONS: Record<PhaseRotation, readonly [PhaseIndex, PhaseIndex, PhaseIndex]> = {
  L1L2L3: [0, 1, 2],
  L2L3L1: [1, 2, 0],
  L3L1L2: [2, 0, 1],
  L1L3L2: [0, 2, 1],
  L2L1L3: [1, 0, 2],
  L3L2L1: [2, 1, 0],
};

/** Unknown rotations fall back to the identity; the config schema rejects them before this. */
export function rotationOf(rotation: PhaseRotation | string): readonly [PhaseIndex, PhaseIndex, PhaseIndex] {
  // The usual ones by comparison: a lookup by a string that varies is slow, and this runs several
  // times per connector per cycle.
  switch (rotation) {
    case undefined:
    case 'L1L2L3':
      return ROTATIONS.L1L2L3;
    case 'L2L3L1':
      return ROTATIONS.L2L3L1;
    case 'L3L1L2':
      return ROTATIONS.L3L1L2;
    default:
      return ROTATIONS[rotation as PhaseRotation] ?? ROTATIONS.L1L2L3;
  }
}

/** A car counts as single-phase when one charger phase carries > 1 A and the others < 0.5 A. */
const SINGLE_PHASE_ON_A = 1;
const SINGLE_PHASE_OFF_A = 0.5;

/** The charger phase a single-phase car draws on, judged from measured draw; undefined if not. */
export function detectSinglePhase(drawA: PhaseValues): PhaseIndex | undefined {
  const a = nonNegative(drawA[0]);
  const b = nonNegative(drawA[1]);
  const c = nonNegative(drawA[2]);
  if (a > SINGLE_PHASE_ON_A && b < SINGLE_PHASE_OFF_A && c < SINGLE_PHASE_OFF_A) return 0;
  if (b > SINGLE_PHASE_ON_A && a < SINGLE_PHASE_OFF_A && c < SINGLE_PHASE_OFF_A) return 1;
  if (c > SINGLE_PHASE_ON_A && a < SINGLE_PHASE_OFF_A && b < SINGLE_PHASE_OFF_A) return 2;
  return undefined;
}

export interface PhaseUse {
  phases: 1 | 3;
  /** Bit p set when site phase p carries this connector's current. */
  mask: number;
  /** Power per amp of cap, in units of the line-to-neutral voltage: 1, 3, or √3 line-to-line. */
  powerWeight: number;
}

export const SQRT3 = Math.sqrt(3);

/** The two site lines a line-to-line charger is wired between. */
export const LINE_PAIRS: Record<LineConnection, readonly [PhaseIndex, PhaseIndex]> = {
  'L1-L2': [0, 1],
  'L2-L3': [1, 2],
  'L3-L1': [2, 0],
};

/** cos 30°: the part of a line-to-line current in phase with the voltage of each of its two lines. */
export const COS30 = SQRT3 / 2;

/** The two site lines of a line-to-line charger (single-phase with a known connection); undefined otherwise. */
export function lineToLinePair(charger: Pick<ChargerParams, 'phases' | 'connection'>): readonly [PhaseIndex, PhaseIndex] | undefined {
  return charger.phases === 1 && charger.connection !== undefined ? LINE_PAIRS[charger.connection] : undefined;
}

/**
 * A line-to-line charger's measured current taken off its lines' meter readings: its one current
 * (the largest of its terminals) at cos 30° on each of its two lines, in out[offset + line]; the
 * third line gets nothing. That is the part of the current in phase with each line's voltage; a
 * line's reading (a magnitude) is at least the in-phase sum of its loads at unity power factor, so
 * the load left after taking this off is never less than the true non-EV load on the line (the
 * limit checks count the current in full on both lines). Replaces what was written at
 * out[offset..offset + 2] for the connector (its draw on the terminals' site phases).
 */
export function foldLineToLine(out: number[] | Float64Array, offset: number, pair: readonly [number, number]): void {
  const amps = Math.max(out[offset], out[offset + 1], out[offset + 2]) * COS30;
  out[offset] = 0;
  out[offset + 1] = 0;
  out[offset + 2] = 0;
  out[offset + pair[0]] = amps;
  out[offset + pair[1]] = amps;
}

/** Site phase mask of a line-to-line connection; undefined for an unknown one. */
export function lineToLineMask(connection: LineConnection | string | undefined): number | undefined {
  const pair = connection === undefined ? undefined : LINE_PAIRS[connection as LineConnection];
  return pair ? (1 << pair[0]) | (1 << pair[1]) : undefined;
}

/** Power per amp of cap in units of voltageV (line-to-neutral): phases, or √3 for a line-to-line charger. */
export function powerWeightOf(charger: Pick<ChargerParams, 'phases' | 'connection'>): number {
  if (charger.phases === 1 && lineToLineMask(charger.connection) !== undefined) return SQRT3;
  return charger.phases === 1 ? 1 : 3;
}

/** The same from an allocation slot's phases and mask (two lines on one phase = line-to-line). */
export function slotPowerWeight(slot: { phases: 1 | 3; mask: number }): number {
  if (slot.phases === 3) return 3;
  return slot.mask === 0b011 || slot.mask === 0b110 || slot.mask === 0b101 ? SQRT3 : 1;
}

export const ALL_PHASES_MASK = 0b111;

// The few phase uses there are, one object each (callers only read them): decide() asks for one
// per connector every cycle.
const THREE_PHASE_USE: Readonly<PhaseUse> = Object.freeze({ phases: 3, mask: ALL_PHASES_MASK, powerWeight: 3 });
const ONE_PHASE_USE: readonly Readonly<PhaseUse>[] = [1, 2, 4].map((mask) => Object.freeze({ phases: 1 as const, mask, powerWeight: 1 }));
const LINE_TO_LINE_USE: readonly Readonly<PhaseUse>[] = [0b011, 0b110, 0b101].map((mask) => Object.freeze({ phases: 1 as const, mask, powerWeight: SQRT3 }));

/** Three-phase use. */
export function threePhaseUse(): Readonly<PhaseUse> {
  return THREE_PHASE_USE;
}

/** Single-phase use on the site phases of `mask` (one phase, or two for line-to-line: powerWeight 1 or √3 as given). */
export function onePhaseUse(mask: number, powerWeight = 1): Readonly<PhaseUse> {
  const table = powerWeight === 1 ? ONE_PHASE_USE : powerWeight === SQRT3 ? LINE_TO_LINE_USE : [];
  for (const use of table) if (use.mask === mask) return use;
  return { phases: 1, mask, powerWeight };
}

/**
 * Which site phases a connector loads. A 3-phase charger with a 3-phase (or unknown) car loads all
 * three; a 1-phase charger, a session with carPhases 1, or a car measured drawing on one phase
 * only loads one: the charger terminal it draws on (L1 unless measured otherwise), rotated.
 */
export function phaseUse(charger: ChargerParams, session: SessionSnapshot | null, drawA: PhaseValues): Readonly<PhaseUse> {
  const rotation = rotationOf(charger.phaseRotation);
  if (charger.phases === 1) {
    // Line-to-line: the current flows out on one line and back on the other. Counting it in full on
    // both is the conservative linear bound of the phasor sum (never unsafe; see lineCurrentsA).
    const lineToLine = lineToLineMask(charger.connection);
    if (lineToLine !== undefined) return onePhaseUse(lineToLine, SQRT3);
    return onePhaseUse(1 << rotation[0]);
  }
  if (session === null) return THREE_PHASE_USE;
  const measured = detectSinglePhase(drawA);
  if (measured !== undefined) return onePhaseUse(1 << rotation[measured]);
  if (session.carPhases === 1) return onePhaseUse(1 << rotation[0]);
  return THREE_PHASE_USE;
}

/** One load on the site's conductors: line-to-neutral on one phase, line-to-line, or three-phase. */
export interface LineLoad {
  currentA: number;
  /** Site phase index for a line-to-neutral load. */
  phase?: 0 | 1 | 2;
  connection?: LineConnection;
  /** Balanced three-phase load: currentA on every phase. */
  threePhase?: boolean;
}

/** Unit phasors of the line-to-neutral voltages (positive sequence: L2 lags L1 by 120°). */
const PHASE_ANGLE = [0, (-2 * Math.PI) / 3, (2 * Math.PI) / 3];

/**
 * Exact line currents at unity power factor: each line's current is the phasor sum of the
 * line-to-neutral load on it and the line-to-line loads it shares with its neighbours (a load
 * between a and b flows out on a and back on b, in phase with Va − Vb). With only line-to-line
 * loads, |I_L1| = sqrt(I12² + I31² + I12·I31). Balanced three-phase loads add in phase.
 */
export function lineCurrentsA(loads: readonly LineLoad[]): [number, number, number] {
  const re = [0, 0, 0];
  const im = [0, 0, 0];
  const add = (p: number, amps: number, angle: number) => {
    re[p] += amps * Math.cos(angle);
    im[p] += amps * Math.sin(angle);
  };
  for (const load of loads) {
    const amps = Math.max(0, Number.isFinite(load.currentA) ? load.currentA : 0);
    if (amps === 0) continue;
    if (load.threePhase) for (let p = 0; p < 3; p++) add(p, amps, PHASE_ANGLE[p]);
    else if (load.connection !== undefined && LINE_PAIRS[load.connection]) {
      const [a, b] = LINE_PAIRS[load.connection];
      // Angle of Va − Vb.
      const angle = Math.atan2(Math.sin(PHASE_ANGLE[a]) - Math.sin(PHASE_ANGLE[b]), Math.cos(PHASE_ANGLE[a]) - Math.cos(PHASE_ANGLE[b]));
      add(a, amps, angle);
      add(b, amps, angle + Math.PI);
    } else if (load.phase !== undefined) add(load.phase, amps, PHASE_ANGLE[load.phase]);
  }
  return [Math.hypot(re[0], im[0]), Math.hypot(re[1], im[1]), Math.hypot(re[2], im[2])];
}

/** Measured draw per charger terminal → per site phase (sanitized: NaN and negatives are 0). */
export function drawOnSitePhases(rotation: PhaseRotation | string, drawA: PhaseValues): [number, number, number] {
  const map = rotationOf(rotation);
  const site: [number, number, number] = [0, 0, 0];
  for (const p of [0, 1, 2] as const) site[map[p]] += nonNegative(drawA[p]);
  return site;
}
