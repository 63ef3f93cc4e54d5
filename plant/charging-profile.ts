// What an OCPP charger does with the charging profiles it holds (OCPP 1.6 §3.13, 2.0.1 K01):
// per purpose, the profile in force with the highest stack level wins; a TxProfile beats the
// TxDefaultProfile for its transaction; a connector's own TxDefault beats the one on connector 0;
// the charger as a whole stays under ChargePointMaxProfile. Profiles expire (duration, validTo),
// start later (startSchedule) or relative to the transaction's start, and recur daily or weekly.

export type ProfilePurpose = 'ChargePointMaxProfile' | 'TxDefaultProfile' | 'TxProfile';

export interface PlantProfile {
  id: number;
  /** 0 = the whole charger. */
  connectorId: number;
  purpose: ProfilePurpose;
  stackLevel: number;
  kind: 'Absolute' | 'Relative' | 'Recurring';
  recurrency?: 'Daily' | 'Weekly';
  transactionId?: number;
  /** Plant time the schedule starts (Absolute, Recurring); undefined = when received. */
  startScheduleMs?: number;
  durationS?: number;
  validFromMs?: number;
  validToMs?: number;
  unit: 'A' | 'W';
  periods: { startPeriodS: number; limit: number; numberPhases?: number }[];
}

export interface HeldProfile extends PlantProfile {
  receivedAtMs: number;
}

/** Installs as §3.13.2 says: the same id, or the same purpose, stack level and connector, is replaced. */
export function installProfile(held: readonly HeldProfile[], next: HeldProfile): HeldProfile[] {
  return [
    ...held.filter((p) => p.id !== next.id && !(p.purpose === next.purpose && p.stackLevel === next.stackLevel && p.connectorId === next.connectorId)),
    next,
  ];
}

/** Drops the TxProfiles of a transaction that ended. */
export function dropTransaction(held: readonly HeldProfile[], transactionId: number): HeldProfile[] {
  return held.filter((p) => !(p.purpose === 'TxProfile' && p.transactionId === transactionId));
}

const DAY_S = 86_400;

/** The limit of one profile at a moment, A per phase; undefined when it is not in force. */
export function profileLimitA(p: HeldProfile, atMs: number, txStartMs: number | undefined, voltageV: number, phases: number): number | undefined {
  if (p.validFromMs !== undefined && atMs < p.validFromMs) return undefined;
  if (p.validToMs !== undefined && atMs >= p.validToMs) return undefined;
  const startMs = p.kind === 'Relative' ? (txStartMs ?? p.receivedAtMs) : (p.startScheduleMs ?? p.receivedAtMs);
  let elapsedS = (atMs - startMs) / 1000;
  if (elapsedS < 0) return undefined;
  if (p.kind === 'Recurring') elapsedS %= p.recurrency === 'Weekly' ? 7 * DAY_S : DAY_S;
  if (p.durationS !== undefined && elapsedS >= p.durationS) return undefined;
  let period: PlantProfile['periods'][number] | undefined;
  for (const candidate of p.periods) if (candidate.startPeriodS <= elapsedS) period = candidate;
  if (!period) return undefined;
  if (p.unit === 'A') return Math.max(0, period.limit);
  return Math.max(0, period.limit / (voltageV * (period.numberPhases ?? phases)));
}

/** Which held profiles a limit considers (the filters below, without allocating a list per step). */
type Candidate = (p: HeldProfile) => boolean;

/** Of the candidates in force, the limit of the one with the highest stack level (the first of equals). */
function prevailing(held: readonly HeldProfile[], candidate: Candidate, atMs: number, txStartMs: number | undefined, voltageV: number, phases: number): number | undefined {
  let bestLevel = 0;
  let bestLimit: number | undefined;
  for (let i = 0; i < held.length; i++) {
    const p = held[i]!;
    if (!candidate(p)) continue;
    const limit = profileLimitA(p, atMs, txStartMs, voltageV, phases);
    if (limit === undefined) continue;
    if (bestLimit === undefined || p.stackLevel > bestLevel) {
      bestLevel = p.stackLevel;
      bestLimit = limit;
    }
  }
  return bestLimit;
}

export interface ConnectorContext {
  connectorId: number;
  transactionId?: number;
  txStartMs?: number;
  voltageV: number;
  phases: number;
}

const isChargerDefault: Candidate = (p) => p.purpose === 'TxDefaultProfile' && p.connectorId === 0;
const isChargePointMax: Candidate = (p) => p.purpose === 'ChargePointMaxProfile';

/** The connector's own limit (TxProfile, else its TxDefault, else connector 0's), A per phase; Infinity = unbounded. */
export function connectorLimitA(held: readonly HeldProfile[], atMs: number, c: ConnectorContext): number {
  if (c.transactionId !== undefined) {
    const tx = prevailing(
      held,
      (p) => p.purpose === 'TxProfile' && p.connectorId === c.connectorId && (p.transactionId ?? c.transactionId) === c.transactionId,
      atMs,
      c.txStartMs,
      c.voltageV,
      c.phases,
    );
    if (tx !== undefined) return tx;
  }
  const own = prevailing(held, (p) => p.purpose === 'TxDefaultProfile' && p.connectorId === c.connectorId, atMs, c.txStartMs, c.voltageV, c.phases);
  if (own !== undefined) return own;
  return prevailing(held, isChargerDefault, atMs, c.txStartMs, c.voltageV, c.phases) ?? Infinity;
}

/** The charger-wide ceiling from ChargePointMaxProfile, A per phase summed over connectors; Infinity = none. */
export function chargePointMaxA(held: readonly HeldProfile[], atMs: number, voltageV: number, phases: number): number {
  return prevailing(held, isChargePointMax, atMs, undefined, voltageV, phases) ?? Infinity;
}

/**
 * The pilot limit each connector offers its car, A per phase: its own composite limit, the
 * charger's hardware max, and a ChargePointMax shared in proportion among connectors that use it.
 */
export function compositeLimitsA(
  held: readonly HeldProfile[],
  atMs: number,
  connectors: readonly ConnectorContext[],
  maxCurrentA: number,
  busy: readonly boolean[],
): number[] {
  const own = connectors.map((c) => Math.min(maxCurrentA, connectorLimitA(held, atMs, c)));
  const phases = connectors[0]?.phases ?? 3;
  const voltageV = connectors[0]?.voltageV ?? 230;
  const cpMax = chargePointMaxA(held, atMs, voltageV, phases);
  const used = own.reduce((sum, a, i) => sum + (busy[i] ? a : 0), 0);
  if (!Number.isFinite(cpMax) || used <= cpMax) return own.map((a) => Math.min(a, cpMax));
  const factor = used > 0 ? cpMax / used : 0;
  return own.map((a) => a * factor);
}
