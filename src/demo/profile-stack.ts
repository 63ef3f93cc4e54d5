// What a real OCPP 1.6 charger does with the profiles it holds (§3.13): per purpose the valid
// profile with the highest stack level wins; TxProfile beats TxDefaultProfile for the running
// transaction; the charger takes the minimum with ChargePointMaxProfile. Pure.

export type ProfilePurpose = 'ChargePointMaxProfile' | 'TxDefaultProfile' | 'TxProfile';

export interface InstalledProfile {
  id: number;
  connectorId: number;
  purpose: ProfilePurpose;
  stackLevel: number;
  kind: 'Absolute' | 'Recurring' | 'Relative';
  transactionId?: number;
  startScheduleMs?: number;
  durationS?: number;
  unit: 'A' | 'W';
  periods: { startPeriod: number; limit: number; numberPhases?: number }[];
  receivedAtMs: number;
}

/** Installs a profile the way §3.13.2 says: same purpose and stack level (or same id) replaces. */
export function installProfile(profiles: readonly InstalledProfile[], next: InstalledProfile): InstalledProfile[] {
  return [
    ...profiles.filter(
      (p) => p.id !== next.id && !(p.purpose === next.purpose && p.stackLevel === next.stackLevel && p.connectorId === next.connectorId),
    ),
    next,
  ];
}

export function clearProfiles(
  profiles: readonly InstalledProfile[],
  filter: { id?: number; connectorId?: number; purpose?: ProfilePurpose; stackLevel?: number },
): { kept: InstalledProfile[]; cleared: number } {
  const matches = (p: InstalledProfile) =>
    (filter.id === undefined || p.id === filter.id) &&
    (filter.connectorId === undefined || p.connectorId === filter.connectorId) &&
    (filter.purpose === undefined || p.purpose === filter.purpose) &&
    (filter.stackLevel === undefined || p.stackLevel === filter.stackLevel);
  const kept = profiles.filter((p) => !matches(p));
  return { kept, cleared: profiles.length - kept.length };
}

/** The limit of one profile at a moment, A per phase; undefined when the profile is not in force. */
function limitAt(p: InstalledProfile, atMs: number, txStartMs: number | undefined, voltageV: number, phases: number): number | undefined {
  const startMs = p.kind === 'Relative' ? (txStartMs ?? p.receivedAtMs) : (p.startScheduleMs ?? p.receivedAtMs);
  const elapsedS = (atMs - startMs) / 1000;
  if (elapsedS < 0) return undefined;
  if (p.durationS !== undefined && elapsedS >= p.durationS) return undefined;
  let period = p.periods[0];
  for (const candidate of p.periods) if (candidate.startPeriod <= elapsedS) period = candidate;
  if (!period) return undefined;
  if (p.unit === 'A') return period.limit;
  return period.limit / (voltageV * (period.numberPhases ?? phases));
}

function prevailing(
  candidates: readonly InstalledProfile[],
  atMs: number,
  txStartMs: number | undefined,
  voltageV: number,
  phases: number,
): number | undefined {
  const inForce = candidates
    .map((p) => ({ p, limit: limitAt(p, atMs, txStartMs, voltageV, phases) }))
    .filter((x): x is { p: InstalledProfile; limit: number } => x.limit !== undefined)
    .sort((a, b) => b.p.stackLevel - a.p.stackLevel);
  return inForce[0]?.limit;
}

export interface ConnectorContext {
  connectorId: number;
  transactionId?: number;
  txStartMs?: number;
  voltageV: number;
  phases: number;
}

/** The connector's own limit (TxProfile, else TxDefaultProfile), A per phase; Infinity = unbounded. */
export function connectorLimitA(profiles: readonly InstalledProfile[], atMs: number, c: ConnectorContext): number {
  const args = [atMs, c.txStartMs, c.voltageV, c.phases] as const;
  if (c.transactionId !== undefined) {
    const tx = prevailing(
      profiles.filter((p) => p.purpose === 'TxProfile' && p.connectorId === c.connectorId && (p.transactionId ?? c.transactionId) === c.transactionId),
      ...args,
    );
    if (tx !== undefined) return tx;
  }
  const own = prevailing(profiles.filter((p) => p.purpose === 'TxDefaultProfile' && p.connectorId === c.connectorId), ...args);
  if (own !== undefined) return own;
  return prevailing(profiles.filter((p) => p.purpose === 'TxDefaultProfile' && p.connectorId === 0), ...args) ?? Infinity;
}

/** The charger-wide ceiling from ChargePointMaxProfile, A per phase (sum over connectors). */
export function chargerLimitA(profiles: readonly InstalledProfile[], atMs: number, voltageV: number, phases: number): number {
  return prevailing(profiles.filter((p) => p.purpose === 'ChargePointMaxProfile'), atMs, undefined, voltageV, phases) ?? Infinity;
}
