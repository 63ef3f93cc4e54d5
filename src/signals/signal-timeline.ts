import { gridSignal, gridSignalProblem, signalTimes } from '../grid-signal.ts';
import { SignalInputError } from './errors.ts';
import type { StoredSignals } from './signal-store.ts';
import type { OptOutRecord, OptState, SignalView, TimelineSignal } from './types.ts';

const optKey = (source: string, eventId: string) => `${source}\u0000${eventId}`;

/**
 * The version-neutral grid-signal timeline as data: what each producer said, which events the
 * operator opted out of, and what is in force at a given time. No timers, no I/O.
 */
export class SignalTimeline {
  private readonly bySource = new Map<string, TimelineSignal[]>();
  private readonly optOuts = new Map<string, OptOutRecord>();

  /**
   * The timeline a store held. Ended signals are left out silently; a stored signal that breaks
   * today's rules (one from an older version, say with an end of MAX_SAFE_INTEGER) is left out and
   * reported to `dropped` with its problem, so the caller can say so.
   */
  static from(stored: StoredSignals, nowMs: number, dropped?: (signal: TimelineSignal, problem: string) => void): SignalTimeline {
    const timeline = new SignalTimeline();
    for (const signal of stored.signals) {
      const problem = gridSignalProblem(signal);
      if (problem) dropped?.(signal, problem);
      if (problem || signal.endMs <= nowMs) continue;
      const list = timeline.bySource.get(signal.source) ?? [];
      list.push(gridSignal(signal));
      timeline.bySource.set(signal.source, list);
    }
    for (const record of stored.optOuts) timeline.optOuts.set(optKey(record.source, record.eventId), record);
    return timeline;
  }

  /**
   * Replaces what `source` said; returns false when nothing changed (a VEN re-sending the same set
   * every poll must not rewrite the store). Throws SignalInputError, changing nothing, on bad input.
   */
  replace(source: string, signals: readonly TimelineSignal[], nowMs: number): boolean {
    if (!source) throw new SignalInputError('a signal source needs a name');
    const ids = new Set<string>();
    const kept: TimelineSignal[] = [];
    for (const [index, signal] of signals.entries()) {
      const where = `${source}[${index}]`;
      const problem = gridSignalProblem({ ...signal, source });
      if (problem) throw new SignalInputError(`${where}: ${problem}`);
      if (ids.has(signal.id)) throw new SignalInputError(`${where}: duplicate id ${signal.id}`);
      ids.add(signal.id);
      if (signal.endMs <= nowMs) continue;
      kept.push(gridSignal({ ...signal, source }));
    }
    const before = this.bySource.get(source) ?? [];
    if (JSON.stringify(before) === JSON.stringify(kept)) return false;
    if (kept.length) this.bySource.set(source, kept);
    else this.bySource.delete(source);
    return true;
  }

  clear(source: string): boolean {
    return this.bySource.delete(source);
  }

  /** Drops what has ended, and opt-outs whose event is gone. Returns true when anything went. */
  prune(nowMs: number): boolean {
    let changed = false;
    for (const [source, list] of this.bySource) {
      const kept = list.filter((s) => s.endMs > nowMs);
      if (kept.length === list.length) continue;
      changed = true;
      if (kept.length) this.bySource.set(source, kept);
      else this.bySource.delete(source);
    }
    const liveEvents = new Set(this.all().flatMap((s) => (s.eventId ? [optKey(s.source, s.eventId)] : [])));
    for (const key of this.optOuts.keys()) {
      if (!liveEvents.has(key)) {
        this.optOuts.delete(key);
        changed = true;
      }
    }
    return changed;
  }

  all(): TimelineSignal[] {
    return [...this.bySource.values()].flat();
  }

  sources(): string[] {
    return [...this.bySource.keys()];
  }

  optState(source: string, eventId: string): OptState {
    return this.optOuts.has(optKey(source, eventId)) ? 'out' : 'in';
  }

  /** Sources that carry this event id. */
  sourcesOfEvent(eventId: string): string[] {
    return [...new Set(this.all().filter((s) => s.eventId === eventId).map((s) => s.source))];
  }

  setOpt(source: string, eventId: string, opt: OptState, by: string, atMs: number): boolean {
    const key = optKey(source, eventId);
    if (opt === 'out') {
      if (this.optOuts.has(key)) return false;
      this.optOuts.set(key, { source, eventId, by, atMs });
      return true;
    }
    return this.optOuts.delete(key);
  }

  /** What the site must honour: not ended, not opted out (upcoming ones included for the planner). */
  effective(nowMs: number): TimelineSignal[] {
    return this.all()
      .filter((s) => s.endMs > nowMs && !(s.eventId && this.optOuts.has(optKey(s.source, s.eventId))))
      .sort(byStart);
  }

  view(nowMs: number): SignalView[] {
    return this.all()
      .filter((s) => s.endMs > nowMs)
      .map((s) => ({ ...s, ...signalTimes(s), opt: s.eventId ? this.optState(s.source, s.eventId) : ('in' as const), active: s.startMs <= nowMs }))
      .sort(byStart);
  }

  /** The next instant at which the set in force changes (a start or an end), if any. */
  nextBoundaryMs(nowMs: number): number | undefined {
    let next: number | undefined;
    for (const s of this.all()) {
      for (const t of [s.startMs, s.endMs]) if (t > nowMs && (next === undefined || t < next)) next = t;
    }
    return next;
  }

  toStored(): StoredSignals {
    return { signals: this.all(), optOuts: [...this.optOuts.values()] };
  }
}

function byStart(a: TimelineSignal, b: TimelineSignal): number {
  return a.startMs - b.startMs || a.id.localeCompare(b.id);
}
