import type { Database } from 'better-sqlite3';
import type { Clock } from '../clock.ts';
import type { AuditEntry, AuditLog } from './types.ts';

interface Row {
  id: number;
  at_ms: number;
  actor: string;
  action: string;
  target: string | null;
  before_json: string | null;
  after_json: string | null;
  ip: string | null;
}

const toEntry = (r: Row): AuditEntry => ({
  id: r.id,
  atMs: r.at_ms,
  actor: r.actor,
  action: r.action,
  target: r.target ?? undefined,
  before: r.before_json === null ? undefined : JSON.parse(r.before_json),
  after: r.after_json === null ? undefined : JSON.parse(r.after_json),
  ip: r.ip ?? undefined,
});

const json = (value: unknown) => (value === undefined ? null : JSON.stringify(value));

/** Append-only record of every write: who, what, before, after, when. */
export function createAuditLog(db: Database, clock: Clock): AuditLog {
  const insert = db.prepare(
    'INSERT INTO audit_log (at_ms, actor, action, target, before_json, after_json, ip) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  return {
    record(entry) {
      const atMs = clock.nowMs();
      const { lastInsertRowid } = insert.run(atMs, entry.actor, entry.action, entry.target ?? null, json(entry.before), json(entry.after), entry.ip ?? null);
      return { ...entry, id: Number(lastInsertRowid), atMs };
    },
    list({ sinceMs, beforeId, limit = 100, action } = {}) {
      const where: string[] = [];
      const args: (string | number)[] = [];
      if (sinceMs !== undefined) (where.push('at_ms >= ?'), args.push(sinceMs));
      if (beforeId !== undefined) (where.push('id < ?'), args.push(beforeId));
      if (action !== undefined) (where.push('action = ?'), args.push(action));
      const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
      return db.prepare<(string | number)[], Row>(sql).all(...args, Math.min(Math.max(1, limit), 1000)).map(toEntry);
    },
  };
}
