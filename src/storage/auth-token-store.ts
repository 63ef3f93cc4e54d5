import type { Database } from 'better-sqlite3';
import type { Clock } from '../clock.ts';
import type { AuthTokenKind, AuthTokenRecord, AuthTokenStore } from './types.ts';

interface Row {
  token_hash: string;
  kind: AuthTokenKind;
  username: string;
  name: string | null;
  csrf: string | null;
  created_at_ms: number;
  expires_at_ms: number | null;
  last_used_at_ms: number | null;
}

const toRecord = (r: Row): AuthTokenRecord => ({
  tokenHash: r.token_hash,
  kind: r.kind,
  username: r.username,
  name: r.name ?? undefined,
  csrf: r.csrf ?? undefined,
  createdAtMs: r.created_at_ms,
  expiresAtMs: r.expires_at_ms ?? undefined,
  lastUsedAtMs: r.last_used_at_ms ?? undefined,
});

/** lastUsedAtMs is written at most once a minute per token, so reads do not turn into writes. */
const TOUCH_EVERY_MS = 60_000;

export function createAuthTokenStore(db: Database, clock: Clock): AuthTokenStore {
  const byHash = db.prepare<[string], Row>('SELECT * FROM auth_tokens WHERE token_hash = ?');
  const touch = db.prepare('UPDATE auth_tokens SET last_used_at_ms = ? WHERE token_hash = ?');
  return {
    create(token) {
      const createdAtMs = clock.nowMs();
      db.prepare(
        'INSERT INTO auth_tokens (token_hash, kind, username, name, csrf, created_at_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ).run(token.tokenHash, token.kind, token.username, token.name ?? null, token.csrf ?? null, createdAtMs, token.expiresAtMs ?? null);
      return { ...token, createdAtMs };
    },
    find(tokenHash) {
      const row = byHash.get(tokenHash);
      if (!row) return undefined;
      const nowMs = clock.nowMs();
      if (row.expires_at_ms !== null && row.expires_at_ms <= nowMs) return undefined;
      if (row.last_used_at_ms === null || nowMs - row.last_used_at_ms >= TOUCH_EVERY_MS) {
        touch.run(nowMs, tokenHash);
        row.last_used_at_ms = nowMs;
      }
      return toRecord(row);
    },
    remove: (tokenHash) => db.prepare('DELETE FROM auth_tokens WHERE token_hash = ?').run(tokenHash).changes > 0,
    removeSessionsOf: (username, keepTokenHash) =>
      db.prepare("DELETE FROM auth_tokens WHERE username = ? AND kind = 'session' AND token_hash != ?").run(username, keepTokenHash ?? '').changes,
    listApi: () =>
      db.prepare<[], Row>("SELECT * FROM auth_tokens WHERE kind = 'api' ORDER BY created_at_ms").all().map(toRecord),
    prune: () =>
      db.prepare('DELETE FROM auth_tokens WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= ?').run(clock.nowMs()).changes,
  };
}
