// Pure: how the CSMS's charging profiles and the EMS's are combined so the charger holds, at every
// moment, the minimum of both. The CSMS's profiles are not installed as they are; they are kept and
// their limits are folded into the EMS's own profile slots (the EMS owns every stack level):
//   CSMS ChargePointMaxProfile / ChargingStationMaxProfile / ChargingStationExternalConstraints
//        → clips the EMS's charger-wide profiles (connector/EVSE 0: floor and lift)
//   CSMS TxProfile (else TxDefaultProfile) of connector c, and the charger-wide one
//        → clips the EMS's TxDefaultProfile and TxProfile of connector c
// Within one CSMS purpose the valid profile with the highest stack level prevails (per connector
// before connector 0 for TxDefaultProfile), as on a charger.

export type FoldPurpose = 'max' | 'txDefault' | 'tx';
export type RateUnit = 'A' | 'W';

export interface SchedulePeriod {
  startS: number;
  limit: number;
  phases?: number;
}

/** A charging profile in a version-neutral shape (1.6 connectorId = 2.0.1 evseId). */
export interface KeptProfile {
  id: number;
  stackLevel: number;
  purpose: FoldPurpose;
  connectorId: number;
  transactionId?: string;
  kind: 'Absolute' | 'Recurring' | 'Relative';
  recurrency?: 'Daily' | 'Weekly';
  validFromMs?: number;
  validToMs?: number;
  startMs?: number;
  durationS?: number;
  unit: RateUnit;
  periods: SchedulePeriod[];
  /** Relative profiles count from here (receipt, or the transaction start for a TxProfile). */
  anchorMs: number;
}

const PURPOSES: Record<string, FoldPurpose> = {
  ChargePointMaxProfile: 'max',
  ChargingStationMaxProfile: 'max',
  ChargingStationExternalConstraints: 'max',
  TxDefaultProfile: 'txDefault',
  TxProfile: 'tx',
};

const parseTime = (value: unknown): number | undefined => {
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isFinite(ms) ? ms : undefined;
};

/** A SetChargingProfile request of either version as a KeptProfile; undefined for a purpose we do not fold. */
export function keptProfile(req: any, nowMs: number): KeptProfile | undefined {
  const is201 = req.chargingProfile !== undefined;
  const p = is201 ? req.chargingProfile : req.csChargingProfiles;
  const schedule = is201 ? p.chargingSchedule[0] : p.chargingSchedule;
  const purpose = PURPOSES[p.chargingProfilePurpose];
  if (!purpose || !schedule) return undefined;
  const result: KeptProfile = {
    id: is201 ? p.id : p.chargingProfileId,
    stackLevel: p.stackLevel,
    purpose,
    connectorId: is201 ? req.evseId : req.connectorId,
    kind: p.chargingProfileKind,
    unit: schedule.chargingRateUnit === 'W' ? 'W' : 'A',
    periods: [...schedule.chargingSchedulePeriod]
      .map((s: any) => ({ startS: s.startPeriod, limit: s.limit, ...(s.numberPhases !== undefined ? { phases: s.numberPhases } : {}) }))
      .sort((a, b) => a.startS - b.startS),
    anchorMs: nowMs,
  };
  if (p.transactionId !== undefined) result.transactionId = String(p.transactionId);
  if (p.recurrencyKind) result.recurrency = p.recurrencyKind;
  const validFromMs = parseTime(p.validFrom);
  const validToMs = parseTime(p.validTo);
  const startMs = parseTime(schedule.startSchedule);
  if (validFromMs !== undefined) result.validFromMs = validFromMs;
  if (validToMs !== undefined) result.validToMs = validToMs;
  if (startMs !== undefined) result.startMs = startMs;
  if (schedule.duration !== undefined) result.durationS = schedule.duration;
  return result;
}

const RECURRENCE_MS = { Daily: 86_400_000, Weekly: 7 * 86_400_000 } as const;

/** When the schedule's current cycle began at `atMs`, or undefined when it has not started. */
function cycleStart(p: KeptProfile, atMs: number): number | undefined {
  if (p.kind === 'Relative') return p.anchorMs;
  const startMs = p.startMs ?? p.anchorMs;
  if (p.kind === 'Recurring') {
    const everyMs = RECURRENCE_MS[p.recurrency ?? 'Daily'];
    if (atMs < startMs) return startMs - everyMs * Math.ceil((startMs - atMs) / everyMs);
    return startMs + everyMs * Math.floor((atMs - startMs) / everyMs);
  }
  return startMs;
}

/** The profile's limit at `atMs` (in its own unit, with its phases), or undefined when it is not in force. */
export function limitAt(p: KeptProfile, atMs: number): SchedulePeriod | undefined {
  if (p.validFromMs !== undefined && atMs < p.validFromMs) return undefined;
  if (p.validToMs !== undefined && atMs >= p.validToMs) return undefined;
  const base = cycleStart(p, atMs);
  if (base === undefined || atMs < base) return undefined;
  const offsetS = (atMs - base) / 1000;
  if (p.durationS !== undefined && offsetS >= p.durationS) return undefined;
  let current: SchedulePeriod | undefined;
  for (const period of p.periods) if (period.startS <= offsetS) current = period;
  return current;
}

/** Every moment in [fromMs, toMs) where the profile's limit may change. */
function breakpoints(p: KeptProfile, fromMs: number, toMs: number): number[] {
  const out: number[] = [];
  const add = (ms: number | undefined) => {
    if (ms !== undefined && ms > fromMs && ms < toMs) out.push(ms);
  };
  add(p.validFromMs);
  add(p.validToMs);
  const cycleMs = p.kind === 'Recurring' ? RECURRENCE_MS[p.recurrency ?? 'Daily'] : Infinity;
  let base = cycleStart(p, fromMs) ?? fromMs;
  for (let n = 0; base < toMs && n < 400; n++, base += cycleMs) {
    add(base);
    for (const period of p.periods) add(base + period.startS * 1000);
    if (p.durationS !== undefined) add(base + p.durationS * 1000);
    if (!Number.isFinite(cycleMs)) break;
  }
  return out;
}

export interface UnitContext {
  voltageV: number;
}

/** A limit in `unit`, per the phases the limit names (3 when it names none). */
function convert(period: SchedulePeriod, from: RateUnit, to: RateUnit, phases: number, units: UnitContext): number {
  if (from === to) return period.limit;
  const n = period.phases ?? phases;
  return to === 'W' ? period.limit * units.voltageV * n : period.limit / (units.voltageV * n);
}

/** The prevailing profile of one purpose at a moment: highest stack level among those in force. */
function prevailing(profiles: readonly KeptProfile[], atMs: number): { profile: KeptProfile; period: SchedulePeriod } | undefined {
  let best: { profile: KeptProfile; period: SchedulePeriod } | undefined;
  for (const profile of profiles) {
    const period = limitAt(profile, atMs);
    if (period && (!best || profile.stackLevel > best.profile.stackLevel)) best = { profile, period };
  }
  return best;
}

/**
 * The CSMS's limit at a moment on a slot of the EMS (connector 0: the charger as a whole), in
 * `unit`; Infinity when no CSMS profile binds it.
 */
export function csmsLimitAt(profiles: readonly KeptProfile[], connectorId: number, atMs: number, unit: RateUnit, phases: number, units: UnitContext): number {
  let limit = Infinity;
  const apply = (found: { profile: KeptProfile; period: SchedulePeriod } | undefined) => {
    if (found) limit = Math.min(limit, convert(found.period, found.profile.unit, unit, phases, units));
  };
  apply(prevailing(profiles.filter((p) => p.purpose === 'max'), atMs));
  if (connectorId === 0) return limit;
  const tx = prevailing(profiles.filter((p) => p.purpose === 'tx' && p.connectorId === connectorId), atMs);
  if (tx) apply(tx);
  else {
    const own = prevailing(profiles.filter((p) => p.purpose === 'txDefault' && p.connectorId === connectorId), atMs);
    apply(own ?? prevailing(profiles.filter((p) => p.purpose === 'txDefault' && p.connectorId === 0), atMs));
  }
  return limit;
}

/** How far ahead a profile without a duration is folded; the relay refreshes well before. */
export const FOLD_HORIZON_MS = 24 * 3_600_000;
/** Periods per folded schedule; beyond it the rest is folded into one period at its minimum. */
export const MAX_FOLDED_PERIODS = 24;

const tenth = (value: number) => Math.floor(value * 10 + 1e-9) / 10;

/**
 * The EMS's SetChargingProfile request (either version, Absolute, as src/ocpp builds them) with
 * every period lowered to the CSMS's limit in force at that time. Unchanged when nothing binds.
 */
export function foldRequest(req: any, profiles: readonly KeptProfile[], nowMs: number, units: UnitContext): any {
  if (profiles.length === 0) return req;
  const is201 = req.chargingProfile !== undefined;
  const profile = is201 ? req.chargingProfile : req.csChargingProfiles;
  const schedule = is201 ? profile.chargingSchedule[0] : profile.chargingSchedule;
  const connectorId: number = is201 ? req.evseId : req.connectorId;
  const slot = PURPOSES[profile.chargingProfilePurpose];
  if (!slot || !schedule) return req;
  const own = keptProfile(req, nowMs)!;
  const startMs = own.startMs ?? nowMs;
  const endMs = own.durationS !== undefined ? startMs + own.durationS * 1000 : Math.max(startMs, nowMs) + FOLD_HORIZON_MS;
  const unit = own.unit;
  const phasesOf = (p: SchedulePeriod | undefined) => p?.phases ?? 3;
  const relevant = profiles.filter((p) => slot !== 'max' || p.purpose === 'max');
  const cuts = new Set<number>([startMs, ...breakpoints(own, startMs, endMs)]);
  for (const p of relevant) for (const ms of breakpoints(p, startMs, endMs)) cuts.add(ms);
  const times = [...cuts].sort((a, b) => a - b);
  const periods: { startS: number; limit: number; phases?: number }[] = [];
  for (const atMs of times) {
    const mine = limitAt(own, atMs);
    if (!mine) continue;
    const theirs = csmsLimitAt(relevant, slot === 'max' ? 0 : connectorId, atMs, unit, phasesOf(mine), units);
    const limit = tenth(Math.max(0, Math.min(mine.limit, theirs)));
    const last = periods.at(-1);
    if (last && last.limit === limit) continue;
    periods.push({ startS: Math.round((atMs - startMs) / 1000), limit, ...(mine.phases !== undefined ? { phases: mine.phases } : {}) });
  }
  if (periods.length === 0) return req;
  if (periods.length > MAX_FOLDED_PERIODS) {
    const tail = periods.splice(MAX_FOLDED_PERIODS - 1);
    periods.push({ ...tail[0]!, limit: Math.min(...tail.map((p) => p.limit)) });
  }
  const wire = periods.map((p) => ({ startPeriod: p.startS, limit: p.limit, ...(p.phases !== undefined ? { numberPhases: p.phases } : {}) }));
  if (wire[0]!.startPeriod !== 0) wire[0] = { ...wire[0]!, startPeriod: 0 };
  const folded = { ...schedule, chargingSchedulePeriod: wire };
  return is201
    ? { ...req, chargingProfile: { ...profile, chargingSchedule: [folded, ...profile.chargingSchedule.slice(1)] } }
    : { ...req, csChargingProfiles: { ...profile, chargingSchedule: folded } };
}

/** Whether a kept profile matches a ClearChargingProfile request of either version. */
export function clearMatches(p: KeptProfile, req: any): boolean {
  const is201 = req.chargingProfileCriteria !== undefined || req.chargingProfileId !== undefined;
  const id = is201 ? req.chargingProfileId : req.id;
  const criteria = is201 ? (req.chargingProfileCriteria ?? {}) : req;
  const connectorId = is201 ? criteria.evseId : criteria.connectorId;
  if (id !== undefined) return p.id === id;
  if (connectorId !== undefined && p.connectorId !== connectorId) return false;
  if (criteria.chargingProfilePurpose !== undefined && PURPOSES[criteria.chargingProfilePurpose] !== p.purpose) return false;
  if (criteria.stackLevel !== undefined && p.stackLevel !== criteria.stackLevel) return false;
  return true;
}
