// The tariff side of the shell: the site's Tariff kept current from the signal timeline (price
// feed, OpenADR PRICE), the month's demand peak (remembered across restarts), live KPIs for today
// and per-session bills. The API and the planner read it through TariffService.
import { dirname, join } from 'node:path';
import { KpiAccumulator, parseKpiSnapshot, type Kpis } from '../../optimizer/kpi.ts';
import type { GridSignal } from '../bus.ts';
import type { Service, ServiceContext } from '../service.ts';
import { BillLog } from './bill-log.ts';
import { DemandPeakFile, DemandPeakTracker } from './demand-peak.ts';
import type { LocalTimeZone } from './local-time.ts';
import { PriceFeed } from './price-feed.ts';
import { SessionBilling, type SessionBill } from './session-billing.ts';
import { Tariff, type TariffView } from './tariff.ts';

export interface LiveKpis extends Kpis {
  /** Local midnight this day's figures start at. */
  sinceMs: number;
  currency: string;
  /** The billing month's demand peak so far (what the demand charge is on), W. */
  monthPeakW: number;
  /** Start of the demand window the month's peak was in. */
  monthPeakAtMs?: number;
  monthDemandCharge: number;
}

export interface PriceNow {
  atMs: number;
  currency: string;
  importPricePerKWh: number;
  exportPricePerKWh: number;
  carbonGPerKWh: number;
  demandChargePerKW: number;
}

/** The billing month's demand peak as the service holds it now (never behind what the store holds). */
export interface MonthPeak {
  /** "2026-12" in the site's time zone. */
  month: string;
  peakW: number;
  /** Start of the demand window the peak was in; undefined while the month has none. */
  atMs?: number;
}

export interface TariffService extends Service {
  readonly tariff: TariffView;
  readonly zone: LocalTimeZone;
  peakSoFarW(atMs: number): number;
  /** The month's peak (15-min mean import) held in memory: what GET /api/v1/peak answers. */
  monthPeak(atMs?: number): MonthPeak;
  /** Today's KPIs so far (local day). */
  kpis(): LiveKpis;
  prices(atMs?: number): PriceNow;
  /** Running bill of the session on a connector. */
  sessionBill(chargerId: string, connectorId: number): SessionBill | undefined;
  /** Running and recent closed session bills, newest first. */
  sessionBills(limit?: number): SessionBill[];
  /** Bills of sessions that ended in [fromMs, toMs) (from the durable log) and running ones started before toMs, oldest first. */
  billsBetween(fromMs: number, toMs: number): SessionBill[];
}

/** Readings further apart than this are a gap, not a step. */
const MAX_STEP_MS = 300_000;

/** A persistent monthly-peak record kept elsewhere (the SQLite history, structurally). */
export interface MonthlyPeakSource {
  get(month: string): { peakPowerW: number; atMs?: number } | undefined;
  /** Raise the month's peak (the tariff service writes it with today's KPI snapshot, at most every 60 s). */
  offer?(month: string, powerW: number, atMs: number): unknown;
}

/** What the site did from `atMs` on, held until the next sample. */
interface HeldStep {
  atMs: number;
  gridPowerW: number;
  evPowerW: number;
  pvPowerW: number;
  chargingConnectors: number;
  overLimit: boolean;
}

/** Durable per-day KPI state (storage's kpi_days, structurally). */
export interface KpiDaySource {
  load(day: string): unknown;
  save(day: string, state: unknown, atMs: number): void;
}

/** Today's running figures are saved at most this often (and at every session end and at stop). */
const KPI_SAVE_EVERY_MS = 60_000;

export interface TariffServiceOptions {
  /** Where the month's peak is remembered when no peakSource is given; default next to the database. */
  peakFilePath?: string;
  /** Use this record of monthly peaks (e.g. storage's) instead of the JSON file. */
  peakSource?: MonthlyPeakSource;
  /** Closed session bills are appended here (JSON lines); default next to the database. */
  billsFilePath?: string;
  /** Keep today's KPI state here so a restart changes no figure. */
  kpiStore?: KpiDaySource;
}

export function createTariffService(ctx: ServiceContext, options: TariffServiceOptions = {}): TariffService {
  const log = ctx.log.child({ module: 'tariffs' });
  const config = ctx.config;
  const tariff = new Tariff(config.tariffs, config.site.timezone);
  const zone = tariff.zone;
  const windowMs = (config.tariffs?.demandCharge?.windowMin ?? 15) * 60_000;
  const peakFile = new DemandPeakFile(options.peakFilePath ?? join(dirname(config.storage.path), 'demand-peak.json'), log);
  const peakSource = options.peakSource;
  /**
   * Without a monthly-peak record (no store), the month's peak is tracked here and kept in a JSON
   * file. With one, the store's row raised by today's KPIs (`stored`) is the only owner.
   */
  const fileTracker = peakSource ? undefined : new DemandPeakTracker(zone, windowMs, (state) => peakFile.write(state));
  const billLog = new BillLog(options.billsFilePath ?? join(dirname(config.storage.path), 'session-bills.jsonl'), log);
  const billing = new SessionBilling(tariff, 1000, (bill) => billLog.append(bill));
  const signalsBySource = new Map<string, GridSignal[]>();
  /** Energy wanted per open session (connector key), for the success rate. */
  const needs = new Map<string, number | undefined>();
  const connectorCount = config.chargers.reduce((n, c) => n + c.connectors, 0);
  const kpiStore = options.kpiStore;
  let day = { key: '', sinceMs: 0, kpi: new KpiAccumulator(tariff.demandChargePerKW, windowMs) };
  let lastSaveMs = -Infinity;
  let offeredPeakW = 0;
  /**
   * The month's peak as stored, raised in memory as today's rises: the one owner the API, the
   * planner and the KPIs read. Written to the store with the KPI snapshot (not every cycle).
   */
  let stored: MonthPeak = { month: '', peakW: 0 };
  let peakUnsaved = false;
  let lastStep: HeldStep | undefined;
  let feed: PriceFeed | undefined;
  const unsubscribe: (() => void)[] = [];

  /** The month's peak of the store, read once per month (at start and when the month turns). */
  function storedPeak(atMs: number): MonthPeak {
    const month = zone.monthKey(atMs);
    if (stored.month !== month) {
      savePeak();
      const row = readStoredPeak(month);
      stored = row ? { month, peakW: row.peakPowerW, ...(row.atMs === undefined ? {} : { atMs: row.atMs }) } : { month, peakW: 0 };
    }
    return stored;
  }

  function readStoredPeak(month: string) {
    try {
      return peakSource?.get(month);
    } catch (error) {
      log.error({ err: error, month }, "month's peak not read; counting from today's");
      return undefined;
    }
  }

  function savePeak(): void {
    if (!peakUnsaved || !peakSource?.offer) return;
    peakUnsaved = false;
    try {
      peakSource.offer(stored.month, stored.peakW, stored.atMs ?? 0);
    } catch (error) {
      log.error({ err: error, month: stored.month }, "month's peak not saved");
    }
  }

  /** Today's figures and the month's peak to storage (every 60 s, at a session's end and at stop). */
  function saveDay(atMs: number): void {
    lastSaveMs = atMs;
    savePeak();
    if (!kpiStore || !day.key) return;
    try {
      kpiStore.save(day.key, day.kpi.snapshot(), atMs);
    } catch (error) {
      log.error({ err: error, day: day.key }, "today's figures not saved");
    }
  }

  /**
   * A session end's save of today's figures, on the next turn of the event loop (one for every end
   * in a turn): the session.ended listeners run inside the charger's StopTransaction handling, and a
   * relayed Stop's answer waits for them (two SQLite writes each, ~0.4 ms at 80 stops a second).
   * The figures are in memory at once; a crash in between loses what a crash before the next
   * 60 s save loses anyway (the bill is appended at once).
   */
  let pendingSave: { atMs: number; handle: ReturnType<typeof setImmediate> } | undefined;
  function saveDaySoon(atMs: number): void {
    if (pendingSave) {
      pendingSave.atMs = Math.max(pendingSave.atMs, atMs);
      return;
    }
    const save = {
      atMs,
      handle: setImmediate(() => {
        if (pendingSave !== save) return;
        pendingSave = undefined;
        saveDay(save.atMs);
      }),
    };
    pendingSave = save;
  }

  function dayFor(atMs: number) {
    const key = zone.at(atMs).date;
    if (key !== day.key) {
      saveDay(atMs);
      day = { key, sinceMs: zone.startOfDayMs(atMs), kpi: new KpiAccumulator(tariff.demandChargePerKW, windowMs) };
      offeredPeakW = 0;
      const saved = parseKpiSnapshot(kpiStore?.load(key));
      if (saved) {
        day.kpi.restore(saved);
        offerPeak();
      }
    }
    return day.kpi;
  }

  /**
   * The month's peak follows today's as it rises: one definition (15-min mean import) for both.
   * Raised in memory at once; written with the next KPI snapshot (saveDay).
   */
  function offerPeak(): void {
    if (!peakSource) return;
    const k = day.kpi.result();
    if (k.peakW <= offeredPeakW || k.peakAtMs === undefined) return;
    offeredPeakW = k.peakW;
    const month = storedPeak(k.peakAtMs);
    if (month.month !== zone.monthKey(k.peakAtMs) || k.peakW <= month.peakW) return;
    stored = { month: month.month, peakW: k.peakW, atMs: k.peakAtMs };
    peakUnsaved = true;
  }

  /** The planner's peak so far: the month's peak the API and the KPIs show (one owner). */
  function peakSoFarW(atMs: number): number {
    return monthPeak(atMs).peakW;
  }

  function monthPeak(atMs: number): MonthPeak {
    const k = dayFor(atMs).result();
    if (!fileTracker) {
      const m = storedPeak(atMs);
      // Today's peak is offered as the day is integrated; one not offered yet still counts.
      return k.peakW > m.peakW && k.peakAtMs !== undefined ? { month: m.month, peakW: k.peakW, atMs: k.peakAtMs } : m;
    }
    const earlierW = Math.max(fileTracker.peakSoFarW(atMs), fileTracker.state().openWindowAverageW);
    const earlierAtMs = fileTracker.state().peakAtMs;
    const todayIsPeak = k.peakW >= earlierW;
    const peakAtMs = todayIsPeak ? k.peakAtMs : earlierAtMs;
    return { month: zone.monthKey(atMs), peakW: todayIsPeak ? k.peakW : earlierW, ...(peakAtMs === undefined ? {} : { atMs: peakAtMs }) };
  }

  function evNow(): { powerW: number; charging: number } {
    let powerW = 0;
    let charging = 0;
    for (const c of ctx.state.connectors.values()) {
      const p = c.powerW ?? c.drawA.reduce((s, a) => s + a, 0) * config.site.voltage;
      if (p > 50) charging++;
      powerW += Math.max(0, p);
    }
    return { powerW, charging };
  }

  /** The held values integrated from their time until `atMs` (a gap is skipped, not counted). */
  function integrateUntil(atMs: number): void {
    if (!lastStep || !(atMs > lastStep.atMs)) return;
    if (atMs - lastStep.atMs <= MAX_STEP_MS) {
      dayFor(lastStep.atMs).addStep({
        atMs: lastStep.atMs,
        durationMs: atMs - lastStep.atMs,
        gridPowerW: lastStep.gridPowerW,
        evPowerW: lastStep.evPowerW,
        pvPowerW: lastStep.pvPowerW,
        importPricePerKWh: tariff.importPricePerKWh(lastStep.atMs),
        exportPricePerKWh: tariff.exportPricePerKWh(lastStep.atMs),
        carbonGPerKWh: tariff.carbonGPerKWh(lastStep.atMs),
        chargingConnectors: lastStep.chargingConnectors,
        connectorCount,
        overLimit: lastStep.overLimit,
      });
      offerPeak();
    }
    lastStep = { ...lastStep, atMs };
  }

  /** One KPI sample: what was held is counted until now, then the new values are held. */
  function step(atMs: number, gridPowerW: number, overLimit: boolean): void {
    if (lastStep && atMs < lastStep.atMs) return;
    integrateUntil(atMs);
    fileTracker?.record(atMs, gridPowerW);
    const ev = evNow();
    const pvPowerW = [...ctx.state.devices.values()].find((d) => d.role === 'pv' && d.health === 'online')?.reading?.powerW ?? 0;
    lastStep = { atMs, gridPowerW, evPowerW: ev.powerW, pvPowerW, chargingConnectors: ev.charging, overLimit };
    if (atMs - lastSaveMs >= KPI_SAVE_EVERY_MS) saveDay(atMs);
  }

  /**
   * A session ended: what was held is counted until now and the car's draw stops being held, so
   * the figures read at the session's end are final (nothing of it is counted later).
   */
  function sessionEndedNow(): void {
    if (!lastStep) return;
    const atMs = Math.max(ctx.clock.nowMs(), lastStep.atMs);
    const ev = evNow();
    // Without a grid meter the EV load is the site's import; with one, the meter tells.
    step(atMs, config.grid.meter ? lastStep.gridPowerW : ev.powerW, lastStep.overLimit);
  }

  return {
    name: 'tariffs',
    tariff,
    zone,
    async start() {
      fileTracker?.restore(peakFile.read());
      dayFor(ctx.clock.nowMs());
      billing.restore(billLog.read(1000));
      unsubscribe.push(
        ctx.bus.on('signals.changed', ({ signals, source }) => {
          signalsBySource.set(source, signals);
          tariff.setSignals([...signalsBySource.values()].flat());
        }),
        ctx.bus.on('device.reading', (r) => {
          if (r.deviceId !== config.grid.meter || r.powerW === undefined) return;
          const overLimit = (r.currentA ?? [0, 0, 0]).some((a) => a > config.grid.maxCurrent) || (config.grid.maxPower !== undefined && r.powerW > config.grid.maxPower);
          step(r.atMs, r.powerW, overLimit);
        }),
        ctx.bus.on('decision', (d) => {
          // Without a grid meter the EV load is all we know of the site.
          if (config.grid.meter) return;
          step(d.atMs, evNow().powerW, false);
        }),
        ctx.bus.on('session.started', (s) => {
          billing.started(s);
          needs.set(`${s.chargerId}/${s.connectorId}`, s.energyNeedWh);
        }),
        ctx.bus.on('session.update', (u) => {
          if (u.energyNeedWh !== undefined) needs.set(`${u.chargerId}/${u.connectorId}`, u.energyNeedWh ?? undefined);
        }),
        ctx.bus.on('connector.meter', (m) => billing.meter(m)),
        ctx.bus.on('session.ended', (e) => {
          // Our own record: the site state may already have dropped the session.
          const key = `${e.chargerId}/${e.connectorId}`;
          const need = needs.get(key);
          needs.delete(key);
          sessionEndedNow();
          const bill = billing.ended(e);
          if (bill) {
            dayFor(e.endedAtMs).addSession({ requestedWh: need ?? bill.energyWh, deliveredWh: bill.energyWh });
            saveDaySoon(e.endedAtMs);
          }
        }),
      );
      const f = config.tariffs?.feed;
      if (f) {
        feed = new PriceFeed({ driver: f.driver, topic: f.topic, url: f.url, mqtt: config.mqtt, pollIntervalS: f.pollIntervalS, bus: ctx.bus, clock: ctx.clock, log });
        try {
          await feed.start();
        } catch (error) {
          log.error({ err: error }, 'price feed not started; TOU prices apply');
        }
      }
    },
    async stop() {
      unsubscribe.splice(0).forEach((off) => off());
      if (pendingSave) clearImmediate(pendingSave.handle);
      pendingSave = undefined;
      integrateUntil(ctx.clock.nowMs());
      saveDay(ctx.clock.nowMs());
      await feed?.stop();
      feed = undefined;
    },
    peakSoFarW,
    monthPeak: (atMs = ctx.clock.nowMs()) => monthPeak(atMs),
    kpis() {
      const atMs = ctx.clock.nowMs();
      const k = dayFor(atMs).result();
      // The month's peak is never below today's: the same 15-min mean import, today's offered to the month.
      const m = monthPeak(atMs);
      const monthPeakW = m.peakW;
      const monthPeakAtMs = m.atMs;
      return {
        ...k,
        sinceMs: day.sinceMs,
        currency: tariff.currency,
        monthPeakW,
        ...(monthPeakAtMs === undefined ? {} : { monthPeakAtMs }),
        monthDemandCharge: (monthPeakW / 1000) * tariff.demandChargePerKW,
      };
    },
    prices(atMs = ctx.clock.nowMs()) {
      return {
        atMs,
        currency: tariff.currency,
        importPricePerKWh: tariff.importPricePerKWh(atMs),
        exportPricePerKWh: tariff.exportPricePerKWh(atMs),
        carbonGPerKWh: tariff.carbonGPerKWh(atMs),
        demandChargePerKW: tariff.demandChargePerKW,
      };
    },
    sessionBill: (chargerId, connectorId) => billing.current(chargerId, connectorId),
    sessionBills: (limit) => billing.list(limit),
    billsBetween: (fromMs, toMs) => [
      ...billLog.between(fromMs, toMs),
      ...billing.list(Number.MAX_SAFE_INTEGER).filter((b) => b.endedAtMs === undefined && b.startedAtMs < toMs),
    ],
  };
}
