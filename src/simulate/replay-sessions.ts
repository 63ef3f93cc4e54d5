// The `ems simulate` sessions file (docs/simulate.md): a JSON array of { id, chargerId, connectorId,
// idTag, arrival, departure, energyWh, maxPowerW } with ISO 8601 times, and optional soc, batteryWh,
// phases, departureKnown, energyKnown. Parsed and checked against the site config; every problem is
// one line naming the session's index and the field.
import { z } from 'zod';
import type { Config } from '../../config/schema.ts';
import { EmsError } from '../errors.ts';

export class SessionsFileError extends EmsError {
  override readonly code = 'SESSIONS_INVALID';
  constructor(readonly problems: readonly string[], options?: { cause?: unknown }) {
    super(problems.join('\n'), options);
  }
}

const isoTime = z.string({ error: 'must be an ISO 8601 time such as "2026-11-24T08:00:00Z"' }).refine((s) => !Number.isNaN(Date.parse(s)), 'not an ISO 8601 time');
export const replaySessionSchema = z.strictObject({
  id: z.union([z.string().min(1), z.number()], { error: 'must be a text or a number' }).transform(String),
  chargerId: z.string({ error: 'must be the id of a charger in the site config' }).min(1),
  connectorId: z.number({ error: 'must be a whole number from 1' }).int().min(1).default(1),
  idTag: z.string({ error: 'must be a text' }).min(1).default('unknown'),
  arrival: isoTime,
  departure: isoTime,
  energyWh: z.number({ error: 'must be a number of Wh' }).min(0, 'must be 0 or more (Wh the car wants)'),
  maxPowerW: z.number({ error: 'must be a number of W' }).positive('must be above 0 (W the car can take)'),
  soc: z.number({ error: 'must be a percentage' }).min(0, 'must be 0 to 100 (%)').max(100, 'must be 0 to 100 (%)').optional(),
  batteryWh: z.number({ error: 'must be a number of Wh' }).positive('must be above 0 (Wh)').optional(),
  phases: z.union([z.literal(1), z.literal(3)], { error: 'must be 1 or 3' }).optional(),
  departureKnown: z.boolean({ error: 'must be true or false' }).default(true),
  energyKnown: z.boolean({ error: 'must be true or false' }).default(true),
});

export interface ReplaySession {
  id: string;
  chargerId: string;
  connectorId: number;
  idTag: string;
  arrivalMs: number;
  departureMs: number;
  /** What the car wants, Wh (the truth; the EMS knows it only when energyKnown). */
  energyWh: number;
  /** What the car can take, W (the truth; the EMS learns it from the car's draw). */
  maxPowerW: number;
  /** State of charge at arrival, %, reported by the car as it charges. */
  socPct?: number;
  batteryWh?: number;
  /** Phases the car draws on (default: the charger's). */
  phases?: 1 | 3;
  /** True: the driver or fleet schedule told the EMS (dashboard, API, idTag); false: the EMS estimates. */
  departureKnown: boolean;
  energyKnown: boolean;
}

const KNOWN_FIELDS = Object.keys(replaySessionSchema.shape);

function zodProblem(issue: z.core.$ZodIssue): string {
  const [index, field, ...rest] = issue.path;
  const where = typeof index === 'number' ? `sessions[${index}]${field !== undefined ? `.${[field, ...rest].join('.')}` : ''}` : 'sessions';
  if (issue.code === 'unrecognized_keys') return `${where}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (known: ${KNOWN_FIELDS.join(', ')})`;
  if (issue.code === 'invalid_type' && issue.input === undefined) return `${where}: missing (required)`;
  if (issue.code === 'invalid_type' && typeof index !== 'number') return `${where}: must be a JSON array of sessions`;
  if (issue.code === 'invalid_type' && field === undefined) return `${where}: must be an object`;
  return `${where}: ${issue.message}`;
}

export function parseReplaySessions(json: unknown, config: Config): ReplaySession[] {
  const parsed = z.array(replaySessionSchema).safeParse(json);
  if (!parsed.success) throw new SessionsFileError(parsed.error.issues.slice(0, 20).map(zodProblem));
  const problems: string[] = [];
  const sessions = parsed.data.map((s, index) => {
    const charger = config.chargers.find((c) => c.id === s.chargerId);
    if (!charger) problems.push(`sessions[${index}].chargerId: no charger "${s.chargerId}" in the site config`);
    else if (s.connectorId > charger.connectors) problems.push(`sessions[${index}].connectorId: ${s.chargerId} has ${charger.connectors} connector(s)`);
    if (charger && s.phases === 3 && charger.phases === 1) problems.push(`sessions[${index}].phases: ${s.chargerId} is a single-phase charger`);
    const arrivalMs = Date.parse(s.arrival);
    const departureMs = Date.parse(s.departure);
    if (departureMs <= arrivalMs) problems.push(`sessions[${index}].departure: must be after arrival`);
    return {
      id: s.id,
      chargerId: s.chargerId,
      connectorId: s.connectorId,
      idTag: s.idTag,
      arrivalMs,
      departureMs,
      energyWh: s.energyWh,
      maxPowerW: s.maxPowerW,
      ...(s.soc !== undefined ? { socPct: s.soc } : {}),
      ...(s.batteryWh !== undefined ? { batteryWh: s.batteryWh } : {}),
      ...(s.phases !== undefined ? { phases: s.phases } : {}),
      departureKnown: s.departureKnown,
      energyKnown: s.energyKnown,
    };
  });
  const byConnector = new Map<string, { s: ReplaySession; index: number }[]>();
  sessions.forEach((s, index) => {
    const key = `${s.chargerId}/${s.connectorId}`;
    byConnector.set(key, [...(byConnector.get(key) ?? []), { s, index }]);
  });
  for (const [key, list] of byConnector) {
    list.sort((a, b) => a.s.arrivalMs - b.s.arrivalMs);
    for (let i = 1; i < list.length; i++) {
      if (list[i].s.arrivalMs < list[i - 1].s.departureMs) problems.push(`sessions[${list[i].index}].arrival: ${list[i].s.id} arrives at ${key} before ${list[i - 1].s.id} (sessions[${list[i - 1].index}]) leaves`);
    }
  }
  const ids = new Map<string, number>();
  sessions.forEach((s, index) => {
    const first = ids.get(s.id);
    if (first !== undefined) problems.push(`sessions[${index}].id: "${s.id}" is also sessions[${first}]`);
    else ids.set(s.id, index);
  });
  if (problems.length) throw new SessionsFileError(problems);
  return sessions;
}
