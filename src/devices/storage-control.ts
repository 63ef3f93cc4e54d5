// Battery setpoints and PV curtailment, from the pure dispatch in optimizer/battery-dispatch.ts.
// Runs on every grid-meter reading (at most once per control interval): peak shaving above the
// import cap, charging from PV surplus within SoC limits, curtailing PV above the export cap.
// Setpoints are rewritten periodically (devices carry revert timers) and only sent when they move
// by more than a deadband. Without a fresh grid reading the battery is set to 0.
import type { Decision } from '../../optimizer/types.ts';
import { constrainedEvDemandW, dispatchBattery, type DispatchResult } from '../../optimizer/battery-dispatch.ts';
import { strictestLimits } from '../../optimizer/site-view.ts';
import type { DeviceConfig } from '../../config/schema.ts';
import type { Service, ServiceContext } from '../service.ts';
import type { DeviceControls } from './device-service.ts';

export interface StorageControlOptions {
  deadbandW?: number;
  rewriteIntervalMs?: number;
}

export interface StorageControl extends Service {
  /** The last dispatch and what was written, for the API and tests. */
  status(): { dispatch?: DispatchResult; batterySetpointW?: number; pvLimitW?: number; lastError?: string };
  /** Run one dispatch now (tests). */
  runOnce(): Promise<void>;
}

export function createStorageControl(ctx: ServiceContext, controls: ReadonlyMap<string, DeviceControls>, options: StorageControlOptions = {}): StorageControl {
  const log = ctx.log.child({ module: 'storage-control' });
  const deadbandW = options.deadbandW ?? 200;
  const rewriteMs = options.rewriteIntervalMs ?? 30_000;
  const config = ctx.config;
  const byId = new Map(config.devices.map((d) => [d.id, d]));
  const chargerMaxA = new Map(config.chargers.map((c) => [c.id, c.maxCurrent]));
  let lastDecision: Decision | null = null;
  let lastRunMs = -Infinity;
  let running: Promise<void> | undefined;
  let lastDispatch: DispatchResult | undefined;
  let battery: { id: string; setpointW?: number; writtenAtMs: number } | undefined;
  let pv: { setLimitW?: number; limited: boolean; writtenAtMs: number } = { limited: false, writtenAtMs: -Infinity };
  let lastError: string | undefined;
  const unsubscribe: (() => void)[] = [];

  const batteryControl = [...controls.values()].find((c) => c.battery);
  const pvControls = [...controls.values()].filter((c) => c.pv);
  if (batteryControl) battery = { id: batteryControl.deviceId, writtenAtMs: -Infinity };

  function fail(what: string, error: unknown): void {
    const message = `${what}: ${(error as Error)?.message ?? String(error)}`;
    if (message !== lastError) log.warn({ err: message }, 'storage control write failed');
    lastError = message;
  }


  async function writeBattery(setpointW: number, now: number): Promise<void> {
    if (!battery || !batteryControl?.battery) return;
    const due = battery.setpointW === undefined || Math.abs(setpointW - battery.setpointW) >= deadbandW || now - battery.writtenAtMs >= rewriteMs;
    if (!due) return;
    try {
      await batteryControl.battery.setPowerW(setpointW);
      if (battery.setpointW !== setpointW) log.info({ deviceId: battery.id, setpointW, reason: lastDispatch?.batteryReason }, 'battery setpoint');
      battery.setpointW = setpointW;
      battery.writtenAtMs = now;
      lastError = undefined;
    } catch (error) {
      fail(`battery ${battery.id}`, error);
    }
  }

  async function writePv(limitW: number | undefined, totalPvW: number, now: number): Promise<void> {
    if (!pvControls.length) return;
    const changed = limitW === undefined ? pv.limited : !pv.limited || Math.abs(limitW - (pv.setLimitW ?? 0)) >= deadbandW;
    const refresh = pv.limited && now - pv.writtenAtMs >= rewriteMs;
    if (!changed && !refresh) return;
    try {
      for (const c of pvControls) {
        // Several inverters share the limit in proportion to what they produce (or their rating).
        const share = totalPvW > 0 ? (ctx.state.devices.get(c.deviceId)?.reading?.powerW ?? 0) / totalPvW : 1 / pvControls.length;
        await c.pv!.setLimitW(limitW === undefined ? undefined : Math.max(0, limitW * share));
      }
      if (changed) log.info({ limitW, reason: lastDispatch?.pvReason }, limitW === undefined ? 'PV curtailment lifted' : 'PV curtailed');
      pv = { setLimitW: limitW, limited: limitW !== undefined, writtenAtMs: now };
      lastError = undefined;
    } catch (error) {
      fail('pv', error);
    }
  }

  async function dispatch(): Promise<void> {
    const now = ctx.clock.nowMs();
    lastRunMs = now;
    const gridId = config.grid.meter;
    const grid = gridId ? ctx.state.devices.get(gridId) : undefined;
    const fresh = grid?.health === 'online' && grid.reading?.powerW !== undefined && now - grid.reading.atMs <= config.control.staleAfterMs;
    if (!fresh) {
      if (battery && battery.setpointW !== 0 && battery.setpointW !== undefined) {
        log.warn('grid reading stale: battery set to 0');
        await writeBattery(0, now);
      }
      return;
    }
    const bState = battery ? ctx.state.devices.get(battery.id) : undefined;
    const bConfig = battery ? byId.get(battery.id) : undefined;
    const bFresh = bState?.health === 'online' && bState.reading !== undefined;
    const pvStates = pvControls.map((c) => ctx.state.devices.get(c.deviceId));
    const pvKnown = pvStates.length > 0 && pvStates.every((s) => s?.health === 'online' && s.reading?.powerW !== undefined);
    const totalPvW = pvKnown ? pvStates.reduce((sum, s) => sum + (s!.reading!.powerW ?? 0), 0) : 0;
    const rated = pvControls.map((c) => byId.get(c.deviceId)?.ratedPowerW);
    const ratedTotal = rated.every((r) => r !== undefined) ? (rated as number[]).reduce((a, b) => a + b, 0) : undefined;
    const bound = (d: DeviceConfig | undefined, key: 'maxChargePowerW' | 'maxDischargePowerW') => d?.[key] ?? d?.ratedPowerW ?? 5000;
    // The same strictest limits decide() uses (optimizer/site-view.ts).
    const limits = strictestLimits(ctx.state.signalLimits(now), { maxImportPowerW: config.grid.maxPower, maxExportPowerW: config.grid.maxExportPower });
    lastDispatch = dispatchBattery(
      {
        gridPowerW: grid!.reading!.powerW!,
        batteryPowerW: bFresh ? (bState!.reading!.powerW ?? 0) : 0,
        socPct: bFresh ? bState!.reading!.socPct : undefined,
        pvPowerW: pvKnown ? totalPvW : undefined,
        pvLimitW: pv.limited ? pv.setLimitW : undefined,
        constrainedEvDemandW: lastDecision ? constrainedEvDemandW(lastDecision.caps, (id) => chargerMaxA.get(id) ?? 0, config.site.voltage) : 0,
      },
      {
        maxImportW: limits.importLimitW,
        maxExportW: limits.exportLimitW,
        safetyMargin: config.grid.safetyMargin,
        minSocPct: bConfig?.minSocPct ?? 10,
        maxSocPct: bConfig?.maxSocPct ?? 95,
        maxChargeW: bound(bConfig, 'maxChargePowerW'),
        maxDischargeW: bound(bConfig, 'maxDischargePowerW'),
        pvRatedW: ratedTotal,
        // A battery whose reading is not fresh is held at 0 (its SoC is unknown to dispatch).
        hasBattery: battery !== undefined,
        hasPvControl: pvControls.length > 0,
      },
    );
    await writeBattery(lastDispatch.batterySetpointW, now);
    await writePv(lastDispatch.pvLimitW, totalPvW, now);
  }

  function trigger(): void {
    if (running || ctx.clock.nowMs() - lastRunMs < config.control.intervalMs) return;
    running = dispatch()
      .catch((error) => log.error({ err: error }, 'storage dispatch failed'))
      .finally(() => (running = undefined));
  }

  return {
    name: 'storage-control',
    async start() {
      if (!batteryControl && !pvControls.length) return;
      unsubscribe.push(ctx.bus.on('decision', (d) => (lastDecision = d)));
      unsubscribe.push(
        ctx.bus.on('device.reading', (r) => {
          if (r.deviceId === config.grid.meter) trigger();
        }),
      );
      unsubscribe.push(
        ctx.bus.on('device.health', (h) => {
          if (h.deviceId === config.grid.meter && h.health !== 'online') {
            lastRunMs = -Infinity;
            trigger();
          }
        }),
      );
    },
    async stop() {
      for (const off of unsubscribe.splice(0)) off();
      await running;
    },
    status: () => ({ dispatch: lastDispatch, batterySetpointW: battery?.setpointW, pvLimitW: pv.setLimitW, lastError }),
    async runOnce() {
      await running;
      await dispatch();
    },
  };
}
