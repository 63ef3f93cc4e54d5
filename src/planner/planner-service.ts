// The live horizon planner: re-plans every slot and on arrival, departure, steering, price or
// grid-signal change, in a worker with a deadline, and offers the current slot's targets to the
// control loop as ceilings. Without a fresh plan it offers none: the greedy control runs alone.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Plan } from '../../optimizer/plan-types.ts';
import { powerWeightOf } from '../../optimizer/phase-map.ts';
import type { SiteSnapshot } from '../../optimizer/types.ts';
import type { CeilingProvider } from '../control/ceiling-provider.ts';
import type { Service, ServiceContext } from '../service.ts';
import type { LocalTimeZone } from '../tariffs/local-time.ts';
import type { TariffView } from '../tariffs/tariff.ts';
import { CarDrawWatcher, carModelOf } from './car-draw-watcher.ts';
import { buildPlanInput, type PlannerSession } from './plan-input.ts';
import { PlanCeilings } from './plan-ceilings.ts';
import { PlanFailedError, PlanRunner } from './plan-runner.ts';
import { DailyProfile } from './daily-profile.ts';

/** What the planner needs from the tariff side; src/app.ts hands in the tariff service. */
export interface PlannerTariffSource {
  readonly tariff: TariffView;
  readonly zone: LocalTimeZone;
  /** The billing month's demand peak so far, W. */
  peakSoFarW(atMs: number): number;
}

export interface PlannerStatus {
  enabled: boolean;
  solver: string;
  plans: number;
  failures: number;
  lastPlanAtMs?: number;
  lastSolveMs?: number;
  lastError?: string;
}

export interface PlannerService extends Service, CeilingProvider {
  /** The plan in force, if any (for the API and dashboard). */
  currentPlan(): Plan | undefined;
  status(): PlannerStatus;
  /** Plans now (also what events trigger, debounced); resolves with the plan in force afterwards. */
  replanNow(reason?: string): Promise<Plan | undefined>;
  /** The plan's battery power for the slot containing atMs (W, + discharge / − charge), if it planned one. */
  batteryTargetW(atMs: number): number | undefined;
  /** The learned daily profiles (W per local quarter hour; null = not seen yet). */
  forecast(): { pvW: (number | null)[]; buildingW: (number | null)[] };
  /** What the plan in force was made with, per slot: import price, PV forecast, import limit (the plan view shows them). */
  currentInputs(): PlanSlotInputs | undefined;
}

export interface PlanSlotInputs {
  importPricePerKWh: readonly number[];
  pvW: readonly number[];
  importLimitW: readonly number[];
}

const DEBOUNCE_MS = 1_000;

/** The next instant after atMs at which local wall time reads HH:MM (today or tomorrow). */
export function nextLocalTimeMs(zone: LocalTimeZone, atMs: number, hhmm: string): number {
  const minutes = Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
  const startOfToday = zone.startOfDayMs(atMs);
  const today = zone.atMinuteOfDay(startOfToday, minutes);
  if (today > atMs) return today;
  // Tomorrow's midnight: 26 h after today's is always inside tomorrow, whatever DST does.
  return zone.atMinuteOfDay(zone.startOfDayMs(startOfToday + 26 * 3_600_000), minutes);
}

/** The horizon planner runs on every site unless the config says `planner: { enabled: false }`. */
export function plannerEnabled(config: { planner?: { enabled?: boolean } }): boolean {
  return config.planner?.enabled ?? true;
}

export interface PlannerServiceOptions {
  /** Where learned PV and building-load profiles are kept; default next to the database. */
  forecastFilePath?: string;
}

export function createPlannerService(ctx: ServiceContext, tariffs: PlannerTariffSource, options: PlannerServiceOptions = {}): PlannerService {
  const log = ctx.log.child({ module: 'planner' });
  const config = ctx.config;
  const settings = config.planner;
  // On by default on every site, for fuse limits alone as much as for prices; `enabled: false` turns it off.
  const enabled = plannerEnabled(config);
  const solver = settings?.solver ?? 'highs';
  const timeLimitMs = settings?.timeLimitMs ?? 5_000;
  const slotMs = (settings?.slotMin ?? 15) * 60_000;
  const voltage = config.site.voltage;
  const chargers = new Map(config.chargers.map((c) => [c.id, c]));
  const ceilings = new PlanCeilings((key) => {
    const charger = chargers.get(key.slice(0, key.lastIndexOf('/')));
    const voltsTimesPhases = voltage * (charger ? powerWeightOf(charger) : 3);
    return { minPowerW: (charger?.minCurrent ?? 0) * voltsTimesPhases, maxPowerW: (charger?.maxCurrent ?? 0) * voltsTimesPhases, voltsTimesPhases };
  });
  const status: PlannerStatus = { enabled, solver, plans: 0, failures: 0 };
  const carDraws = new CarDrawWatcher(config);
  const pvHistory = new DailyProfile(tariffs.zone);
  const buildingHistory = new DailyProfile(tariffs.zone);
  const forecastFile = options.forecastFilePath ?? join(dirname(config.storage.path), 'planner-forecast.json');

  function loadForecast(): void {
    let text: string;
    try {
      text = readFileSync(forecastFile, 'utf8');
    } catch {
      return; // first start: nothing learned yet
    }
    try {
      const saved = JSON.parse(text) as { pvW?: unknown; buildingW?: unknown };
      if (!pvHistory.restore(saved.pvW) || !buildingHistory.restore(saved.buildingW)) throw new Error('unexpected shape');
    } catch (error) {
      log.warn({ err: error, path: forecastFile }, 'learned forecast file is damaged; learning again from readings');
    }
  }

  function saveForecast(): void {
    if (!pvHistory.coverage() && !buildingHistory.coverage()) return;
    try {
      mkdirSync(dirname(forecastFile), { recursive: true });
      writeFileSync(`${forecastFile}.tmp`, JSON.stringify({ pvW: pvHistory.values(), buildingW: buildingHistory.values() }));
      renameSync(`${forecastFile}.tmp`, forecastFile);
    } catch (error) {
      log.warn({ err: error, path: forecastFile }, 'cannot save the learned forecast');
    }
  }
  /** The latest PV and building readings: the plan's next hours lean towards them. */
  const measuredNow: { pvW?: number; pvAtMs?: number; baseLoadW?: number } = {};
  let runner: PlanRunner | undefined;
  let running: Promise<Plan | undefined> | undefined;
  let again = false;
  let debounce: NodeJS.Timeout | undefined;
  let interval: NodeJS.Timeout | undefined;
  let failing = false;
  const unsubscribe: (() => void)[] = [];

  function sessions(): PlannerSession[] {
    const list: PlannerSession[] = [];
    const atMs = ctx.clock.nowMs();
    for (const c of ctx.state.connectors.values()) {
      const s = c.session;
      if (!s || s.paused) continue;
      // A fleet schedule on the idTag fills in what the session itself does not say.
      const tag = config.idTags.find((t) => t.idTag === s.idTag);
      const scheduled = tag?.departure ? nextLocalTimeMs(tariffs.zone, Math.max(atMs, s.startedAtMs), tag.departure) : undefined;
      list.push({
        key: `${c.chargerId}/${c.connectorId}`,
        chargerId: c.chargerId,
        arrivalAtMs: s.startedAtMs,
        departureAtMs: s.departureAtMs ?? scheduled,
        energyWh: s.energyWh,
        energyNeedWh: s.energyNeedWh ?? tag?.energyNeedWh,
        tier: s.tier,
        tierRank: config.control.tiers[s.tier] ?? 0,
        socPct: s.socPct,
        ...carModelOf(carDraws.carModel(c.chargerId, c.connectorId, s.transactionId)),
      });
    }
    return list;
  }

  const inputsOf = new WeakMap<Plan, PlanSlotInputs>();

  /**
   * What each car draws (MeterValues) under the cap in force for at least the car's response time:
   * its own max for the plan (car-draw-watcher.ts). A car that showed a new limit is re-planned.
   */
  function learnFromDraws(atMs: number): void {
    if (carDraws.watch(atMs, ctx.state.connectors.values(), ctx.state.lastDecision?.caps)) soon('car max learnt');
  }

  async function planOnce(reason: string): Promise<Plan | undefined> {
    const r = runner;
    if (!r) return undefined;
    const atMs = ctx.clock.nowMs();
    try {
      const input = buildPlanInput({
        config,
        tariff: tariffs.tariff,
        zone: tariffs.zone,
        atMs,
        sessions: sessions(),
        peakSoFarW: tariffs.peakSoFarW(atMs),
        signals: ctx.state.signals,
        batterySocPct: ctx.state.snapshot(atMs).batterySocPct,
        forecast: { pvW: (t) => pvHistory.valueAt(t), baseLoadW: (t) => buildingHistory.valueAt(t) },
        measuredNow: { ...measuredNow },
      });
      if (!input.sessions.length) {
        ceilings.setPlan(undefined);
        return undefined;
      }
      log.debug({ reason }, 'solving a new plan');
      const { plan, solveMs } = await r.run(input);
      status.lastSolveMs = solveMs;
      if (plan.status !== 'optimal') throw new PlanFailedError(`plan ${plan.status}${plan.detail ? `: ${plan.detail}` : ''}`);
      ceilings.setPlan(plan);
      inputsOf.set(plan, { importPricePerKWh: input.importPricePerKWh, pvW: input.pvW, importLimitW: input.importLimitW });
      status.plans++;
      status.lastPlanAtMs = atMs;
      status.lastError = undefined;
      if (failing) log.info('planner recovered; plan targets apply again');
      failing = false;
      log.debug({ reason, sessions: input.sessions.length, solveMs: Math.round(solveMs), peakW: Math.round(plan.peakW) }, 'plan ready');
      return plan;
    } catch (error) {
      // Stopped while solving: nobody will use this plan, and nothing failed.
      if (runner !== r) return undefined;
      // No plan: drop ceilings so the greedy per-cycle allocation carries on unconstrained.
      ceilings.setPlan(undefined);
      status.failures++;
      status.lastError = error instanceof Error ? error.message : String(error);
      if (!failing) log.warn({ err: error, reason }, 'planning failed; greedy control continues without plan targets');
      failing = true;
      return undefined;
    }
  }

  function replanNow(reason = 'request'): Promise<Plan | undefined> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        let plan = await planOnce(reason);
        while (again) {
          again = false;
          plan = await planOnce('coalesced');
        }
        return plan;
      } finally {
        running = undefined;
      }
    })();
    return running;
  }

  function soon(reason: string): void {
    if (!runner) return;
    clearTimeout(debounce);
    debounce = setTimeout(() => void replanNow(reason), DEBOUNCE_MS);
    debounce.unref?.();
  }

  return {
    name: 'planner',
    async start() {
      if (!enabled) {
        log.info('planner off (planner.enabled: false): control runs on the priority scheme alone');
        return;
      }
      log.info({ solver, slotMin: slotMs / 60_000, horizonH: settings?.horizonH ?? 24, default: settings === undefined }, settings === undefined ? 'planner on (default; planner.enabled: false turns it off)' : 'planner on');
      runner = new PlanRunner(log, { solver, timeLimitMs });
      unsubscribe.push(
        ctx.bus.on('session.started', () => soon('arrival')),
        ctx.bus.on('session.ended', () => soon('departure')),
        ctx.bus.on('session.update', (u) => {
          if (u.departureAtMs !== undefined || u.energyNeedWh !== undefined || u.tier !== undefined || u.paused !== undefined) soon('steering');
        }),
        ctx.bus.on('signals.changed', () => soon('signal')),
        ctx.bus.on('clock.stepped', ({ stepMs }) => carDraws.shift(stepMs)),
        ctx.bus.on('device.reading', (r) => {
          if (r.powerW === undefined) return;
          if (r.role === 'pv') {
            pvHistory.record(r.atMs, Math.max(0, r.powerW));
            measuredNow.pvW = Math.max(0, r.powerW);
            measuredNow.pvAtMs = r.atMs;
          }
          if (r.deviceId === config.grid.meter) {
            // Building = grid − EVs + PV + battery discharge (site balance at the connection point).
            let evW = 0;
            for (const c of ctx.state.connectors.values()) evW += Math.max(0, c.powerW ?? 0);
            let otherW = 0;
            for (const d of ctx.state.devices.values()) if ((d.role === 'pv' || d.role === 'battery') && d.health === 'online') otherW += d.reading?.powerW ?? 0;
            buildingHistory.record(r.atMs, r.powerW - evW + otherW);
            measuredNow.baseLoadW = r.powerW - evW + otherW;
          }
        }),
      );
      loadForecast();
      interval = setInterval(() => {
        saveForecast();
        void replanNow('slot');
      }, slotMs);
      interval.unref?.();
      void replanNow('start');
    },
    async stop() {
      clearTimeout(debounce);
      clearInterval(interval);
      unsubscribe.splice(0).forEach((off) => off());
      const r = runner;
      runner = undefined;
      if (r) saveForecast();
      await r?.close();
      ceilings.setPlan(undefined);
    },
    ceilingsW(snapshot: SiteSnapshot) {
      if (runner) learnFromDraws(snapshot.atMs);
      // A plan two slots old is stale (re-planning is stuck): no ceilings rather than old ones.
      const plan = ceilings.current();
      if (plan && snapshot.atMs - plan.startMs >= 2 * slotMs) return new Map();
      return ceilings.ceilingsW(snapshot);
    },
    currentPlan: () => ceilings.current(),
    status: () => ({ ...status }),
    replanNow,
    batteryTargetW(atMs: number) {
      const plan = ceilings.current();
      if (!plan || !plan.batteryW.length) return undefined;
      const t = Math.floor((atMs - plan.startMs) / plan.slotMs);
      return t >= 0 && t < 2 && t < plan.batteryW.length ? plan.batteryW[t] : undefined;
    },
    forecast: () => ({ pvW: pvHistory.values(), buildingW: buildingHistory.values() }),
    currentInputs: () => {
      const plan = ceilings.current();
      return plan ? inputsOf.get(plan) : undefined;
    },
  };
}
