// What the closed loop must show on the plant (issue #9, DESIGN.md "What the closed loop must
// guarantee"), as checks shared by the scenario tests, the property test and saved failures.
import { describeViolations, type ClosedLoopReport } from './harness.ts';

export interface Expectations {
  /** Cars use ≥ 95 % of what they could draw in steady state. */
  headroom?: boolean;
  /** No session is cut from its minimum to 0 while it still wants current. */
  noPauses?: boolean;
  /** Every car that could have its minimum in steady state has a cap. */
  noStarving?: boolean;
  /** A full car releases its share within 30 s (and the case has one). */
  fullRelease?: boolean;
}

export const MIN_HEADROOM_USE = 0.95;
export const MAX_FULL_RELEASE_MS = 30_000;
/** Below this much overshoot is float dust, A·s. */
export const OVERSHOOT_EPSILON_AS = 0.05;

/** The problems with a run, one line each; empty when the closed loop held. */
export function closedLoopProblems(r: ClosedLoopReport, expect: Expectations = {}): string[] {
  const problems: string[] = [];
  if (r.emsCausedAs > OVERSHOOT_EPSILON_AS) problems.push(`${r.emsCausedAs.toFixed(1)} A·s above a limit caused by the EMS: ${describeViolations(r)}`);
  if (r.flaps > 0) problems.push(`caps flap: ${r.flaps} steady-state cap changes were the 2nd+ on their connector within 10 s (up to ${r.maxCapChangesPer10s} in 10 s)`);
  if (expect.headroom && r.headroomUse !== undefined && r.headroomUse < MIN_HEADROOM_USE) problems.push(`cars use ${(r.headroomUse * 100).toFixed(1)} % of the headroom in steady state (want ≥ ${MIN_HEADROOM_USE * 100} %)`);
  if (expect.noPauses && r.pauses > 0) problems.push(`${r.pauses} sessions cut from their minimum to 0 while they wanted current`);
  if (expect.noStarving && r.starvedMs > 0) problems.push(`cars held at 0 A for ${(r.starvedMs / 1000).toFixed(1)} s in steady state while their minimum fitted`);
  if (expect.fullRelease) {
    if (r.fullReleaseMs.length === 0 && r.fullUnreleased === 0) problems.push('no car became full while another wanted its share (the full car never charged?)');
    if (r.fullUnreleased > 0) problems.push(`${r.fullUnreleased} full cars kept their cap over ${MAX_FULL_RELEASE_MS / 1000} s`);
    const slow = r.fullReleaseMs.filter((ms) => ms > MAX_FULL_RELEASE_MS);
    if (slow.length) problems.push(`full cars released after ${slow.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s`);
  }
  return problems;
}

/** One line of figures for a run (printed by the tests so a failing case says what it measured). */
export function figures(r: ClosedLoopReport): string {
  const use = r.headroomUse === undefined ? 'n/a' : `${(r.headroomUse * 100).toFixed(1)} %`;
  return `EMS-caused ${r.emsCausedAs.toFixed(1)} A·s, outside ${r.outsideAs.toFixed(1)} A·s, use ${use}, flaps ${r.flaps} (max ${r.maxCapChangesPer10s}/10 s), pauses ${r.pauses}, starved ${(r.starvedMs / 1000).toFixed(1)} s, full-car release ${r.fullReleaseMs.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ') || '-'}${r.fullUnreleased ? ` (+${r.fullUnreleased} never)` : ''}, failsafe ${(r.failsafeMs / 1000).toFixed(1)} s`;
}
