import type { Service, ServiceContext } from '../service.ts';
import { randomUUID } from 'node:crypto';
import { gridSignal } from '../grid-signal.ts';
import { SignalConflictError, SignalEventNotFoundError, SignalForbiddenError, SignalInputError, SignalNotFoundError } from './errors.ts';
import type { SignalStore } from './signal-store.ts';
import { SignalTimeline } from './signal-timeline.ts';
import type { Actor, AuditSink, OperatorLimitInput, OperatorSignalsApi, OptChange, OptState, SignalSink, SignalsApi, TimelineSignal } from './types.ts';

export const TIMELINE_SOURCE = 'timeline';
/** Operator limits from the API live under this source. */
export const OPERATOR_SOURCE = 'api';
/** Sources whose signals an operator may end by id: their own, and the MQTT site limit. */
const ENDABLE_SOURCES = new Set([OPERATOR_SOURCE, 'mqtt']);
/** Operator limits in force or upcoming at once; more is a mistake or an attack, not a plan. */
const MAX_OPERATOR_LIMITS = 100;
const OPERATOR_ROLES = new Set(['operator', 'admin']);
/** Longest single timer; a boundary further away is reached in steps. */
const MAX_TIMER_MS = 6 * 3600_000;

export interface SignalTimelineDeps {
  audit?: AuditSink;
}

export type SignalTimelineService = Service & SignalsApi & SignalSink & OperatorSignalsApi;

/**
 * The grid-signal timeline as a service: producers submit their current set, the merged set in
 * force (minus opted-out events) goes on the bus as 'signals.changed' from source 'timeline', and
 * again at every start/end boundary so limits take effect on time. Persisted on every change.
 */
export function createSignalTimeline(ctx: ServiceContext, store: SignalStore, deps: SignalTimelineDeps = {}): SignalTimelineService {
  const log = ctx.log.child({ module: 'signals' });
  const listeners = new Set<(change: OptChange) => void>();
  let timeline = new SignalTimeline();
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let lastEmitted = '';

  const persist = () => {
    try {
      store.save(timeline.toStored());
    } catch (error) {
      log.error({ err: error }, 'could not persist grid signals; they stay in force in memory');
    }
  };

  const publish = (force: boolean) => {
    const signals = timeline.effective(ctx.clock.nowMs());
    const fingerprint = JSON.stringify(signals);
    if (!force && fingerprint === lastEmitted) return;
    lastEmitted = fingerprint;
    ctx.bus.emit('signals.changed', { signals, source: TIMELINE_SOURCE });
  };

  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!running) return;
    const nowMs = ctx.clock.nowMs();
    const next = timeline.nextBoundaryMs(nowMs);
    if (next === undefined) return;
    timer = setTimeout(onBoundary, Math.min(Math.max(next - nowMs, 0), MAX_TIMER_MS));
    timer.unref?.();
  };

  function onBoundary(): void {
    timer = undefined;
    if (timeline.prune(ctx.clock.nowMs())) persist();
    publish(true);
    schedule();
  }

  const changed = () => {
    persist();
    publish(false);
    schedule();
  };

  const setOpt = (eventId: string, opt: OptState, actor: Actor) => {
    if (!OPERATOR_ROLES.has(actor.role)) {
      throw new SignalForbiddenError(`opting ${opt} of an event needs the operator role; ${actor.username} is ${actor.role}`);
    }
    const sources = timeline.sourcesOfEvent(eventId);
    if (!sources.length) throw new SignalEventNotFoundError(`no active or upcoming event ${eventId}`);
    const atMs = ctx.clock.nowMs();
    for (const source of sources) {
      if (!timeline.setOpt(source, eventId, opt, actor.username, atMs)) continue;
      log.info({ eventId, source, opt, by: actor.username }, `operator opted ${opt} of event`);
      deps.audit?.record({ atMs, actor: actor.username, action: `signals.opt-${opt}`, target: eventId, detail: `source ${source}` });
      for (const listener of listeners) {
        try {
          listener({ source, eventId, opt, by: actor.username });
        } catch (error) {
          log.error({ err: error }, 'opt listener failed');
        }
      }
    }
    changed();
  };

  const requireOperator = (actor: Actor, what: string) => {
    if (!OPERATOR_ROLES.has(actor.role)) throw new SignalForbiddenError(`${what} needs the operator role; ${actor.username} is ${actor.role}`);
  };

  const addLimit = (input: OperatorLimitInput, actor: Actor): { id: string } => {
    requireOperator(actor, 'an operator limit');
    const nowMs = ctx.clock.nowMs();
    const startMs = input.startsAtMs ?? nowMs;
    const id = `op-${randomUUID().slice(0, 8)}`;
    const who = input.source ? `${input.source} (${actor.username})` : actor.username;
    let signal: TimelineSignal;
    try {
      signal = gridSignal({
        id,
        source: OPERATOR_SOURCE,
        kind: input.kind,
        value: input.valueW,
        startMs,
        endMs: input.durationS === undefined ? 'open' : startMs + input.durationS * 1000,
        eventId: id,
        detail: `set by ${who}`,
        text: `operator ${input.kind} ${input.valueW} W by ${who}`,
      });
    } catch (error) {
      throw new SignalInputError((error as Error).message, { cause: error });
    }
    if (signal.endMs <= nowMs) throw new SignalInputError('the limit would already be over (startsAt + durationS is in the past)');
    const own = timeline.all().filter((s) => s.source === OPERATOR_SOURCE);
    if (own.length >= MAX_OPERATOR_LIMITS) throw new SignalConflictError(`at most ${MAX_OPERATOR_LIMITS} operator limits at once; end some first (DELETE /api/v1/signals/{id})`);
    timeline.replace(OPERATOR_SOURCE, [...own, signal], nowMs);
    log.info({ id, kind: input.kind, valueW: input.valueW, startMs, endMs: signal.endMs, by: actor.username }, 'operator limit added');
    deps.audit?.record({ atMs: nowMs, actor: actor.username, action: 'signals.add', target: id, detail: signal.text });
    changed();
    ctx.bus.emit('signal.operator', { action: 'added', id, text: `${signal.text}${signal.openEnded ? ', until ended' : `, for ${input.durationS} s`}`, by: actor.username, atMs: nowMs });
    return { id };
  };

  const end = (id: string, actor: Actor): TimelineSignal => {
    requireOperator(actor, 'ending a limit');
    const nowMs = ctx.clock.nowMs();
    const found = timeline.all().find((s) => s.id === id && s.endMs > nowMs);
    if (!found) throw new SignalNotFoundError(`no active or upcoming signal ${id}`);
    if (!ENDABLE_SOURCES.has(found.source)) {
      throw new SignalConflictError(`signal ${id} comes from ${found.source}; opt out of its event (${found.eventId ?? id}) instead`);
    }
    timeline.replace(found.source, timeline.all().filter((s) => s.source === found.source && s.id !== id), nowMs);
    log.info({ id, source: found.source, by: actor.username }, 'grid signal ended by the operator');
    deps.audit?.record({ atMs: nowMs, actor: actor.username, action: 'signals.end', target: id, detail: `source ${found.source}` });
    changed();
    ctx.bus.emit('signal.operator', { action: 'ended', id, text: `${found.kind} ${found.value} W (${found.source}) ended by ${actor.username}`, by: actor.username, atMs: nowMs });
    return found;
  };

  return {
    name: 'signals',
    addLimit,
    end,
    async start() {
      running = true;
      try {
        timeline = SignalTimeline.from(store.load(), ctx.clock.nowMs(), (signal, problem) =>
          log.warn({ signal: { id: signal.id, source: signal.source, kind: signal.kind, value: signal.value, startMs: signal.startMs, endMs: signal.endMs }, problem }, 'dropped a stored grid signal that is not valid; it is not in force'),
        );
        log.info({ signals: timeline.all().length }, 'restored grid signals');
      } catch (error) {
        log.error({ err: error }, 'could not restore grid signals; starting empty');
      }
      if (timeline.prune(ctx.clock.nowMs())) persist();
      publish(true);
      schedule();
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
    submit(source: string, signals: readonly TimelineSignal[]) {
      if (timeline.replace(source, signals, ctx.clock.nowMs())) changed();
    },
    clear(source: string) {
      if (timeline.clear(source)) changed();
    },
    list() {
      return timeline.view(ctx.clock.nowMs());
    },
    optOut(eventId: string, actor: Actor) {
      setOpt(eventId, 'out', actor);
    },
    optIn(eventId: string, actor: Actor) {
      setOpt(eventId, 'in', actor);
    },
    optState(source: string, eventId: string) {
      return timeline.optState(source, eventId);
    },
    onOptChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
