// The `ems simulate` sessions file: a JSON array of { id, chargerId, connectorId, idTag, arrival,
// departure, energyWh, maxPowerW } with ISO 8601 times. Parsed and checked against the site config.
import { z } from 'zod';
import type { Config } from '../../config/schema.ts';
import { EmsError } from '../errors.ts';

export class SessionsFileError extends EmsError {
  override readonly code = 'SESSIONS_INVALID';
  constructor(readonly problems: readonly string[], options?: { cause?: unknown }) {
    super(problems.join('\n'), options);
  }
}

const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not an ISO 8601 time');
export const replaySessionSchema = z.strictObject({
  id: z.union([z.string().min(1), z.number()]).transform(String),
  chargerId: z.string().min(1),
  connectorId: z.number().int().min(1).default(1),
  idTag: z.string().min(1).default('unknown'),
  arrival: isoTime,
  departure: isoTime,
  energyWh: z.number().min(0),
  maxPowerW: z.number().positive(),
});

export interface ReplaySession {
  id: string;
  chargerId: string;
  connectorId: number;
  idTag: string;
  arrivalMs: number;
  departureMs: number;
  energyWh: number;
  maxPowerW: number;
}

export function parseReplaySessions(json: unknown, config: Config): ReplaySession[] {
  const parsed = z.array(replaySessionSchema).safeParse(json);
  if (!parsed.success) {
    throw new SessionsFileError(parsed.error.issues.map((i) => `sessions.${i.path.join('.')}: ${i.message}`));
  }
  const problems: string[] = [];
  const sessions = parsed.data.map((s, index) => {
    const charger = config.chargers.find((c) => c.id === s.chargerId);
    if (!charger) problems.push(`sessions.${index}.chargerId: no charger "${s.chargerId}" in the site config`);
    else if (s.connectorId > charger.connectors) problems.push(`sessions.${index}.connectorId: ${s.chargerId} has ${charger.connectors} connector(s)`);
    const arrivalMs = Date.parse(s.arrival);
    const departureMs = Date.parse(s.departure);
    if (departureMs <= arrivalMs) problems.push(`sessions.${index}.departure: must be after arrival`);
    return { id: s.id, chargerId: s.chargerId, connectorId: s.connectorId, idTag: s.idTag, arrivalMs, departureMs, energyWh: s.energyWh, maxPowerW: s.maxPowerW };
  });
  const byConnector = new Map<string, ReplaySession[]>();
  for (const s of sessions) {
    const key = `${s.chargerId}/${s.connectorId}`;
    byConnector.set(key, [...(byConnector.get(key) ?? []), s]);
  }
  for (const [key, list] of byConnector) {
    list.sort((a, b) => a.arrivalMs - b.arrivalMs);
    for (let i = 1; i < list.length; i++) {
      if (list[i].arrivalMs < list[i - 1].departureMs) problems.push(`sessions: ${list[i].id} arrives at ${key} before ${list[i - 1].id} leaves`);
    }
  }
  const ids = new Set<string>();
  for (const s of sessions) {
    if (ids.has(s.id)) problems.push(`sessions: id "${s.id}" appears twice`);
    ids.add(s.id);
  }
  if (problems.length) throw new SessionsFileError(problems);
  return sessions;
}
