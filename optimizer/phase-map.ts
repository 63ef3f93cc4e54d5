// Where a connector's current lands on the site's three conductors (guarantee 5).
import type { ChargerParams, PhaseRotation, PhaseValues, SessionSnapshot } from './types.ts';
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
  return ROTATIONS[rotation as PhaseRotation] ?? ROTATIONS.L1L2L3;
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
}

export const ALL_PHASES_MASK = 0b111;

/**
 * Which site phases a connector loads. A 3-phase charger with a 3-phase (or unknown) car loads all
 * three; a 1-phase charger, a session with carPhases 1, or a car measured drawing on one phase
 * only loads one: the charger terminal it draws on (L1 unless measured otherwise), rotated.
 */
export function phaseUse(charger: ChargerParams, session: SessionSnapshot | null, drawA: PhaseValues): PhaseUse {
  const rotation = rotationOf(charger.phaseRotation);
  if (charger.phases === 1) return { phases: 1, mask: 1 << rotation[0] };
  if (session === null) return { phases: 3, mask: ALL_PHASES_MASK };
  const measured = detectSinglePhase(drawA);
  if (measured !== undefined) return { phases: 1, mask: 1 << rotation[measured] };
  if (session.carPhases === 1) return { phases: 1, mask: 1 << rotation[0] };
  return { phases: 3, mask: ALL_PHASES_MASK };
}

/** Measured draw per charger terminal → per site phase (sanitized: NaN and negatives are 0). */
export function drawOnSitePhases(rotation: PhaseRotation | string, drawA: PhaseValues): [number, number, number] {
  const map = rotationOf(rotation);
  const site: [number, number, number] = [0, 0, 0];
  for (const p of [0, 1, 2] as const) site[map[p]] += nonNegative(drawA[p]);
  return site;
}
