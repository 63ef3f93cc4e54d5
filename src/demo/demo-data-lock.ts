// One demo per data folder: a second `ems demo` started in the same checkout would write its
// history, sessions and settings into the first one's database and mix them.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';

/** What the running demo says about itself, for the message a second one prints. */
export interface DemoLockHolder {
  pid: number;
  dashboardUrl?: string;
}

export class DemoDataLockedError extends Error {
  readonly code = 'DEMO_DATA_LOCKED';
  constructor(
    readonly dataDir: string,
    readonly holder: DemoLockHolder | undefined,
  ) {
    const who = holder ? ` (pid ${holder.pid}${holder.dashboardUrl ? `, dashboard ${holder.dashboardUrl}` : ''})` : '';
    super(`another demo is running on the data folder ${dataDir}${who}; stop it first, or give this one its own folder with --data-dir DIR (and free ports with --http-port and --ocpp-port)`);
  }
}

const LOCK_FILE = 'demo.lock';
const HOLDER_FILE = 'demo.lock.json';

/**
 * Holds the data folder for this process: an exclusive SQLite lock on `demo.lock` in it, which the
 * operating system drops when the process ends however it ends (kill -9 included), so a crashed
 * demo never blocks the next start. Who holds it is written beside it for the refusal's message.
 */
export class DemoDataLock {
  private constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly holderFile: string,
  ) {}

  /** Takes the folder, or throws DemoDataLockedError when another demo has it. */
  static acquire(dataDir: string): DemoDataLock {
    mkdirSync(dataDir, { recursive: true });
    const db = new BetterSqlite3(join(dataDir, LOCK_FILE), { timeout: 0 });
    const holderFile = join(dataDir, HOLDER_FILE);
    try {
      db.pragma('journal_mode = MEMORY');
      db.pragma('locking_mode = EXCLUSIVE');
      // The first write takes the exclusive lock; in this locking mode it is kept until close.
      db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER); COMMIT');
    } catch (error) {
      db.close();
      if ((error as { code?: unknown }).code !== 'SQLITE_BUSY') throw error;
      throw new DemoDataLockedError(dataDir, readHolder(holderFile));
    }
    const lock = new DemoDataLock(db, holderFile);
    lock.describe({ pid: process.pid });
    return lock;
  }

  /** Updates what a refused second demo is told (the dashboard URL is known once it listens). */
  describe(holder: DemoLockHolder): void {
    writeFileSync(this.holderFile, `${JSON.stringify(holder)}\n`);
  }

  release(): void {
    if (!this.db.open) return;
    rmSync(this.holderFile, { force: true });
    this.db.close();
  }
}

function readHolder(file: string): DemoLockHolder | undefined {
  try {
    const holder = JSON.parse(readFileSync(file, 'utf8')) as DemoLockHolder;
    return typeof holder.pid === 'number' ? holder : undefined;
  } catch {
    return undefined;
  }
}
