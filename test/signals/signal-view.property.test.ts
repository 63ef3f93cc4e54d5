// Whatever any producer puts on the bus as a grid signal, the state view (GET /api/v1/state, the
// live WebSocket) and the site's event list never throw, and the answer still fits its schema.
// And whatever reaches the one constructor either comes out valid or is refused with a reason.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { createEventLog } from '../../src/api/event-log.ts';
import { buildStateView } from '../../src/api/state-view.ts';
import { stateViewSchema } from '../../src/api/view-schemas.ts';
import { Bus, type GridSignal } from '../../src/bus.ts';
import { ManualClock } from '../../src/clock.ts';
import { GridSignalError, gridSignal, gridSignalProblem, OPEN_END_MS, signalTimes } from '../../src/grid-signal.ts';
import { silentLogger } from '../../src/log.ts';
import { SiteState } from '../../src/state/site-state.ts';

const config = configSchema.parse({
  site: { name: 'Prop', voltage: 230 },
  grid: { maxCurrent: 63 },
  chargers: [{ id: 'CP1', connectors: 1, maxCurrent: 32 }],
});

const anyNumber = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, Number.MAX_VALUE, Infinity, -Infinity, NaN, 8.64e15, 8.64e15 + 1, OPEN_END_MS, 0, -1),
);
const anyValue = fc.oneof(anyNumber, fc.string(), fc.constant(null), fc.constant(undefined), fc.boolean());
const anySignal = fc.record(
  {
    id: fc.oneof(fc.string(), anyValue),
    source: fc.oneof(fc.string(), anyValue),
    kind: fc.oneof(fc.constantFrom('import-limit', 'export-limit', 'price', 'ghg', 'load-shed', 'alert'), fc.string()),
    startMs: anyNumber,
    endMs: fc.oneof(anyNumber, fc.constant('open')),
    value: anyNumber,
    text: fc.oneof(fc.string(), anyValue),
    openEnded: fc.oneof(fc.boolean(), anyValue),
  },
  { requiredKeys: [] },
);

describe('grid signals in the views', () => {
  it('the state view and the event log never throw on any signal, and the view fits its schema', () => {
    fc.assert(
      fc.property(fc.array(anySignal, { maxLength: 8 }), fc.integer({ min: 0, max: 4_000_000_000_000 }), (signals, atMs) => {
        const bus = new Bus(silentLogger);
        const state = new SiteState(config, bus);
        const clock = new ManualClock(atMs);
        const events = createEventLog({ config, bus, log: silentLogger, clock, state });
        // The bus isolates a throwing listener; a throw here would be the emitter's own.
        bus.emit('signals.changed', { signals: signals as unknown as GridSignal[], source: 'fuzz' });
        const view = buildStateView(state, config, atMs);
        const text = JSON.stringify(view);
        stateViewSchema.parse(JSON.parse(text));
        // A source that says at start it has no (valid) signals is not listed; a valid signal is.
        if (signals.some((s) => gridSignalProblem(s) === undefined)) expect(events.list().length).toBeGreaterThan(0);
        events.stop();
      }),
      { numRuns: 2000 },
    );
  });

  it('the constructor either builds a signal that can be shown, or refuses it with a reason', () => {
    fc.assert(
      fc.property(anySignal, (input) => {
        const problem = gridSignalProblem(input);
        if (problem) {
          expect(() => gridSignal(input as never)).toThrow(GridSignalError);
          return;
        }
        const signal = gridSignal(input as never);
        expect(Number.isFinite(signal.startMs) && Number.isFinite(signal.endMs)).toBe(true);
        expect(signal.endMs).toBeGreaterThan(signal.startMs);
        const times = signalTimes(signal);
        expect(times.start).not.toBeNull();
        expect(times.openEnded ? times.end === null : times.end !== null).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('refuses the end time that broke the API, and shows an open limit as open', () => {
    const base = { id: 'l', source: 'mqtt', kind: 'import-limit' as const, startMs: Date.UTC(2026, 0, 1), value: 30_000 };
    expect(gridSignalProblem({ ...base, endMs: Number.MAX_SAFE_INTEGER })).toMatch(/end must be a time/);
    const open = gridSignal({ ...base, endMs: 'open' });
    expect(open).toMatchObject({ openEnded: true, endMs: OPEN_END_MS });
    expect(signalTimes(open)).toEqual({ start: '2026-01-01T00:00:00.000Z', end: null, openEnded: true });
    expect(gridSignalProblem({ ...base, endMs: base.startMs + 1, value: 1e10 })).toMatch(/outside/);
    expect(gridSignalProblem({ ...base, kind: 'load-shed', endMs: base.startMs + 1, value: 2.5 })).toMatch(/whole number/);
  });
});
