import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { Bus, type GridSignal } from '../../src/bus.ts';
import { systemClock } from '../../src/clock.ts';
import { createLogger, silentLogger } from '../../src/log.ts';
import type { ServiceContext } from '../../src/service.ts';
import { createJsonSignalStore } from '../../src/signals/json-signal-store.ts';
import { createMemorySignalStore } from '../../src/signals/signal-store.ts';
import { createSignalTimeline } from '../../src/signals/timeline-service.ts';
import type { AuditEntry, TimelineSignal } from '../../src/signals/types.ts';
import { SiteState } from '../../src/state/site-state.ts';

const T0 = Date.parse('2026-11-24T16:00:00Z');
const MIN = 60_000;

function context(): ServiceContext {
  const config = configSchema.parse({ grid: { maxCurrent: 100 } });
  const bus = new Bus(silentLogger);
  return { config, bus, log: silentLogger, clock: systemClock, state: new SiteState(config, bus) };
}

const limit = (id: string, startMs: number, endMs: number, value: number, eventId = id): TimelineSignal => ({
  id,
  source: 'vtn',
  kind: 'import-limit',
  startMs,
  endMs,
  value,
  eventId,
});

describe('grid-signal timeline', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    vi.setSystemTime(T0);
  });
  afterEach(() => vi.useRealTimers());

  it('applies an import limit when it starts and lifts it when it ends, on time', async () => {
    const ctx = context();
    const seen: GridSignal[][] = [];
    ctx.bus.on('signals.changed', ({ signals }) => seen.push(signals));
    const timeline = createSignalTimeline(ctx, createMemorySignalStore());
    await timeline.start();
    timeline.submit('vtn', [limit('cap', T0 + 10 * MIN, T0 + 70 * MIN, 40_000)]);
    expect(ctx.state.snapshot(Date.now()).signals.importLimitW).toBeUndefined();
    const before = seen.length;
    await vi.advanceTimersByTimeAsync(10 * MIN);
    expect(seen.length).toBe(before + 1);
    expect(ctx.state.snapshot(Date.now()).signals.importLimitW).toBe(40_000);
    await vi.advanceTimersByTimeAsync(60 * MIN);
    expect(ctx.state.snapshot(Date.now()).signals.importLimitW).toBeUndefined();
    expect(seen.at(-1)).toEqual([]);
    await timeline.stop();
  });

  it('keeps the strictest of overlapping limits from different producers', async () => {
    const ctx = context();
    const timeline = createSignalTimeline(ctx, createMemorySignalStore());
    await timeline.start();
    timeline.submit('vtn', [limit('a', T0, T0 + 60 * MIN, 80_000)]);
    timeline.submit('mqtt', [{ ...limit('b', T0, T0 + 30 * MIN, 50_000), source: 'mqtt' }]);
    expect(ctx.state.snapshot(Date.now()).signals.importLimitW).toBe(50_000);
    timeline.clear('mqtt');
    expect(ctx.state.snapshot(Date.now()).signals.importLimitW).toBe(80_000);
    await timeline.stop();
  });

  it('does not rewrite the store or re-announce when a producer repeats the same set', async () => {
    const ctx = context();
    const store = createMemorySignalStore();
    let announcements = 0;
    ctx.bus.on('signals.changed', () => announcements++);
    const timeline = createSignalTimeline(ctx, store);
    await timeline.start();
    const set = [limit('a', T0, T0 + 60 * MIN, 10_000)];
    timeline.submit('vtn', set);
    const [saved, announced] = [store.saved, announcements];
    for (let i = 0; i < 5; i++) timeline.submit('vtn', structuredClone(set));
    expect([store.saved, announcements]).toEqual([saved, announced]);
    timeline.submit('vtn', [limit('a', T0, T0 + 60 * MIN, 9_000)]);
    expect([store.saved, announcements]).toEqual([saved + 1, announced + 1]);
    await timeline.stop();
  });

  it('rejects a malformed signal with a clear error and keeps the previous set', async () => {
    const ctx = context();
    const timeline = createSignalTimeline(ctx, createMemorySignalStore());
    await timeline.start();
    timeline.submit('vtn', [limit('a', T0, T0 + MIN, 10_000)]);
    expect(() => timeline.submit('vtn', [limit('b', T0 + MIN, T0, 5_000)])).toThrow(/end must be after start/);
    expect(() => timeline.submit('vtn', [{ ...limit('c', T0, T0 + MIN, 1), kind: 'bogus' as never }])).toThrow(/kind must be one of/);
    expect(timeline.list().map((s) => s.id)).toEqual(['a']);
    await timeline.stop();
  });

  it('lets an operator opt out of an event, records it in the audit log, and lifts its limit', async () => {
    const ctx = context();
    const audit: AuditEntry[] = [];
    const timeline = createSignalTimeline(ctx, createMemorySignalStore(), { audit: { record: (e) => audit.push(e) } });
    const changes: string[] = [];
    timeline.onOptChange((c) => changes.push(`${c.source}/${c.eventId}/${c.opt}/${c.by}`));
    await timeline.start();
    timeline.submit('vtn', [limit('i0', T0, T0 + 30 * MIN, 30_000, 'shed-1'), limit('i1', T0 + 30 * MIN, T0 + 60 * MIN, 20_000, 'shed-1')]);
    expect(() => timeline.optOut('shed-1', { username: 'eve', role: 'viewer' })).toThrow(/operator role/);
    expect(() => timeline.optOut('nope', { username: 'olga', role: 'operator' })).toThrow(/no active or upcoming event/);
    timeline.optOut('shed-1', { username: 'olga', role: 'operator' });
    expect(ctx.state.snapshot(Date.now()).signals.importLimitW).toBeUndefined();
    expect(timeline.list().map((s) => [s.id, s.opt, s.active])).toEqual([
      ['i0', 'out', true],
      ['i1', 'out', false],
    ]);
    expect(changes).toEqual(['vtn/shed-1/out/olga']);
    expect(audit).toEqual([expect.objectContaining({ actor: 'olga', action: 'signals.opt-out', target: 'shed-1' })]);
    // the VTN re-sends the same event: the opt-out stands
    timeline.submit('vtn', [limit('i0', T0, T0 + 30 * MIN, 30_000, 'shed-1')]);
    expect(ctx.state.snapshot(Date.now()).signals.importLimitW).toBeUndefined();
    timeline.optIn('shed-1', { username: 'olga', role: 'admin' });
    expect(ctx.state.snapshot(Date.now()).signals.importLimitW).toBe(30_000);
    await timeline.stop();
  });

  it('restores active and upcoming events and opt-outs after a restart, dropping ended ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signals-'));
    const path = join(dir, 'signals.json');
    const first = createSignalTimeline(context(), createJsonSignalStore(path));
    await first.start();
    first.submit('vtn', [
      limit('now', T0, T0 + 60 * MIN, 25_000, 'e1'),
      limit('later', T0 + 120 * MIN, T0 + 180 * MIN, 15_000, 'e2'),
      { ...limit('price', T0, T0 + 5 * MIN, 0.4, 'e3'), kind: 'price' },
    ]);
    first.optOut('e2', { username: 'olga', role: 'operator' });
    await first.stop();

    vi.setSystemTime(T0 + 10 * MIN);
    const ctx = context();
    const second = createSignalTimeline(ctx, createJsonSignalStore(path));
    await second.start();
    expect(ctx.state.snapshot(Date.now()).signals.importLimitW).toBe(25_000);
    expect(second.list().map((s) => [s.id, s.opt])).toEqual([
      ['now', 'in'],
      ['later', 'out'],
    ]);
    await second.stop();
  });

  it('says which stored signal it drops on restore because it breaks the rules, and keeps the valid ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signals-'));
    const path = join(dir, 'signals.json');
    // As an older version wrote them: an MQTT limit with no end, and a limit of -5 kW.
    writeFileSync(
      path,
      JSON.stringify({
        signals: [
          limit('good', T0, T0 + 60 * MIN, 20_000),
          { ...limit('forever', T0, Number.MAX_SAFE_INTEGER, 30_000), source: 'mqtt' },
          limit('negative', T0, T0 + 60 * MIN, -5_000),
        ],
        optOuts: [],
      }),
    );
    const lines: Record<string, any>[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean).map((l) => JSON.parse(l)));
        done();
      },
    });
    const ctx = { ...context(), log: createLogger({ destination: sink, format: 'json', level: 'info' }) };
    const timeline = createSignalTimeline(ctx, createJsonSignalStore(path));
    await timeline.start();
    expect(timeline.list().map((s) => s.id)).toEqual(['good']);
    expect(ctx.state.snapshot(Date.now()).signals.importLimitW).toBe(20_000);
    const dropped = lines.filter((l) => l.msg === 'dropped a stored grid signal that is not valid; it is not in force');
    expect(dropped.map((l) => [l.level, l.signal.id, l.signal.source])).toEqual([
      [40, 'forever', 'mqtt'],
      [40, 'negative', 'vtn'],
    ]);
    for (const line of dropped) expect(line.problem).toEqual(expect.any(String));
    expect(dropped[0]!.signal.endMs).toBe(Number.MAX_SAFE_INTEGER);
    expect(lines.find((l) => l.msg === 'restored grid signals')?.signals).toBe(1);
    await timeline.stop();
  });

  it('starts empty and keeps running when the store file is corrupt', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signals-'));
    const path = join(dir, 'signals.json');
    writeFileSync(path, '{not json');
    const timeline = createSignalTimeline(context(), createJsonSignalStore(path));
    await timeline.start();
    expect(timeline.list()).toEqual([]);
    timeline.submit('vtn', [limit('a', T0, T0 + MIN, 10_000)]);
    expect(JSON.parse(readFileSync(path, 'utf8')).signals).toHaveLength(1);
    await timeline.stop();
  });
});
