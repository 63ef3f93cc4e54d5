import type { Config } from '../../config/schema.ts';
import type { SiteState } from '../state/site-state.ts';
import { gridSignalProblem, isoOrNull, signalTimes } from '../grid-signal.ts';
import { sitePowers } from '../state/site-powers.ts';
import { connectorKey, type ConnectorCap } from '../../optimizer/types.ts';
import { idTagNames } from './id-tag-names.ts';
import type { PlanOutlook } from './plan-outlook.ts';
import type { ConnectorView, DeviceView, SignalView, StateView } from './view-schemas.ts';

export type { ConnectorView, StateView };

/** Running bills per connector (the tariff service), for the session's cost so far. */
export interface SessionCostSource {
  sessionBill(chargerId: string, connectorId: number): { transactionId: number; cost: number; currency: string } | undefined;
  /** The session's charge mode (solar charging), when that service runs. */
  chargeMode?(chargerId: string, connectorId: number): string;
  /** What the plan in force intends for the session on a connector, when the planner runs. */
  planOutlook?(chargerId: string, connectorId: number, atMs: number): PlanOutlook | undefined;
}

// Never throws: a time that cannot be shown (NaN, beyond year 275760) is null.
const iso = (atMs: number | undefined | null) => isoOrNull(atMs);
const round = (value: number | undefined, digits = 1) => (value === undefined ? null : Math.round(value * 10 ** digits) / 10 ** digits);

export function connectorViews(state: SiteState, config: Config, costs: SessionCostSource | undefined, atMs: number): ConnectorView[] {
  const caps = new Map<string, ConnectorCap>();
  for (const cap of state.lastDecision?.caps ?? []) caps.set(connectorKey(cap.chargerId, cap.connectorId), cap);
  const phasesOf = new Map(config.chargers.map((c) => [c.id, c.phases]));
  const maxOf = new Map(config.chargers.map((c) => [c.id, c.maxCurrent]));
  const nameOf = idTagNames(config);
  return [...state.connectors.values()].map((c) => {
    const cap = caps.get(connectorKey(c.chargerId, c.connectorId));
    const s = c.session;
    const bill = s ? costs?.sessionBill(c.chargerId, c.connectorId) : undefined;
    const billed = bill && bill.transactionId === s?.transactionId ? bill : undefined;
    const outlook = s ? costs?.planOutlook?.(c.chargerId, c.connectorId, atMs) : undefined;
    return {
      chargerId: c.chargerId,
      connectorId: c.connectorId,
      status: c.status,
      online: state.chargers.get(c.chargerId)?.online ?? false,
      errorCode: c.errorCode ?? null,
      capA: cap ? cap.currentA : null,
      drawA: round(Math.max(...c.drawA))!,
      drawPhasesA: c.drawA,
      powerW: round(c.powerW, 0),
      phases: cap?.phases ?? phasesOf.get(c.chargerId) ?? 3,
      maxCurrentA: maxOf.get(c.chargerId) ?? null,
      reason: cap?.reason.text ?? null,
      reasonKind: cap?.reason.kind ?? null,
      rank: cap?.rank ?? null,
      profile: c.profile
        ? {
            state: c.profile.state,
            capA: c.profile.capA,
            at: iso(c.profile.atMs),
            ...(c.profile.reserveA === undefined ? {} : { reservedA: c.profile.reserveA }),
            ...(c.profile.uncontrollable ? { uncontrollable: true } : {}),
          }
        : null,
      session: s
        ? {
            transactionId: s.transactionId,
            idTag: s.idTag,
            name: nameOf(s.idTag),
            tier: s.tier,
            chargeMode: costs?.chargeMode?.(c.chargerId, c.connectorId) ?? null,
            startedAt: iso(s.startedAtMs),
            departure: iso(s.departureAtMs),
            energyWh: Math.round(s.energyWh),
            energyNeedWh: s.energyNeedWh ?? null,
            soc: s.socPct ?? null,
            paused: s.paused,
            cost: billed ? Math.round(billed.cost * 10_000) / 10_000 : null,
            currency: billed?.currency ?? null,
          }
        : null,
      plan: outlook
        ? { chargesFrom: iso(outlook.chargesFromMs), readyBy: iso(outlook.readyByMs), shortWh: outlook.shortWh, because: outlook.because }
        : null,
    };
  });
}

export function deviceViews(state: SiteState, config: Config, atMs: number): DeviceView[] {
  const drivers = new Map(config.devices.map((d) => [d.id, d.driver]));
  return [...state.devices.values()].map((d) => {
    const ageMs = d.reading ? atMs - d.reading.atMs : null;
    return {
      id: d.id,
      role: d.role,
      driver: drivers.get(d.id) ?? null,
      health: d.health,
      lastReadingAt: iso(d.reading?.atMs),
      ageMs,
      stale: ageMs === null || ageMs > config.control.staleAfterMs,
      lastError: d.lastError ?? null,
      reading: d.reading
        ? { powerW: d.reading.powerW ?? null, currentA: d.reading.currentA ?? null, socPct: d.reading.socPct ?? null }
        : null,
    };
  });
}

/** Never throws, whatever a producer put on the bus: a time that cannot be shown is null. */
export function signalViews(state: SiteState, atMs: number): SignalView[] {
  return state.signals.filter((s) => gridSignalProblem(s) === undefined).map((s) => ({
    ...s,
    ...signalTimes(s),
    active: s.startMs <= atMs && atMs < s.endMs,
  }));
}

/**
 * The agreed headroom shape (TEAM.md): the optimizer adds `headroomW` and the binding limit; read
 * them when present so the view works before and after that change.
 */
function headroomOf(decision: SiteState['lastDecision']): { headroomW?: number; binding?: { kind: string; id?: string; phase?: string; text: string } } | undefined {
  if (!decision) return undefined;
  const h = decision.headroom as { headroomW?: unknown; binding?: unknown };
  const headroomW = typeof h.headroomW === 'number' && Number.isFinite(h.headroomW) ? Math.round(h.headroomW) : undefined;
  const b = h.binding as { kind?: unknown; id?: unknown; phase?: unknown; text?: unknown } | undefined;
  const binding =
    b && typeof b.kind === 'string' && typeof b.text === 'string'
      ? { kind: b.kind, text: b.text, ...(typeof b.id === 'string' ? { id: b.id } : {}), ...(typeof b.phase === 'string' ? { phase: b.phase } : {}) }
      : undefined;
  return { headroomW, binding };
}

/** GET /api/v1/state and the live feed: the contract shape in DESIGN.md, "State and replay formats". */
export function buildStateView(state: SiteState, config: Config, atMs: number, costs?: SessionCostSource): StateView {
  const powers = sitePowers(state, config, atMs);
  const decision = state.lastDecision;
  return {
    at: iso(atMs),
    decidedAt: iso(decision?.atMs),
    site: {
      name: config.site.name,
      timezone: config.site.timezone,
      voltage: config.site.voltage,
      gridCurrentA: powers.gridCurrentA ?? null,
      gridPowerW: round(powers.gridPowerW, 0),
      buildingPowerW: round(powers.buildingPowerW, 0),
      pvPowerW: round(powers.pvPowerW, 0),
      batteryPowerW: round(powers.batteryPowerW, 0),
      batterySoc: powers.batterySocPct ?? null,
      evPowerW: round(powers.evPowerW, 0),
      limitPowerW: round(powers.limitPowerW, 0),
      headroomA: decision ? [...decision.headroom.headroomA] : null,
      headroomW: headroomOf(decision)?.headroomW ?? null,
      binding: headroomOf(decision)?.binding ?? null,
      limitA: decision ? [...decision.headroom.limitA] : null,
      tiers: Object.entries(config.control.tiers).sort((a, b) => b[1] - a[1]).map(([name]) => name),
      failsafe: decision?.failsafe ?? false,
    },
    connectors: connectorViews(state, config, costs, atMs),
    devices: deviceViews(state, config, atMs),
    signals: signalViews(state, atMs),
  };
}

