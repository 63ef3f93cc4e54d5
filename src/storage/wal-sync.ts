import { closeSync, fdatasync, fstatSync, open } from 'node:fs';

/**
 * Group commit for the synchronous=NORMAL connection: its commits return as soon as they are in
 * the WAL file (the operating system's page cache, so safe against kill -9 already), and
 * `flushed()` resolves once everything committed before the call is on disk, safe against power
 * loss too. The sync runs on libuv's thread pool, never on the event loop; every caller that
 * arrives while one runs shares the next one (one sync per burst, not one per write).
 *
 * Linux syncs the file, whichever descriptor names it, so SQLite's own descriptor need not be
 * reached. The WAL stays open between flushes (one descriptor for the storage's life): SQLite keeps
 * the same file while any connection is open (a checkpoint restarts or truncates it in place). It
 * deletes the file when its last connection closes, and a new one may come with the next
 * connection: a WAL whose file has no name any more (st_nlink 0, one fstat on the event loop, no
 * disk access) is closed and the path opened again. A checkpoint moves WAL frames into the database
 * file and syncs both first (SQLite does that at synchronous=NORMAL), so a WAL that was reset or
 * is gone holds nothing unsynced. fdatasync, as SQLite's own WAL syncs on Linux: the data and the
 * file length, not the timestamps.
 */
export class WalSync {
  /** The sync now running, if any. */
  private running: Promise<void> | undefined;
  /** The sync that starts when the running one ends: what callers arriving meanwhile wait for. */
  private next: Promise<void> | undefined;
  /** The WAL's descriptor while it is open. */
  private fd: number | undefined;
  private closed = false;
  /** Syncs done (for tests and the bench). */
  syncs = 0;
  /** Times the WAL file was opened (for tests: once, unless SQLite made a new one). */
  opens = 0;

  constructor(private readonly walPath: string | undefined) {}

  /** Resolves when every write committed before this call is durable; rejects when the disk refuses. */
  flushed(): Promise<void> {
    if (this.walPath === undefined || this.closed) return Promise.resolve();
    if (!this.running) return this.start();
    // The running sync may have begun before the caller's commit: wait for the one after it.
    this.next ??= this.running.then(
      () => this.start(),
      () => this.start(),
    );
    return this.next;
  }

  /** The WAL file it holds open (device and inode), if any: for tests. */
  openFile(): { dev: number; ino: number } | undefined {
    if (this.fd === undefined) return undefined;
    const { dev, ino } = fstatSync(this.fd);
    return { dev, ino };
  }

  /** Closes the WAL's descriptor (the storage closes); a sync still running finishes first. */
  close(): void {
    this.closed = true;
    if (this.running) void this.running.finally(() => this.release()).catch(() => undefined);
    else this.release();
  }

  private release(): void {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) closeSync(fd);
  }

  private start(): Promise<void> {
    this.next = undefined;
    const run = this.syncWal().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private async syncWal(): Promise<void> {
    if (this.closed) return;
    const fd = await this.walFd();
    if (fd === undefined) return;
    await new Promise<void>((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));
    this.syncs++;
  }

  /** The WAL's descriptor: the one held, unless its file was deleted; undefined when there is no WAL. */
  private async walFd(): Promise<number | undefined> {
    if (this.fd !== undefined && fstatSync(this.fd).nlink > 0) return this.fd;
    this.release();
    try {
      this.fd = await new Promise<number>((resolve, reject) => open(this.walPath!, 'r', (error, fd) => (error ? reject(error) : resolve(fd))));
    } catch (error) {
      // No WAL file: the last connection checkpointed it into the (synced) database file.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    this.opens++;
    // Closed while it opened: nothing to sync for it.
    if (this.closed) {
      this.release();
      return undefined;
    }
    return this.fd;
  }
}
