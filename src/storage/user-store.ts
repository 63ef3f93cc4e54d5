import type { Database } from 'better-sqlite3';
import type { Clock } from '../clock.ts';
import { DuplicateUserError } from './storage-errors.ts';
import type { Role, UserRecord, UserStore } from './types.ts';

interface Row {
  username: string;
  password_hash: string;
  role: Role;
  created_at_ms: number;
  updated_at_ms: number;
}

const toUser = (r: Row): UserRecord => ({
  username: r.username,
  passwordHash: r.password_hash,
  role: r.role,
  createdAtMs: r.created_at_ms,
  updatedAtMs: r.updated_at_ms,
});

export function createUserStore(db: Database, clock: Clock): UserStore {
  const byName = db.prepare<[string], Row>('SELECT * FROM users WHERE username = ?');
  return {
    count: () => (db.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number }).n,
    get(username) {
      const row = byName.get(username);
      return row ? toUser(row) : undefined;
    },
    list: () => db.prepare<[], Row>('SELECT * FROM users ORDER BY username').all().map(toUser),
    create({ username, passwordHash, role }) {
      const atMs = clock.nowMs();
      try {
        db.prepare('INSERT INTO users (username, password_hash, role, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?)').run(
          username,
          passwordHash,
          role,
          atMs,
          atMs,
        );
      } catch (cause) {
        if ((cause as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
          throw new DuplicateUserError(`user ${username} already exists`, { cause });
        }
        throw cause;
      }
      return { username, passwordHash, role, createdAtMs: atMs, updatedAtMs: atMs };
    },
    update(username, change) {
      const current = byName.get(username);
      if (!current) return undefined;
      db.prepare('UPDATE users SET password_hash = ?, role = ?, updated_at_ms = ? WHERE username = ?').run(
        change.passwordHash ?? current.password_hash,
        change.role ?? current.role,
        clock.nowMs(),
        username,
      );
      return toUser(byName.get(username)!);
    },
    remove: (username) => db.prepare('DELETE FROM users WHERE username = ?').run(username).changes > 0,
  };
}
