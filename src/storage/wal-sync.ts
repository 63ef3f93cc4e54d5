import { open } from 'node:fs/promises';

/**
 * Group commit for the synchronous=NORMAL connection: its commits return as soon as they are in
 * the WAL file (the operating system's page cache, so safe against kill -9 already), and
 * `flushed()` resolves once everything committed before the call is on disk, safe against power
 * loss too. The fsync runs on libuv's thread pool, never on the event loop; every caller that
 * arrives while one runs shares the next one (one fsync per burst, not one per write).
 *
 * Linux fsync flushes the file, whichever descriptor names it, so SQLite's own descriptor need
 * not be reached. A checkpoint moves WAL frames into the database file and syncs both first (SQLite
 * does that at synchronous=NORMAL), so a WAL that was reset or is gone holds nothing unsynced.
 */
export class WalSync {
  /** The sync now running, if any. */
  private running: Promise<void> | undefined;
  /** The sync that starts when the running one ends: what callers arriving meanwhile wait for. */
  private next: Promise<void> | undefined;
  /** fsyncs done (for tests and the bench). */
  syncs = 0;

  constructor(private readonly walPath: string | undefined) {}

  /** Resolves when every write committed before this call is durable; rejects when the disk refuses. */
  flushed(): Promise<void> {
    if (this.walPath === undefined) return Promise.resolve();
    if (!this.running) return this.start();
    // The running fsync may have begun before the caller's commit: wait for the one after it.
    this.next ??= this.running.then(
      () => this.start(),
      () => this.start(),
    );
    return this.next;
  }

  private start(): Promise<void> {
    this.next = undefined;
    const run = this.fsyncWal().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private async fsyncWal(): Promise<void> {
    let handle;
    try {
      handle = await open(this.walPath!, 'r');
    } catch (error) {
      // No WAL file: the last connection checkpointed it into the (synced) database file.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    try {
      await handle.sync();
      this.syncs++;
    } finally {
      await handle.close();
    }
  }
}
