import type { OpenAdrSignal } from '../types.ts';

export interface Span {
  startMs: number;
  endMs: number;
}

/** The parts of `span` that none of `covers` overlaps. */
export function uncovered(span: Span, covers: readonly Span[]): Span[] {
  const sorted = covers.filter((c) => c.endMs > span.startMs && c.startMs < span.endMs).sort((a, b) => a.startMs - b.startMs);
  const gaps: Span[] = [];
  let cursor = span.startMs;
  for (const cover of sorted) {
    if (cover.startMs > cursor) gaps.push({ startMs: cursor, endMs: cover.startMs });
    cursor = Math.max(cursor, cover.endMs);
    if (cursor >= span.endMs) break;
  }
  if (cursor < span.endMs) gaps.push({ startMs: cursor, endMs: span.endMs });
  return gaps;
}

/**
 * User Guide §8.10: a capacity subscription (usually a years-long event) is the limit wherever no
 * capacity-limit schedule covers the time, e.g. when the schedule ran out during an outage.
 */
export function fallbackSignals(subscriptions: readonly OpenAdrSignal[], limits: readonly OpenAdrSignal[]): OpenAdrSignal[] {
  const result: OpenAdrSignal[] = [];
  for (const subscription of subscriptions) {
    const covers = limits.filter((l) => l.kind === subscription.kind);
    uncovered(subscription, covers).forEach((gap, index) => {
      result.push({ ...subscription, id: `${subscription.id}~${index}`, startMs: gap.startMs, endMs: gap.endMs, detail: `capacity subscription (no limit schedule covers this time); ${subscription.detail ?? ''}`.trim() });
    });
  }
  return result;
}
