import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Wait } from '../clock.ts';
import type { Logger } from '../log.ts';

/** SQLite's own default: a commit that leaves the WAL this long (pages) checkpoints it, on the thread that committed. */
export const SQLITE_AUTO_CHECKPOINT_PAGES = 1_000;

/** What one PASSIVE checkpoint did (SQLite's `PRAGMA wal_checkpoint` row). */
export interface CheckpointResult {
  /** 1 when it could not finish (a reader still needs frames it could not copy). */
  busy: number;
  /** Frames in the WAL when it ran. */
  log: number;
  /** Frames copied into the database file so far; -1 when the WAL was shorter than asked for and nothing ran. */
  checkpointed: number;
  /** PASSIVE checkpoints run for this request (0: skipped). */
  passes: number;
}

export interface WalCheckpointerOptions {
  /** The database file (not `:memory:`). */
  path: string;
  /** Turns SQLite's automatic checkpoint of this process's connections on (pages) or off (0). */
  autoCheckpoint(pages: number): void;
  wait: Wait;
  log: Logger;
  /** How often the worker looks at the WAL's length, ms. */
  intervalMs?: number;
  /** The worker checkpoints once the WAL holds this many frames (SQLite's automatic threshold by default). */
  minFrames?: number;
  /**
   * A WAL longer than this (frames) that a checkpoint could not copy to its end means the worker
   * does not keep up (a reader holding an old snapshot, or commits landing during every pass keep
   * the WAL from restarting): the event loop's automatic checkpoint is switched back on until a
   * checkpoint reaches the end again.
   */
  maxWalFrames?: number;
  /** The worker's code (tests: a worker that hangs); the real one by default. */
  workerSource?: string;
}

// The worker: plain JavaScript (it must load under plain node, tsx and vitest alike), one
// connection of its own at synchronous=NORMAL, so a checkpoint syncs the WAL before copying it and
// the database file after (what SQLite does on the committing thread otherwise).
const WORKER_SOURCE = `
const { readSync, openSync, closeSync } = require('node:fs');
const { endianness } = require('node:os');
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('synchronous = NORMAL');
db.pragma('wal_autocheckpoint = 0');
const header = Buffer.alloc(24);
// The WAL's length in frames: mxFrame in the wal-index header (the -shm file's first bytes, native
// byte order, https://sqlite.org/walformat.html). Read, never written; NaN when unreadable.
function walFrames() {
  let fd;
  try {
    fd = openSync(workerData.path + '-shm', 'r');
    if (readSync(fd, header, 0, 24, 0) < 24) return NaN;
    return endianness() === 'LE' ? header.readUInt32LE(16) : header.readUInt32BE(16);
  } catch {
    return NaN;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
parentPort.on('message', (message) => {
  if (message.type === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const frames = walFrames();
    if (frames < message.minFrames) {
      parentPort.postMessage({ type: 'done', id: message.id, busy: 0, log: frames, checkpointed: -1, passes: 0 });
      return;
    }
    let row;
    let passes = 0;
    // Commits that land during a pass keep the WAL from restarting (its next writer restarts it
    // only when every frame is copied); they are few, so another pass or two catch up.
    do {
      row = db.pragma('wal_checkpoint(PASSIVE)')[0];
      passes++;
    } while (row.busy === 0 && row.checkpointed < row.log && passes < 4);
    parentPort.postMessage({ type: 'done', id: message.id, busy: row.busy, log: row.log, checkpointed: row.checkpointed, passes });
  } catch (error) {
    parentPort.postMessage({ type: 'failed', id: message.id, message: String((error && error.message) || error) });
  }
});
parentPort.postMessage({ type: 'ready' });
`;

type WorkerMessage = { type: 'ready' } | ({ type: 'done'; id: number } & CheckpointResult) | { type: 'failed'; id: number; message: string };

/**
 * Runs SQLite's WAL checkpoints on a worker thread, not on the event loop. A checkpoint copies the
 * WAL into the database file and fsyncs both; SQLite's automatic one runs inside whichever commit
 * crosses 1,000 WAL pages, so on the EMS's event loop, where one fsync on a busy disk stalls every
 * charger. While the worker is up, the EMS's connections have `wal_autocheckpoint = 0`; every
 * `intervalMs` the worker reads the WAL's length and, from `minFrames` on (SQLite's own 1,000 by
 * default), runs a PASSIVE checkpoint (it never waits for readers or writers).
 *
 * Crash safety is SQLite's: a checkpoint interrupted anywhere (kill -9, power loss) leaves the WAL
 * valid, the next open replays it. What must not happen is a WAL that grows without end, so the
 * automatic checkpoint comes back on (on the event loop, as before) whenever the worker cannot do
 * its job: it failed to start, died, stopped answering for three intervals, or its checkpoints
 * leave more than `maxWalFrames` in the WAL. Each is logged once when it starts and once when it clears.
 *
 * What stays on the event loop: the first commit after a checkpoint restarts the WAL from its
 * start and syncs its header (SQLite's rule at synchronous=NORMAL): one small fsync per checkpoint
 * instead of the three SQLite's automatic checkpoint makes there.
 */
export class WalCheckpointer {
  readonly name = 'wal-checkpointer';
  private worker: Worker | undefined;
  private ready = false;
  private stopped = true;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(r: CheckpointResult): void; reject(e: Error): void }>();
  private timer: ReturnType<Wait> | undefined;
  /** Whether the last checkpoint failed (logged once when that starts, once when it clears). */
  private failing = false;
  /** Checkpoint requests sent and not answered, counted at each tick. */
  private unansweredTicks = 0;
  /** Why the event loop's automatic checkpoint is on, if it is (logged once per cause). */
  private fallback: string | undefined = 'the checkpoint worker is not running';
  /** Whether the current fallback was logged as a warning (then its end is logged too). */
  private fallbackWarned = false;
  private readonly intervalMs: number;
  private readonly maxWalFrames: number;
  private readonly minFrames: number;
  /** Delay before the next attempt to start a worker that died or did not start. */
  private retryMs: number;
  /** Checkpoints the worker has run (for tests and the bench). */
  checkpoints = 0;
  /** The last checkpoint's result. */
  last: CheckpointResult | undefined;

  constructor(private readonly options: WalCheckpointerOptions) {
    this.intervalMs = options.intervalMs ?? 1_000;
    this.minFrames = options.minFrames ?? SQLITE_AUTO_CHECKPOINT_PAGES;
    this.retryMs = this.intervalMs;
    this.maxWalFrames = options.maxWalFrames ?? 16 * SQLITE_AUTO_CHECKPOINT_PAGES;
  }

  /** Starts the worker; resolves once it runs the checkpoints (or once the fallback is in force if it cannot start). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.spawn();
    this.tick();
  }

  /** Whether the event loop's automatic checkpoint is on, and why. */
  get fallbackReason(): string | undefined {
    return this.fallback;
  }

  /** One checkpoint now, on the worker (if the WAL holds at least `minFrames`). Rejects when the worker is not up or the checkpoint fails. */
  checkpoint(minFrames = 0): Promise<CheckpointResult> {
    const worker = this.worker;
    if (!worker || !this.ready) return Promise.reject(new Error('the checkpoint worker is not running'));
    const id = this.nextId++;
    return new Promise<CheckpointResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ type: 'checkpoint', id, minFrames });
    });
  }

  /** Stops the worker (its connection closed first) and gives the checkpoints back to SQLite. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.fallBack('the checkpoint worker is stopped', false);
    const worker = this.worker;
    this.worker = undefined;
    this.ready = false;
    if (!worker) return;
    // Held while its connection closes (an unref'd worker would let the process end meanwhile).
    worker.ref();
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close' });
    const grace = this.options.wait(5_000);
    await Promise.race([exited, grace.promise.then(() => worker.terminate())]);
    grace.cancel();
  }

  private async spawn(): Promise<void> {
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    let worker: Worker;
    try {
      worker = new Worker(this.options.workerSource ?? WORKER_SOURCE, {
        eval: true,
        workerData: { path: this.options.path, sqlite },
        // A connection and a pragma: no need for the default heap.
        resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
      });
    } catch (error) {
      this.fallBack('the checkpoint worker cannot start', true, error);
      this.retryLater();
      return;
    }
    // Like the timers: the checkpoints never keep a process alive that has nothing else to do.
    worker.unref();
    this.worker = worker;
    this.unansweredTicks = 0;
    let failure: unknown;
    await new Promise<void>((resolve) => {
      worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'ready') {
          if (this.worker !== worker) return;
          this.ready = true;
          this.retryMs = this.intervalMs;
          this.clearFallback();
          resolve();
          return;
        }
        this.unansweredTicks = 0;
        const waiter = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.type === 'failed') {
          waiter?.reject(new Error(message.message));
          return;
        }
        const result = { busy: message.busy, log: message.log, checkpointed: message.checkpointed, passes: message.passes };
        if (result.passes > 0) this.checkpoints++;
        this.last = result;
        waiter?.resolve(result);
      });
      // Logged with the exit that follows it.
      worker.on('error', (error) => (failure = error));
      worker.once('exit', (code) => {
        for (const waiter of this.pending.values()) waiter.reject(new Error(`the checkpoint worker exited (${code})`));
        this.pending.clear();
        resolve();
        if (this.worker !== worker) return;
        this.worker = undefined;
        this.ready = false;
        this.fallBack(`the checkpoint worker exited (${code})`, true, failure);
        this.retryLater();
      });
    });
  }

  /** A dead worker is started again after an interval, twice as long each time it does not come up (at most a minute). */
  private retryLater(): void {
    if (this.stopped) return;
    const retry = this.options.wait(this.retryMs);
    this.retryMs = Math.min(60_000, this.retryMs * 2);
    void retry.promise.then(() => {
      if (!this.stopped && !this.worker) void this.spawn();
    });
  }

  private tick(): void {
    if (this.stopped) return;
    this.timer = this.options.wait(this.intervalMs);
    void this.timer.promise.then(() => {
      if (this.stopped) return;
      void this.poll();
      this.tick();
    });
  }

  /**
   * What every tick does: asks the worker to checkpoint if the WAL is long enough, and watches
   * that it keeps up. Resolves when the worker answered (or at once when it is still busy with
   * the last request or not running).
   */
  async poll(): Promise<void> {
    if (!this.worker || !this.ready) return;
    if (this.pending.size > 0) {
      // Still busy with the last one (a slow disk): no second request behind it.
      if (++this.unansweredTicks >= 3) this.fallBack('the checkpoint worker has not answered for three intervals');
      return;
    }
    try {
      const result = await this.checkpoint(this.minFrames);
      if (this.failing) this.options.log.info('WAL checkpoints on the worker work again');
      this.failing = false;
      if (result.log > this.maxWalFrames && result.checkpointed < result.log) this.fallBack(`the WAL holds ${result.log} frames after a checkpoint (more than ${this.maxWalFrames})`);
      else this.clearFallback();
    } catch (error) {
      if (!this.failing) this.options.log.warn({ err: error }, 'a WAL checkpoint on the worker failed');
      this.failing = true;
    }
  }

  private fallBack(reason: string, warn = true, error?: unknown): void {
    if (this.fallback === undefined) this.options.autoCheckpoint(SQLITE_AUTO_CHECKPOINT_PAGES);
    if (warn && !this.fallbackWarned) {
      this.options.log.warn({ reason, ...(error !== undefined ? { err: error } : {}) }, 'SQLite checkpoints on the event loop (WAL checkpoint worker not doing it)');
      this.fallbackWarned = true;
    }
    this.fallback = reason;
  }

  private clearFallback(): void {
    if (this.fallback === undefined || this.stopped) return;
    this.options.autoCheckpoint(0);
    if (this.fallbackWarned) this.options.log.info({ was: this.fallback }, 'SQLite checkpoints off the event loop again');
    this.fallbackWarned = false;
    this.fallback = undefined;
  }
}
