// Group commit on the synchronous=NORMAL connection: transactions and the local controller's queue
// are written without an fsync on the event loop, then made durable by one fsync (on the thread
// pool) shared by every caller that arrived meanwhile. Real SQLite on a temp file.
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { openStorage } from '../../src/storage/open-storage.ts';
import { WalSync } from '../../src/storage/wal-sync.ts';

describe('WalSync', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'ems-wal-sync-'));
    dirs.push(dir);
    return dir;
  };
  /** A WAL database at synchronous=NORMAL with one table, and the WalSync of its WAL. */
  const normalWalDb = () => {
    const path = join(tempDir(), 'ems.sqlite');
    const db = new BetterSqlite3(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE t (v INTEGER)');
    return { path, db, wal: new WalSync(`${path}-wal`), insert: db.prepare('INSERT INTO t (v) VALUES (?)') };
  };

  it('shares one fsync among the callers that arrive while one runs, and never lets a caller ride on an fsync that began before it', async () => {
    const { db, wal, insert } = normalWalDb();
    insert.run(0);
    const first = wal.flushed();
    // 50 more writes while the first fsync runs: they all wait for the second one, none starts a third.
    const later = Array.from({ length: 50 }, (_, i) => {
      insert.run(i + 1);
      return wal.flushed();
    });
    let firstDone = false;
    void first.then(() => (firstDone = true));
    await Promise.all(later);
    expect(firstDone).toBe(true);
    expect(wal.syncs).toBe(2);
    // Nothing pending: the next caller gets a fresh fsync of its own.
    await wal.flushed();
    expect(wal.syncs).toBe(3);
    db.close();
  });

  it('resolves at once for an in-memory database and when the WAL file is gone (checkpointed into the synced database file)', async () => {
    await expect(new WalSync(undefined).flushed()).resolves.toBeUndefined();
    const wal = new WalSync(join(tempDir(), 'absent.sqlite-wal'));
    await expect(wal.flushed()).resolves.toBeUndefined();
    expect(wal.syncs).toBe(0);
  });

  it('keeps the WAL open from flush to flush, also across a checkpoint that truncates it (the same file), and syncs what is written after', async () => {
    const { path, db, wal, insert } = normalWalDb();
    for (let i = 0; i < 20; i++) {
      insert.run(i);
      await wal.flushed();
    }
    expect(wal.syncs).toBe(20);
    expect(wal.opens).toBe(1);
    db.pragma('wal_checkpoint(TRUNCATE)');
    expect(statSync(`${path}-wal`).size).toBe(0);
    insert.run(20);
    await wal.flushed();
    expect(wal.opens).toBe(1);
    expect(wal.syncs).toBe(21);
    const { dev, ino } = statSync(`${path}-wal`);
    expect(wal.openFile()).toEqual({ dev, ino });
    wal.close();
    expect(wal.openFile()).toBeUndefined();
    // Closed with its storage: nothing more to sync.
    await wal.flushed();
    expect(wal.syncs).toBe(21);
    db.close();
  });

  it('opens the WAL again when SQLite deleted it (its last connection closed) and made a new one, and syncs the new file', async () => {
    const path = join(tempDir(), 'ems.sqlite');
    let db = new BetterSqlite3(path);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (v INTEGER)');
    const wal = new WalSync(`${path}-wal`);
    db.prepare('INSERT INTO t (v) VALUES (1)').run();
    await wal.flushed();
    const before = wal.openFile();
    expect(before).toBeDefined();
    db.close();
    // Deleted, not yet made again: nothing to sync (it was checkpointed into the synced database file).
    expect(existsSync(`${path}-wal`)).toBe(false);
    await wal.flushed();
    expect(wal.syncs).toBe(1);
    expect(wal.openFile()).toBeUndefined();
    db = new BetterSqlite3(path);
    db.pragma('synchronous = NORMAL');
    db.prepare('INSERT INTO t (v) VALUES (2)').run();
    await wal.flushed();
    const { dev, ino } = statSync(`${path}-wal`);
    expect(wal.openFile()).toEqual({ dev, ino });
    expect(wal.opens).toBe(2);
    expect(wal.syncs).toBe(2);
    // A new file made while the old one is still held open (nlink 0) is found too.
    const held = wal.openFile();
    db.close();
    db = new BetterSqlite3(path);
    db.prepare('INSERT INTO t (v) VALUES (3)').run();
    expect(statSync(`${path}-wal`).ino === held!.ino && statSync(`${path}-wal`).dev === held!.dev).toBe(false);
    await wal.flushed();
    expect(wal.openFile()).toEqual({ dev: statSync(`${path}-wal`).dev, ino: statSync(`${path}-wal`).ino });
    expect(wal.opens).toBe(3);
    wal.close();
    db.close();
  });

  it('the storage answers transactions and queued frames from the NORMAL connection, and flushed() covers them', async () => {
    const path = join(tempDir(), 'ems.sqlite');
    const clock = new ManualClock(Date.parse('2026-12-06T08:00:00Z'));
    const store = openStorage(path, clock);
    const id = store.transactions.start({ chargerId: 'CP1', connectorId: 1, idTag: 'T', startedAtMs: clock.nowMs(), meterStartWh: 0 });
    store.upstream.enqueue({ chargerId: 'CP1', action: 'StartTransaction', payload: { idTag: 'T' }, queuedAtMs: clock.nowMs() });
    await Promise.all([store.transactions.flushed?.(), store.upstream.flushed(), store.flushed()]);
    // Another process opening the file (as after kill -9) sees both.
    const other = new BetterSqlite3(path, { readonly: true });
    expect(other.prepare('SELECT id FROM transactions').all()).toEqual([{ id }]);
    expect(other.prepare('SELECT action FROM upstream_queue').all()).toEqual([{ action: 'StartTransaction' }]);
    other.close();
    store.close();
  });
});
