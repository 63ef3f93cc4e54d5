// #9: the demo's "charger CP002 connector 1 reports 8.8 A, above its 0 A limit: it over-reports or
// ignores its cap" (session 13's newcomer run, 2 of 5 fresh starts; reproduced in session 14 with a
// debug trace of every cycle). CP002 applies a profile 1.7 s after it accepts it and its car
// follows each pilot change 1–3.5 s after that, in order. The EMS raised the car (10.1 A, then
// 19.4 A) and then paused it (0 A, accepted at 3.3 s); the car, still working through the older
// pilots, showed 1.4 A, then 0 A (an even older 0 A it had not left yet), then 8.8 A and 10 A under
// the raises, and only then 0 A. The report took the 0 A sample, below the new 0 A limit after one
// above it, as proof the car had followed the pause, dropped the 19.4 A from the car response
// window, and called an honest charger faulty. A report now needs the draw above every limit in
// force during the car response before the sample; a charger that really draws above its limit
// past that is still reported.
import { describe, expect, it } from 'vitest';
import { decide, initialDecideState } from '../../optimizer/index.ts';
import type { ConnectorSnapshot, DecideState } from '../../optimizer/index.ts';
import { charger, circuit, params, session, T0 } from './scenario.ts';

const FUSE_A = 63;
const BUILDING_A = 2;
const P = params({
  grid: { maxCurrentA: FUSE_A, safetyMargin: 0.05, metered: true },
  circuit: circuit('main', FUSE_A, ['CP']),
  chargers: [charger('CP', 'main')],
  priority: 'equal',
  carResponseMs: 5_000,
});

type Step = [fromMs: number, value: number];
const at = (steps: readonly Step[], tMs: number): number | undefined => steps.filter(([from]) => from <= tMs).at(-1)?.[1];
const sampleAt = (samples: readonly Step[], tMs: number): Step | undefined => samples.filter(([from]) => from <= tMs).at(-1);

/**
 * Cycles every 200 ms over a paused session (the EMS decides 0 A, so the limit it records is what
 * the charger confirmed, `confirmed`); the car's samples arrive 100 ms after they are taken. The
 * times each cycle flagged the charger as over its cap.
 */
function flaggedAt(confirmed: readonly Step[], samples: readonly Step[], untilMs: number): number[] {
  let state: DecideState = initialDecideState;
  const flagged: number[] = [];
  for (let t = 0; t <= untilMs; t += 200) {
    const sample = sampleAt(samples, t - 100);
    const drawnA = sample?.[1] ?? 0;
    const connector: ConnectorSnapshot = {
      chargerId: 'CP',
      connectorId: 1,
      status: 'Charging',
      session: session('tx', { startedAtMs: T0 - 1_000, paused: true }),
      drawA: [drawnA, drawnA, drawnA],
      ...(sample ? { drawAtMs: T0 + sample[0] } : {}),
      online: true,
      installedCapA: at(confirmed, t)!,
    };
    const gridA = BUILDING_A + drawnA;
    const decision = decide({ atMs: T0 + t, grid: { atMs: T0 + t - 50, currentA: [gridA, gridA, gridA], powerW: 3 * gridA * 230 }, circuitLoads: [], connectors: [connector], signals: {} }, P, state);
    state = decision.nextState;
    if ((decision.findings ?? []).some((f) => f.key === 'over-cap:CP/1')) flagged.push(t);
  }
  return flagged;
}

describe('the over-cap report next to a charger that applies its profiles late', () => {
  it('does not flag a car that dips to an older 0 A and rises under a raise still on its way', () => {
    const confirmed: Step[] = [
      [0, 10.1],
      [2_400, 19.4],
      [3_300, 0],
    ];
    const samples: Step[] = [
      [3_000, 1.4],
      [4_000, 0],
      [5_000, 8.8],
      [6_000, 10],
      [8_000, 0],
    ];
    expect(flaggedAt(confirmed, samples, 10_000)).toEqual([]);
  });

  it('still flags a charger whose car keeps drawing above its limit past a car response', () => {
    const confirmed: Step[] = [
      [0, 10],
      [2_000, 0],
    ];
    const samples: Step[] = [
      [1_000, 10],
      [3_000, 10],
      [5_000, 10],
      [7_500, 10],
      [9_000, 10],
    ];
    const flagged = flaggedAt(confirmed, samples, 10_000);
    // Not within the car response after the cut (2 s + 5 s), then as long as the draw lasts.
    expect(flagged.filter((t) => t < 7_000)).toEqual([]);
    expect(flagged.filter((t) => t >= 7_600).length).toBeGreaterThan(0);
  });
});
