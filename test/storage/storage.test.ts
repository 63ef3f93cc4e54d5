import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { migrate, migrations } from '../../src/storage/migrations.ts';
import { openStorage } from '../../src/storage/open-storage.ts';
import { billingMonth } from '../../src/storage/peak-store.ts';
import type { Storage } from '../../src/storage/types.ts';

const T0 = Date.UTC(2026, 10, 24, 8, 0, 0);
let dir: string;
let clock: ManualClock;
let store: Storage;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ems-storage-'));
  clock = new ManualClock(T0);
  store = openStorage(join(dir, 'sub', 'ems.sqlite'), clock);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('migrations', () => {
  it('creates the schema on first open and applies nothing on the next', () => {
    expect(store.schemaVersion).toBe(Math.max(...migrations.map((m) => m.version)));
    store.close();
    const db = new BetterSqlite3(join(dir, 'sub', 'ems.sqlite'));
    const rows = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[];
    expect(rows.map((r) => r.version)).toEqual(migrations.map((m) => m.version));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    store = openStorage(join(dir, 'sub', 'ems.sqlite'), clock);
    expect(store.schemaVersion).toBe(rows.at(-1)!.version);
  });

  it('upgrades a version 3 database and keeps rolling up the minutes it already had', () => {
    store.close();
    const path = join(dir, 'v3.sqlite');
    const db = new BetterSqlite3(path);
    migrate(db, T0, migrations.filter((m) => m.version <= 3));
    // Two minutes written by the old program (no per-column counts), 60 samples each.
    db.prepare('INSERT INTO history_1m (at_ms, grid_power_w, ev_power_w, samples) VALUES (?, ?, 0, 60)').run(T0, 1000);
    db.prepare('INSERT INTO history_1m (at_ms, grid_power_w, ev_power_w, samples) VALUES (?, ?, 0, 60)').run(T0 + 60_000, 3000);
    db.close();
    store = openStorage(path, clock);
    expect(store.schemaVersion).toBe(Math.max(...migrations.map((m) => m.version)));
    store.history.record({ atMs: T0 + 15 * 60_000, evPowerW: 0 });
    expect(store.history.query(T0, T0 + 900_000, '15m')).toMatchObject([{ atMs: T0, gridPowerW: 2000 }]);
  });

  it('applies a migration numbered below one the database already has (12 after 13, branches merged in either order)', () => {
    store.close();
    const path = join(dir, 'skipped.sqlite');
    const db = new BetterSqlite3(path);
    migrate(db, T0, migrations.filter((m) => m.version !== 12));
    db.close();
    store = openStorage(path, clock);
    expect(store.refused.load()).toEqual([]);
    store.refused.save({ chargerId: 'CP1', connectorId: 1, transactionId: 7, idTag: 'NOBODY', startedAtMs: T0, drawing: true });
    expect(store.refused.load()).toEqual([{ chargerId: 'CP1', connectorId: 1, transactionId: 7, idTag: 'NOBODY', startedAtMs: T0, drawing: true }]);
  });

  it('refuses a database written by a newer program', () => {
    store.close();
    const db = new BetterSqlite3(join(dir, 'sub', 'ems.sqlite'));
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (999, ?, 0)').run('future');
    db.close();
    expect(() => openStorage(join(dir, 'sub', 'ems.sqlite'), clock)).toThrow(/newer than this program/);
    store = openStorage(':memory:', clock);
  });
});

describe('transactions', () => {
  it('hands out growing ids and keeps a transaction across a reopen', () => {
    const a = store.transactions.start({ chargerId: 'CP001', connectorId: 1, idTag: 'TAG1', startedAtMs: T0, meterStartWh: 100 });
    const b = store.transactions.start({ chargerId: 'CP002', connectorId: 1, idTag: 'TAG2', startedAtMs: T0, meterStartWh: 0 });
    expect(b).toBeGreaterThan(a);
    store.transactions.stop(a, { stoppedAtMs: T0 + 1000, meterStopWh: 900, reason: 'Local' });
    store.close();
    store = openStorage(join(dir, 'sub', 'ems.sqlite'), clock);
    expect(store.transactions.open().map((t) => t.transactionId)).toEqual([b]);
    expect(store.transactions.get(a)).toMatchObject({ transactionId: a, meterStopWh: 900, stopReason: 'Local' });
  });

  it('keeps the first stop when a transaction is stopped twice and ignores unknown ids', () => {
    const id = store.transactions.start({ chargerId: 'CP001', connectorId: 1, idTag: 'T', startedAtMs: T0, meterStartWh: 0 });
    store.transactions.stop(id, { stoppedAtMs: T0 + 1, meterStopWh: 10 });
    expect(store.transactions.stop(id, { stoppedAtMs: T0 + 2, meterStopWh: 20 })).toMatchObject({ meterStopWh: 10 });
    expect(store.transactions.stop(4242, { stoppedAtMs: T0, meterStopWh: 0 })).toBeUndefined();
  });
});

describe('session settings', () => {
  it('merges changes and clears a field set to null', () => {
    const id = store.transactions.start({ chargerId: 'CP001', connectorId: 1, idTag: 'T', startedAtMs: T0, meterStartWh: 0 });
    store.sessionSettings.save(id, { departureAtMs: T0 + 3_600_000, paused: true });
    store.sessionSettings.save(id, { energyNeedWh: 20_000, paused: false });
    expect(store.sessionSettings.get(id)).toMatchObject({ departureAtMs: T0 + 3_600_000, energyNeedWh: 20_000, paused: false, tier: null });
    store.sessionSettings.save(id, { departureAtMs: null });
    expect(store.sessionSettings.get(id)?.departureAtMs).toBeNull();
  });
});

describe('users and tokens', () => {
  it('refuses a second user with the same name', () => {
    store.users.create({ username: 'ann', passwordHash: 'h', role: 'viewer' });
    expect(() => store.users.create({ username: 'ann', passwordHash: 'x', role: 'admin' })).toThrow(/already exists/);
  });

  it('stops finding a token once it has expired, and deleting a user drops its tokens', () => {
    store.users.create({ username: 'ann', passwordHash: 'h', role: 'viewer' });
    store.tokens.create({ tokenHash: 'abc', kind: 'session', username: 'ann', expiresAtMs: T0 + 1000 });
    store.tokens.create({ tokenHash: 'api', kind: 'api', username: 'ann' });
    expect(store.tokens.find('abc')?.username).toBe('ann');
    clock.advance(1000);
    expect(store.tokens.find('abc')).toBeUndefined();
    expect(store.tokens.prune()).toBe(1);
    store.users.remove('ann');
    expect(store.tokens.find('api')).toBeUndefined();
  });
});

describe('audit log', () => {
  it('returns entries newest first with before and after', () => {
    store.audit.record({ actor: 'admin', action: 'user.create', target: 'ann', after: { role: 'viewer' } });
    clock.advance(5);
    store.audit.record({ actor: 'ann', action: 'session.update', target: 'CP001/1', before: { paused: false }, after: { paused: true } });
    const [latest, first] = store.audit.list();
    expect(latest).toMatchObject({ actor: 'ann', before: { paused: false }, after: { paused: true }, atMs: T0 + 5 });
    expect(first).toMatchObject({ action: 'user.create', before: undefined });
    expect(store.audit.list({ action: 'user.create' })).toHaveLength(1);
  });
});

describe('history', () => {
  const sample = (atMs: number, gridPowerW: number) => ({ atMs, gridPowerW, evPowerW: gridPowerW / 2, limitPowerW: 50_000 });

  it('averages finished minutes and quarter hours and keeps one sample per second', () => {
    // 16 minutes of samples at 1 s, grid power = minute index × 1000 W.
    for (let s = 0; s < 16 * 60; s++) store.history.record(sample(T0 + s * 1000 + 250, Math.floor(s / 60) * 1000));
    store.history.record(sample(T0 + 16 * 60_000 + 700, 0));
    const seconds = store.history.query(T0, T0 + 60_000, '1s');
    expect(seconds).toHaveLength(60);
    expect(seconds[0].atMs).toBe(T0);
    const minutes = store.history.query(T0, T0 + 3_600_000, '1m');
    expect(minutes).toHaveLength(16);
    expect(minutes[3]).toMatchObject({ atMs: T0 + 3 * 60_000, gridPowerW: 3000, evPowerW: 1500 });
    const quarters = store.history.query(T0, T0 + 3_600_000, '15m');
    expect(quarters).toHaveLength(1);
    expect(quarters[0].gridPowerW).toBeCloseTo(7000); // mean of 0..14 kW
  });

  it('leaves out values a site does not measure instead of counting them as zero', () => {
    for (let s = 0; s < 61; s++) store.history.record({ atMs: T0 + s * 1000, evPowerW: 10, pvPowerW: s < 30 ? 4000 : undefined });
    const [minute] = store.history.query(T0, T0 + 60_000, '1m');
    expect(minute.pvPowerW).toBe(4000);
    expect(minute.gridPowerW).toBeUndefined();
  });

  it('drops each resolution after its retention', () => {
    store.history.record(sample(T0, 1000));
    store.history.record(sample(T0 + 15 * 60_000, 1000));
    store.history.prune(T0 + 2 * 3_600_000);
    expect(store.history.query(0, T0 + 3_600_000, '1s')).toHaveLength(0);
    expect(store.history.query(0, T0 + 3_600_000, '1m')).toHaveLength(1);
    store.history.prune(T0 + 8 * 24 * 3_600_000);
    expect(store.history.query(0, T0 + 3_600_000, '1m')).toHaveLength(0);
    expect(store.history.query(0, T0 + 3_600_000, '15m')).toHaveLength(1);
  });

  it('resumes rolling up after a reopen', () => {
    for (let s = 0; s < 30; s++) store.history.record(sample(T0 + s * 1000, 2000));
    store.close();
    store = openStorage(join(dir, 'sub', 'ems.sqlite'), clock);
    for (let s = 30; s < 61; s++) store.history.record(sample(T0 + s * 1000, 2000));
    expect(store.history.query(T0, T0 + 60_000, '1m')).toMatchObject([{ atMs: T0, gridPowerW: 2000 }]);
  });
});

describe('monthly peak', () => {
  it('only ever rises within a month and starts again next month', () => {
    store.peaks.offer('2026-11', 40_000, T0);
    store.peaks.offer('2026-11', 30_000, T0 + 1);
    expect(store.peaks.get('2026-11')).toMatchObject({ peakPowerW: 40_000, atMs: T0 });
    expect(store.peaks.offer('2026-12', 5_000, T0 + 2).peakPowerW).toBe(5_000);
    expect(store.peaks.current(T0, 'Europe/Berlin')).toMatchObject({ month: '2026-11', peak: { peakPowerW: 40_000 } });
  });

  it('uses the site time zone for the billing month', () => {
    const newYearBerlin = Date.UTC(2026, 11, 31, 23, 30);
    expect(billingMonth(newYearBerlin, 'UTC')).toBe('2026-12');
    expect(billingMonth(newYearBerlin, 'Europe/Berlin')).toBe('2027-01');
  });
});
