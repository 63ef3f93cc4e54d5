// Solar charging modes as a CeilingProvider for the control loop: `pv` sessions charge from PV
// surplus only, `minpv` get their minimum plus surplus, `fast` are left alone. Modes come from
// 'session.update' (API, dashboard, MQTT) and default to solarCharging.defaultMode.
import { connectorKey, type SiteSnapshot } from '../../optimizer/types.ts';
import { initialSolarState, solarCeilings, type ChargeMode, type SolarSession, type SolarState } from '../../optimizer/solar-charging.ts';
import type { CeilingProvider } from '../control/ceiling-provider.ts';
import type { Service, ServiceContext } from '../service.ts';

export interface SolarCeilings extends CeilingProvider, Service {
  mode(chargerId: string, connectorId: number): ChargeMode;
  /** Why each solar session has its ceiling (last computation). */
  reasons(): ReadonlyMap<string, string>;
}

export function createSolarCeilings(ctx: ServiceContext): SolarCeilings {
  const settings = ctx.config.solarCharging;
  const voltageV = ctx.config.site.voltage;
  const chargers = new Map(ctx.config.chargers.map((c) => [c.id, c]));
  const modes = new Map<string, ChargeMode>();
  const unsubscribe: (() => void)[] = [];
  let state: SolarState = initialSolarState;
  let lastReasons: ReadonlyMap<string, string> = new Map();

  const modeOf = (key: string): ChargeMode => modes.get(key) ?? settings.defaultMode;

  function surplusW(snapshot: SiteSnapshot, solarKeys: ReadonlySet<string>): number | null {
    const grid = snapshot.grid;
    if (!grid || snapshot.atMs - grid.atMs > ctx.config.control.staleAfterMs) return null;
    // What the solar sessions draw now is theirs to keep: add it back to the export.
    let evW = 0;
    for (const c of snapshot.connectors) {
      if (!solarKeys.has(connectorKey(c.chargerId, c.connectorId))) continue;
      evW += (c.drawA[0] + c.drawA[1] + c.drawA[2]) * voltageV;
    }
    const batteryChargeW = settings.useBatteryChargePower ? Math.max(0, -(snapshot.batteryPowerW ?? 0)) : 0;
    return -grid.powerW + evW + batteryChargeW;
  }

  return {
    name: 'solar-charging',
    ceilingsW(snapshot) {
      const sessions: (SolarSession & { startedAtMs: number })[] = [];
      for (const c of snapshot.connectors) {
        if (!c.session) continue;
        const key = connectorKey(c.chargerId, c.connectorId);
        const mode = modeOf(key);
        if (mode === 'fast') continue;
        const charger = chargers.get(c.chargerId);
        if (!charger) continue;
        const phases = c.session.carPhases ?? charger.phases;
        sessions.push({
          key,
          mode,
          minPowerW: charger.minCurrent * voltageV * phases,
          maxPowerW: charger.maxCurrent * voltageV * phases,
          startedAtMs: c.session.startedAtMs,
        });
      }
      if (!sessions.length) {
        state = initialSolarState;
        lastReasons = new Map();
        return new Map();
      }
      sessions.sort((a, b) => a.startedAtMs - b.startedAtMs);
      const result = solarCeilings(
        { atMs: snapshot.atMs, surplusW: surplusW(snapshot, new Set(sessions.map((s) => s.key))), sessions },
        { startDelayMs: settings.startDelayMs, stopDelayMs: settings.stopDelayMs },
        state,
      );
      state = result.nextState;
      lastReasons = result.reasons;
      return result.ceilingsW;
    },
    mode: (chargerId, connectorId) => modeOf(connectorKey(chargerId, connectorId)),
    reasons: () => lastReasons,
    async start() {
      unsubscribe.push(
        ctx.bus.on('session.update', (u) => {
          if (u.chargeMode) modes.set(connectorKey(u.chargerId, u.connectorId), u.chargeMode);
        }),
        ctx.bus.on('session.ended', (e) => modes.delete(connectorKey(e.chargerId, e.connectorId))),
      );
    },
    async stop() {
      for (const off of unsubscribe.splice(0)) off();
    },
  };
}
