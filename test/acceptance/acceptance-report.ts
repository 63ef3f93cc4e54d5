// Shared figures of the acceptance cases: the reaction window allowed after an outside change and
// one line of figures per case on stdout (what the findings quote).

/** Meter poll (1 s) + control cycle (1 s) + the slowest car (4 s) + charger step and slack (2 s). */
export const REACTION_WINDOW_MS = 8_000;

export function report(name: string, figures: Record<string, unknown>): void {
  console.log(`[acceptance] ${name}: ${JSON.stringify(figures)}`);
}
