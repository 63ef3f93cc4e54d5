// SQLite's WAL checkpoints on a worker thread instead of inside a commit on the event loop (#14).
// Real SQLite files in a temp directory, the real worker thread; the ticks are driven by the test
// (an injected Wait that fires only when told), no sleeps.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import BetterSqlite3 from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, type Wait } from '../../src/clock.ts';
import { openStorage } from '../../src/storage/open-storage.ts';
import { SQLITE_AUTO_CHECKPOINT_PAGES, WalCheckpointer } from '../../src/storage/wal-checkpointer.ts';
import type { Storage } from '../../src/storage/types.ts';
import { waitFor } from '../helpers/wait-for.ts';

/** Waits that end only when the test says so. */
class ManualWait {
  private readonly waiting = new Set<() => void>();
  readonly wait: Wait = () => {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.waiting.add(resolve);
    return { promise, cancel: () => this.waiting.delete(resolve) };
  };
  fireAll(): void {
    const all = [...this.waiting];
    this.waiting.clear();
    for (const resolve of all) resolve();
  }
}

const PAGE_BYTES = 4096;
/** The WAL's length in frames, from the wal-index header (as the worker reads it). */
const walFrames = (path: string) => readFileSync(`${path}-shm`).readUInt32LE(16);

describe('WalCheckpointer', () => {
  const dirs: string[] = [];
  const closers: (() => unknown)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
  });

  const setUp = (options: { maxWalFrames?: number; minFrames?: number; path?: string; workerSource?: string } = {}) => {
    const dir = mkdtempSync(join(tmpdir(), 'ems-checkpointer-'));
    dirs.push(dir);
    const store = openStorage(join(dir, 'ems.sqlite'), new ManualClock(Date.parse('2026-12-07T00:00:00Z')));
    closers.push(() => store.close());
    const autoCheckpoint: number[] = [];
    const lines: { level: number; msg: string }[] = [];
    const log = pino({ level: 'debug' }, new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk)) as { level: number; msg: string }), done()) }));
    const timers = new ManualWait();
    const checkpointer = new WalCheckpointer({
      path: options.path ?? store.path,
      autoCheckpoint: (pages) => {
        autoCheckpoint.push(pages);
        store.autoCheckpoint(pages);
      },
      wait: timers.wait,
      log,
      ...options,
    });
    closers.push(() => checkpointer.stop());
    const warnings = () => lines.filter((l) => l.level === 40).map((l) => l.msg);
    const infos = () => lines.filter((l) => l.level === 30).map((l) => l.msg);
    return { store, checkpointer, autoCheckpoint, timers, warnings, infos };
  };

  /** Queued frames of ~1.5 KB: about one WAL page each once indexes and the table's pages are counted. */
  const write = (store: Storage, count: number) => {
    for (let i = 0; i < count; i++) store.upstream.enqueue({ chargerId: 'CP1', action: 'MeterValues', payload: { pad: 'x'.repeat(1500), i }, queuedAtMs: i });
  };

  it('takes the checkpoints off the EMS connections: their WAL grows past SQLite’s 1,000 pages, the worker copies it into the database file, the next commit restarts it', async () => {
    const { store, checkpointer, autoCheckpoint, warnings } = setUp();
    await checkpointer.start();
    expect(autoCheckpoint).toEqual([0]);
    const dbBytesBefore = statSync(store.path).size;
    write(store, 3_000);
    // No commit checkpointed: the WAL holds every frame written (SQLite would have restarted it at 1,000).
    const frames = walFrames(store.path);
    expect(frames).toBeGreaterThan(3 * SQLITE_AUTO_CHECKPOINT_PAGES);
    expect(statSync(`${store.path}-wal`).size).toBeGreaterThan(3 * SQLITE_AUTO_CHECKPOINT_PAGES * PAGE_BYTES);
    expect(statSync(store.path).size).toBe(dbBytesBefore);

    await checkpointer.poll();
    expect(checkpointer.checkpoints).toBe(1);
    expect(checkpointer.last).toMatchObject({ busy: 0, log: frames, checkpointed: frames });
    expect(statSync(store.path).size).toBeGreaterThan(dbBytesBefore + SQLITE_AUTO_CHECKPOINT_PAGES * PAGE_BYTES);
    // The next commit starts the WAL over; a short WAL is not checkpointed again.
    write(store, 1);
    expect(walFrames(store.path)).toBeLessThan(10);
    await checkpointer.poll();
    expect(checkpointer.checkpoints).toBe(1);
    expect(checkpointer.last?.passes).toBe(0);
    expect(store.upstream.count('CP1')).toBe(3_001);
    expect(warnings()).toEqual([]);
  });

  it('gives the checkpoints back to SQLite the moment its worker dies (logged once), and takes them again once the worker is back', async () => {
    const { store, checkpointer, autoCheckpoint, timers, warnings, infos } = setUp();
    await checkpointer.start();
    // A crash of the worker thread (out of memory, a native fault): it is gone without closing.
    await (checkpointer as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await waitFor(() => checkpointer.fallbackReason?.includes('exited'), 'the fallback');
    expect(autoCheckpoint).toEqual([0, SQLITE_AUTO_CHECKPOINT_PAGES]);
    // Meanwhile the EMS's own commits checkpoint, as SQLite does by default: the WAL stays short.
    write(store, 2_500);
    expect(walFrames(store.path)).toBeLessThan(2 * SQLITE_AUTO_CHECKPOINT_PAGES);
    expect(warnings()).toHaveLength(1);
    // The retry (one interval later) brings a new worker up and the checkpoints back onto it.
    timers.fireAll();
    await waitFor(() => checkpointer.fallbackReason === undefined, 'the worker back');
    expect(autoCheckpoint).toEqual([0, SQLITE_AUTO_CHECKPOINT_PAGES, 0]);
    expect(infos()).toContain('SQLite checkpoints off the event loop again');
    write(store, 1_500);
    await checkpointer.poll();
    expect(checkpointer.last).toMatchObject({ busy: 0, passes: 1 });
    expect(checkpointer.last!.checkpointed).toBe(checkpointer.last!.log);
    expect(warnings()).toHaveLength(1);
  });

  it('a WAL the worker cannot empty (a reader holds an old snapshot) brings SQLite’s own checkpoint back until it is short again', async () => {
    const { store, checkpointer, autoCheckpoint, warnings, infos } = setUp({ minFrames: 50, maxWalFrames: 500 });
    await checkpointer.start();
    write(store, 10);
    const reader = new BetterSqlite3(store.path, { readonly: true });
    closers.push(() => reader.close());
    reader.prepare('BEGIN').run();
    expect(reader.prepare('SELECT COUNT(*) AS n FROM upstream_queue').get()).toEqual({ n: 10 });
    write(store, 1_000);
    await checkpointer.poll();
    expect(checkpointer.last!.checkpointed).toBeLessThan(checkpointer.last!.log);
    expect(checkpointer.fallbackReason).toMatch(/frames after a checkpoint/);
    expect(autoCheckpoint).toEqual([0, SQLITE_AUTO_CHECKPOINT_PAGES]);
    await checkpointer.poll();
    expect(warnings()).toHaveLength(1);
    // The reader ends: the next checkpoint copies everything, the checkpoints go back to the worker.
    reader.prepare('COMMIT').run();
    await checkpointer.poll();
    expect(checkpointer.last!.checkpointed).toBe(checkpointer.last!.log);
    expect(checkpointer.fallbackReason).toBeUndefined();
    expect(autoCheckpoint).toEqual([0, SQLITE_AUTO_CHECKPOINT_PAGES, 0]);
    expect(infos()).toContain('SQLite checkpoints off the event loop again');
  });

  it('a worker that stops answering (a checkpoint stuck on a stalled disk) gets no second request, and SQLite’s checkpoint is back after three intervals', async () => {
    // Ready, then never answers a checkpoint: as a worker blocked in an fsync that does not return.
    const stuck = `const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => { if (m.type === 'close') parentPort.close(); }); parentPort.postMessage({ type: 'ready' });`;
    const { checkpointer, autoCheckpoint, warnings } = setUp({ workerSource: stuck });
    await checkpointer.start();
    expect(autoCheckpoint).toEqual([0]);
    void checkpointer.poll();
    await checkpointer.poll();
    await checkpointer.poll();
    expect(checkpointer.fallbackReason).toBeUndefined();
    await checkpointer.poll();
    expect(checkpointer.fallbackReason).toMatch(/has not answered for three intervals/);
    expect(autoCheckpoint).toEqual([0, SQLITE_AUTO_CHECKPOINT_PAGES]);
    expect(warnings()).toHaveLength(1);
  });

  it('stop() closes the worker’s connection first: the EMS’s last close checkpoints and removes the WAL as before', async () => {
    const { store, checkpointer, autoCheckpoint } = setUp();
    await checkpointer.start();
    write(store, 100);
    await checkpointer.stop();
    expect(autoCheckpoint).toEqual([0, SQLITE_AUTO_CHECKPOINT_PAGES]);
    store.close();
    expect(existsSync(`${store.path}-wal`)).toBe(false);
    const reopened = openStorage(store.path, new ManualClock(0));
    expect(reopened.upstream.count('CP1')).toBe(100);
    reopened.close();
  });

  it('a worker that cannot open the database leaves SQLite’s checkpoint on, says so once, and start() still returns', async () => {
    const { checkpointer, autoCheckpoint, warnings } = setUp({ path: '/nonexistent-dir/ems.sqlite' });
    await checkpointer.start();
    expect(checkpointer.fallbackReason).toBeDefined();
    expect(autoCheckpoint).toEqual([]);
    expect(warnings()).toHaveLength(1);
    await expect(checkpointer.checkpoint()).rejects.toThrow(/not running/);
  });

  it('kill -9 of an EMS while its worker checkpoints: every committed row is there after the restart and the database is intact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ems-checkpointer-kill-'));
    dirs.push(dir);
    const path = join(dir, 'ems.sqlite');
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'checkpoint-writer.ts'), path], { stdio: ['ignore', 'pipe', 'inherit'] });
    let committed = 0;
    let checkpoints = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      const last = String(chunk).trim().split('\n').pop()!.split(' ').map(Number);
      committed = last[0]!;
      checkpoints = last[1]!;
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // Killed while writing, after the worker has checkpointed a few times.
    await waitFor(() => checkpoints >= 5 || child.exitCode !== null, 'five checkpoints in the writer', 60_000);
    child.kill('SIGKILL');
    await exited;
    expect(checkpoints).toBeGreaterThanOrEqual(5);
    const store = openStorage(path, new ManualClock(0));
    closers.push(() => store.close());
    expect(store.upstream.count('CP1')).toBeGreaterThanOrEqual(committed);
    const db = new BetterSqlite3(path, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  }, 90_000);
});
