import { appendFileSync } from 'node:fs';

// Shared figures of the acceptance cases: the reaction window allowed after an outside change and
// one line of figures per case on stdout (what the findings quote).

/** Meter poll (1 s) + control cycle (1 s) + the slowest car (4 s) + charger step and slack (2 s). */
export const REACTION_WINDOW_MS = 8_000;

export function report(name: string, figures: Record<string, unknown>): void {
  console.log(`[acceptance] ${name}: ${JSON.stringify(figures)}`);
}

/** With ACCEPTANCE_TIMELINE=file: one line per second of true currents, pilots and draws. */
export function dumpTimeline(samples: { tMs: number; gridA: number[]; pilotA: Record<string, number>; drawA: Record<string, number> }[], name: string): void {
  const path = process.env.ACCEPTANCE_TIMELINE;
  if (!path || !samples.length) return;
  const t0 = samples[0]!.tMs;
  const lines = samples
    .filter((_, i) => i % 10 === 0)
    .map((s) => `${((s.tMs - t0) / 1000).toFixed(1)}s grid=${s.gridA.map((a) => a.toFixed(1)).join('/')} ${Object.keys(s.pilotA).map((k) => `${k}:${s.pilotA[k]!.toFixed(1)}>${s.drawA[k]!.toFixed(1)}`).join(' ')}`);
  appendFileSync(path, `== ${name}\n${lines.join('\n')}\n`);
}

/** The longer cases run only on request (CI time): ACCEPTANCE_ALL=1, or with the field variants. */
export const ACCEPTANCE_ALL = process.env.ACCEPTANCE_ALL === '1' || process.env.ACCEPTANCE_VARIANTS === '1';
