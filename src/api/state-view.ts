import type { Config } from '../../config/schema.ts';
import type { SiteState } from '../state/site-state.ts';
import { sitePowers } from '../state/site-powers.ts';
import { connectorKey, type ConnectorCap } from '../../optimizer/types.ts';
import type { ConnectorView, DeviceView, SignalView, StateView } from './view-schemas.ts';

export type { ConnectorView, StateView };

/** Running bills per connector (the tariff service), for the session's cost so far. */
export interface SessionCostSource {
  sessionBill(chargerId: string, connectorId: number): { transactionId: number; cost: number; currency: string } | undefined;
}

const iso = (atMs: number | undefined | null) => (atMs === undefined || atMs === null ? null : new Date(atMs).toISOString());
const round = (value: number | undefined, digits = 1) => (value === undefined ? null : Math.round(value * 10 ** digits) / 10 ** digits);

export function connectorViews(state: SiteState, config: Config, costs?: SessionCostSource): ConnectorView[] {
  const caps = new Map<string, ConnectorCap>();
  for (const cap of state.lastDecision?.caps ?? []) caps.set(connectorKey(cap.chargerId, cap.connectorId), cap);
  const phasesOf = new Map(config.chargers.map((c) => [c.id, c.phases]));
  return [...state.connectors.values()].map((c) => {
    const cap = caps.get(connectorKey(c.chargerId, c.connectorId));
    const s = c.session;
    const bill = s ? costs?.sessionBill(c.chargerId, c.connectorId) : undefined;
    const billed = bill && bill.transactionId === s?.transactionId ? bill : undefined;
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
            tier: s.tier,
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

export function signalViews(state: SiteState, atMs: number): SignalView[] {
  return state.signals.map((s) => ({
    ...s,
    start: iso(s.startMs),
    end: iso(s.endMs),
    active: s.startMs <= atMs && atMs < s.endMs,
  }));
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
      limitA: decision ? [...decision.headroom.limitA] : null,
      failsafe: decision?.failsafe ?? false,
    },
    connectors: connectorViews(state, config, costs),
    devices: deviceViews(state, config, atMs),
    signals: signalViews(state, atMs),
  };
}

