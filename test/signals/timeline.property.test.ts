import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SignalTimeline } from '../../src/signals/signal-timeline.ts';
import type { TimelineSignal } from '../../src/signals/types.ts';

const T0 = 1_800_000_000_000;

const arbSignal = fc
  .record({
    source: fc.constantFrom('vtn-a', 'vtn-b', 'mqtt:box'),
    eventId: fc.constantFrom('e1', 'e2', 'e3', 'e4'),
    kind: fc.constantFrom('import-limit' as const, 'export-limit' as const, 'price' as const),
    startS: fc.integer({ min: 0, max: 3600 }),
    lengthS: fc.integer({ min: 1, max: 3600 }),
    value: fc.integer({ min: 0, max: 200_000 }),
  })
  .map(
    (s): TimelineSignal => ({
      id: '',
      source: s.source,
      eventId: s.eventId,
      kind: s.kind,
      startMs: T0 + s.startS * 1000,
      endMs: T0 + (s.startS + s.lengthS) * 1000,
      value: s.value,
    }),
  );

describe('grid-signal timeline invariants', () => {
  it('hands on every signal not yet ended and not opted out (upcoming ones too, for the planner)', () => {
    fc.assert(
      fc.property(
        fc.array(arbSignal, { maxLength: 30 }),
        fc.array(fc.tuple(fc.constantFrom('vtn-a', 'vtn-b', 'mqtt:box'), fc.constantFrom('e1', 'e2', 'e3', 'e4')), { maxLength: 4 }),
        fc.integer({ min: 0, max: 7200 }),
        (signals, optOuts, atS) => {
          const timeline = new SignalTimeline();
          const bySource = new Map<string, TimelineSignal[]>();
          signals.forEach((s, i) => bySource.set(s.source, [...(bySource.get(s.source) ?? []), { ...s, id: `s${i}` }]));
          for (const [source, list] of bySource) timeline.replace(source, list, T0);
          for (const [source, eventId] of optOuts) timeline.setOpt(source, eventId, 'out', 'olga', T0);
          const atMs = T0 + atS * 1000;
          const optedOut = (s: TimelineSignal) => optOuts.some(([source, eventId]) => source === s.source && eventId === s.eventId);
          const expected = [...bySource.values()].flat().filter((s) => s.endMs > atMs && !optedOut(s));
          const effective = timeline.effective(atMs);
          expect(effective.map((s) => s.id).sort()).toEqual(expected.map((s) => s.id).sort());
          // The next boundary is never skipped: nothing in force changes strictly before it.
          const next = timeline.nextBoundaryMs(atMs);
          const boundaries = [...bySource.values()].flat().flatMap((s) => [s.startMs, s.endMs]).filter((t) => t > atMs);
          expect(next).toBe(boundaries.length ? Math.min(...boundaries) : undefined);
        },
      ),
    );
  });

  it('a stored timeline restores to the same set in force', () => {
    fc.assert(
      fc.property(fc.array(arbSignal, { maxLength: 20 }), fc.integer({ min: 0, max: 7200 }), (signals, atS) => {
        const timeline = new SignalTimeline();
        const bySource = new Map<string, TimelineSignal[]>();
        signals.forEach((s, i) => bySource.set(s.source, [...(bySource.get(s.source) ?? []), { ...s, id: `s${i}` }]));
        for (const [source, list] of bySource) timeline.replace(source, list, T0);
        timeline.setOpt('vtn-a', 'e1', 'out', 'olga', T0);
        const atMs = T0 + atS * 1000;
        const restored = SignalTimeline.from(JSON.parse(JSON.stringify(timeline.toStored())), atMs);
        expect(restored.effective(atMs)).toEqual(timeline.effective(atMs));
      }),
    );
  });
});
