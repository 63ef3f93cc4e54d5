// From the site's config, tariff and sessions to the pure planner's input. Shared by the live
// planner service and by replay, so both plan exactly the same way.
import type { Config } from '../../config/schema.ts';
import { lineToLineMask, powerWeightOf, rotationOf } from '../../optimizer/phase-map.ts';
import type { PlanBattery, PlanCircuit, PlanInput, PlanSession } from '../../optimizer/plan-types.ts';
import type { GridSignal } from '../bus.ts';
import type { TariffView } from '../tariffs/tariff.ts';
import type { LocalTimeZone } from '../tariffs/local-time.ts';

export interface PlannerSession {
  key: string;
  chargerId: string;
  /** Plug-in time (in replay, a future arrival is planned for too). */
  arrivalAtMs: number;
  departureAtMs?: number;
  /** Delivered so far, Wh. */
  energyWh: number;
  /** Total wanted this session, Wh; undefined = unknown (tier default applies). */
  energyNeedWh?: number;
  tier?: string;
  tierRank: number;
  socPct?: number;
  /** The car's own limit, W, when known. */
  carMaxPowerW?: number;
  /** How much that limit falls per Wh delivered (taper, learnt from its draw), W/Wh. */
  carTaperWPerWh?: number;
  /** The car was seen drawing whole amps under a fractional cap: a real car that falls short of nominal power; planned with a departure margin. */
  carWholeAmps?: boolean;
}

export interface PlanContext {
  config: Config;
  tariff: TariffView;
  zone: LocalTimeZone;
  atMs: number;
  sessions: readonly PlannerSession[];
  /** The billing month's demand peak so far, W. */
  peakSoFarW: number;
  signals?: readonly GridSignal[];
  batterySocPct?: number;
  /** Forecasts learned from history, used where the config gives no curve. */
  forecast?: { pvW?(atMs: number): number | undefined; baseLoadW?(atMs: number): number | undefined };
  /**
   * What the meters read now, W: the forecast of the next hours is corrected towards it (PV by the
   * ratio, plus the difference where the forecast knows less; building load by the difference),
   * fading out with a 2 h time constant (persistence).
   * `baseLoadW` is what the site's balance gives: grid − cars (+ PV where a PV device reports);
   * without a PV device that is the building net of PV. `pvAtMs`: when the PV reading was taken;
   * what it adds beyond the forecast fades from then (a silent PV meter's noon reading is not the evening's).
   */
  measuredNow?: { pvW?: number; pvAtMs?: number; baseLoadW?: number };
}

/** How fast a correction from the current reading fades into the forecast, ms. */
const PERSISTENCE_MS = 2 * 3_600_000;
/** A PV forecast below this, W, says that time of day is dark: no PV is carried into it from the reading. */
const PV_DARK_W = 50;

const DEFAULT_NEED_WH = 20_000;
/**
 * Plan a car seen behaving as real cars do (whole amps) with a known departure to be done this much
 * before it, where its stay leaves the slack: a share of the stay, within bounds. Such cars draw less
 * than the plan counts on near the end (taper before it shows, whole amps, a ramp after each slot's
 * change), and what is missing at departure cannot be caught up. Measured on the plant's public hub
 * at 100 A (3 seeds, fcfs and departure): sessions met +3.4 points on average at 30 % / 45 min
 * against 10 % / 20 min, energy −0.5 point. A car that follows fractional caps exactly (the instant
 * model) gets none: there the margin only shorts cars under scarcity (public hub at 120 A: −0.6 point).
 */
const DEPARTURE_MARGIN_FRACTION = 0.3;
const DEPARTURE_MARGIN_MIN_MS = 5 * 60_000;
const DEPARTURE_MARGIN_MAX_MS = 45 * 60_000;
/** A tapering car's draw falls no lower than this share of where it started falling. */
const TAPER_FLOOR_FRACTION = 0.15;
/**
 * Plan a little more than asked: the per-cycle control (deadband, pause hold, ramp) follows the plan
 * slightly below it, and a car stops drawing when full, so the extra only makes it finish earlier.
 */
const NEED_MARGIN_FRACTION = 0.01;
const NEED_MARGIN_WH = 150;

/** A daily curve (equal steps from local midnight) read at an instant. */
export function curveAt(curve: readonly number[] | undefined, zone: LocalTimeZone, atMs: number): number {
  if (!curve?.length) return 0;
  const minute = zone.at(atMs).minuteOfDay;
  return curve[Math.min(curve.length - 1, Math.floor((minute * curve.length) / 1440))];
}

/** Static connection-point import cap after the safety margin, W (3-phase balanced). */
export function siteImportLimitW(config: Config): number {
  const fuseW = config.grid.maxCurrent * config.site.voltage * 3;
  return Math.min(fuseW, config.grid.maxPower ?? Infinity) * (1 - config.grid.safetyMargin);
}

export function chargerMaxPowerW(config: Config, chargerId: string): number {
  const charger = config.chargers.find((c) => c.id === chargerId);
  return charger ? charger.maxCurrent * config.site.voltage * powerWeightOf(charger) : 0;
}

/** Site phases a charger loads (bit 0 = L1): all three, its one rotated phase, or its two lines. */
export function chargerPhaseMask(charger: Config['chargers'][number]): number {
  if (charger.phases === 3) return 0b111;
  return lineToLineMask(charger.connection) ?? 1 << rotationOf(charger.phaseRotation)[0];
}

/**
 * A car's max power before it has shown it (by drawing less than its cap): most AC cars take 16 A
 * per phase on a three-phase charger (11 kW), whatever the charger offers. Planning a car as
 * faster than it is defers it too long; planning it slower only starts it earlier.
 */
const ASSUMED_CAR_MAX_A_THREE_PHASE = 16;

export function assumedCarMaxPowerW(config: Config, chargerId: string): number {
  const charger = config.chargers.find((c) => c.id === chargerId);
  if (!charger || charger.phases !== 3) return chargerMaxPowerW(config, chargerId);
  return Math.min(charger.maxCurrent, ASSUMED_CAR_MAX_A_THREE_PHASE) * config.site.voltage * 3;
}

/**
 * The average power a car keeps over `needWh` when its max `maxPowerW` falls by `taperWPerWh` per Wh
 * delivered (linear taper, never below TAPER_FLOOR_FRACTION of where it is now), W. With P(e) = P0 −
 * k·e the time to deliver E is ln(P0 / (P0 − k·E)) / k; past the floor it goes at the floor.
 */
export function taperedMaxPowerW(maxPowerW: number, taperWPerWh: number | undefined, needWh: number): number {
  const k = taperWPerWh ?? 0;
  if (!(k > 0) || !(needWh > 0) || !(maxPowerW > 0)) return maxPowerW;
  const floorW = TAPER_FLOOR_FRACTION * maxPowerW;
  const taperWh = Math.min(needWh, (maxPowerW - floorW) / k);
  const hours = Math.log(maxPowerW / (maxPowerW - k * taperWh)) / k + (needWh - taperWh) / floorW;
  return needWh / hours;
}

/** Weight ratio between one tier and the next: a kWh of a higher tier outweighs several of a lower. */
const TIER_FACTOR = 8;

/**
 * Priority weight per session (the penalty multiplier of its unmet energy): in [1, 2] by the site's
 * priority order, the first shorted last. Under `tier` each tier level multiplies by TIER_FACTOR, so
 * the LP shorts a lower tier entirely before a higher one (even when a kWh of the higher tier's
 * single-phase car costs three times the phase current of a three-phase one).
 */
export function priorityWeights(sessions: readonly PlannerSession[], scheme: Config['control']['priority']): Map<string, number> {
  const weights = new Map<string, number>();
  if (scheme === 'equal' || sessions.length <= 1) {
    for (const s of sessions) weights.set(s.key, 1);
    return weights;
  }
  const order = [...sessions].sort((a, b) => {
    if (scheme === 'departure') return (a.departureAtMs ?? Infinity) - (b.departureAtMs ?? Infinity) || a.arrivalAtMs - b.arrivalAtMs;
    if (scheme === 'soc') return (a.socPct ?? 100) - (b.socPct ?? 100) || a.arrivalAtMs - b.arrivalAtMs;
    if (scheme === 'tier') return b.tierRank - a.tierRank || a.arrivalAtMs - b.arrivalAtMs;
    return a.arrivalAtMs - b.arrivalAtMs;
  });
  if (scheme !== 'tier') {
    order.forEach((s, i) => weights.set(s.key, 1 + (order.length - 1 - i) / (order.length - 1)));
    return weights;
  }
  const levels = [...new Set(sessions.map((s) => s.tierRank))].sort((a, b) => a - b);
  for (const rank of levels) {
    const group = order.filter((s) => s.tierRank === rank);
    const base = TIER_FACTOR ** levels.indexOf(rank);
    group.forEach((s, i) => weights.set(s.key, base * (1 + (group.length > 1 ? (group.length - 1 - i) / (group.length - 1) : 1))));
  }
  return weights;
}

/**
 * The config's fuse tree as plan circuits: per node, the sessions it feeds and on which site
 * phases, and the connection point's fuse (grid.maxCurrent) with the base load reserved per slot.
 * Nodes that could not be overloaded even with every charger below at its maximum are left out
 * (they cannot bind, and rows cost solve time).
 */
export function planCircuits(config: Config, sessions: readonly PlannerSession[], baseLoadW?: readonly number[]): PlanCircuit[] {
  const chargers = new Map(config.chargers.map((c) => [c.id, c]));
  const margin = 1 - config.grid.safetyMargin;
  const out: PlanCircuit[] = [];
  const node = (id: string, maxCurrent: number, below: readonly string[], reservedA?: number[]) => {
    const worstA = [0, 0, 0];
    const loads: PlanCircuit['loads'][number][] = [];
    for (const chargerId of below) {
      const charger = chargers.get(chargerId);
      if (!charger) continue;
      const mask = chargerPhaseMask(charger);
      for (let p = 0; p < 3; p++) if ((mask >> p) & 1) worstA[p] += charger.maxCurrent * charger.connectors;
      for (const s of sessions) if (s.chargerId === chargerId) loads.push({ key: s.key, phaseMask: mask, powerWeight: powerWeightOf(charger) });
    }
    const limitA = maxCurrent * margin;
    const reservedMaxA = reservedA ? Math.max(0, ...reservedA) : 0;
    if (loads.length && worstA.some((a) => a + reservedMaxA > limitA)) out.push({ id, maxCurrentA: limitA, loads, ...(reservedA ? { reservedA } : {}) });
  };
  const visit = (circuit: Config['circuits'][number]): string[] => {
    const below = [...(circuit.chargers ?? []), ...(circuit.children ?? []).flatMap(visit)];
    node(circuit.id, circuit.maxCurrent, below);
    return below;
  };
  config.circuits.forEach(visit);
  // The main fuse, per phase: the base load is assumed balanced over the three phases.
  const voltage = config.site.voltage;
  const reservedA = baseLoadW?.map((w) => Math.max(0, w) / (3 * voltage));
  node('grid', config.grid.maxCurrent, config.chargers.map((c) => c.id), reservedA);
  return out;
}

/** How much earlier than its departure a car is planned to be done: within the slack of its stay, ms. */
export function departureMarginMs(s: PlannerSession, fromMs: number, energyNeedWh: number, maxPowerW: number): number {
  if (s.departureAtMs === undefined || !s.carWholeAmps || !(maxPowerW > 0)) return 0;
  const stayMs = s.departureAtMs - s.arrivalAtMs;
  const wantedMs = Math.min(DEPARTURE_MARGIN_MAX_MS, Math.max(DEPARTURE_MARGIN_MIN_MS, DEPARTURE_MARGIN_FRACTION * stayMs));
  const slackMs = s.departureAtMs - fromMs - (energyNeedWh / maxPowerW) * 3_600_000;
  return Math.max(0, Math.min(wantedMs, slackMs));
}

export function buildPlanInput(ctx: PlanContext): PlanInput {
  const { config, tariff, zone, atMs } = ctx;
  const planner = config.planner;
  const slotMs = (planner?.slotMin ?? 15) * 60_000;
  const slotCount = Math.max(1, Math.round(((planner?.horizonH ?? 24) * 3_600_000) / slotMs));
  const dwellMs = (planner?.defaultDwellH ?? 8) * 3_600_000;
  const staticLimitW = siteImportLimitW(config);
  const margin = 1 - config.grid.safetyMargin;
  const limits = (ctx.signals ?? []).filter((s) => s.kind === 'import-limit');
  const exportLimits = (ctx.signals ?? []).filter((s) => s.kind === 'export-limit');

  /** The PV forecast at an instant, W; undefined where nothing is known (a learnt profile without that time of day yet). */
  const pvKnownAt = (t: number) => (planner?.pvForecastW ? curveAt(planner.pvForecastW, zone, t) : ctx.forecast?.pvW?.(t));
  const pvAt = (t: number) => Math.max(0, pvKnownAt(t) ?? 0);
  const measured = ctx.measuredNow;
  const measuredBaseW = measured?.baseLoadW !== undefined && Number.isFinite(measured.baseLoadW) ? measured.baseLoadW : undefined;
  // Without a PV device the site's meters see PV only inside the building load (grid − cars), and
  // so does the profile learnt from them: the building here is that net load, a configured PV curve
  // comes off a configured building curve once, and PV beyond the building is what is left of PV.
  const pvMetered = config.devices.some((d) => d.role === 'pv');
  const baseAt = (t: number) => {
    if (planner?.baseLoadW) return curveAt(planner.baseLoadW, zone, t) - (pvMetered ? 0 : pvAt(t));
    const learnt = ctx.forecast?.baseLoadW?.(t) ?? 0;
    return pvMetered ? Math.max(0, learnt) : learnt;
  };
  const baseOffsetW = measuredBaseW !== undefined ? measuredBaseW - baseAt(atMs) : 0;
  const pvNowW = pvAt(atMs);
  const measuredPvW = pvMetered && measured?.pvW !== undefined && Number.isFinite(measured.pvW) ? Math.max(0, measured.pvW) : undefined;
  const pvRatio = measuredPvW !== undefined && pvNowW > 500 ? Math.min(2, measuredPvW / pvNowW) : 1;
  // What the ratio cannot reach (a fresh install's empty forecast, or one far below the reading):
  // added as the reading's persistence, fading like the building's, and kept out of the times of day
  // the forecast knows to be dark: PV guessed into the evening would plan car energy that won't come.
  const pvAgeMs = measured?.pvAtMs !== undefined ? Math.max(0, atMs - measured.pvAtMs) : 0;
  const pvGapW = measuredPvW !== undefined ? Math.max(0, measuredPvW - pvNowW * pvRatio) * Math.exp(-pvAgeMs / PERSISTENCE_MS) : 0;
  const pvDark = (t: number) => {
    const known = pvKnownAt(t);
    return known !== undefined && known < PV_DARK_W;
  };
  const importPricePerKWh: number[] = [];
  const exportPricePerKWh: number[] = [];
  const carbonGPerKWh: number[] = [];
  const baseLoadW: number[] = [];
  const pvW: number[] = [];
  const importLimitW: number[] = [];
  const exportLimitW: number[] = [];
  for (let t = 0; t < slotCount; t++) {
    const start = atMs + t * slotMs;
    const mid = start + slotMs / 2;
    importPricePerKWh.push(tariff.importPricePerKWh(mid));
    exportPricePerKWh.push(tariff.exportPricePerKWh(mid));
    carbonGPerKWh.push(tariff.carbonGPerKWh(mid));
    const fade = Math.exp(-(mid - atMs) / PERSISTENCE_MS);
    const siteBaseW = baseAt(mid) + baseOffsetW * fade;
    baseLoadW.push(Math.max(0, siteBaseW));
    pvW.push(pvMetered ? Math.max(0, pvAt(mid) * (1 + (pvRatio - 1) * fade) + (pvDark(mid) ? 0 : pvGapW * fade)) : Math.max(0, -siteBaseW));
    // A signal that overlaps the slot at all bounds the whole slot: safe side.
    const overlapping = (s: GridSignal) => s.startMs < start + slotMs && s.endMs > start;
    const signalLimit = Math.min(...limits.filter(overlapping).map((s) => s.value * margin));
    importLimitW.push(Math.min(staticLimitW, signalLimit));
    const exportSignal = Math.min(...exportLimits.filter(overlapping).map((s) => s.value));
    exportLimitW.push(Math.min(config.grid.maxExportPower ?? Infinity, exportSignal));
  }

  const weights = priorityWeights(ctx.sessions, config.control.priority);
  const sessions: PlanSession[] = ctx.sessions.map((s) => {
    const tierDefault = s.tier ? planner?.defaultEnergyNeedWh[s.tier] : undefined;
    // Need by departure: what the operator or fleet schedule says, else from SoC and the assumed
    // battery size, else the tier's default.
    const fromSocWh =
      s.socPct !== undefined && planner?.carBatteryWh !== undefined
        ? s.energyWh + (Math.max(0, (planner.targetSocPct ?? 100) - s.socPct) / 100) * planner.carBatteryWh
        : undefined;
    const needWh = s.energyNeedWh ?? fromSocWh ?? tierDefault ?? planner?.defaultEnergyNeedWh.default ?? DEFAULT_NEED_WH;
    const energyNeedWh = needWh > s.energyWh ? (needWh - s.energyWh) * (1 + NEED_MARGIN_FRACTION) + NEED_MARGIN_WH : 0;
    const chargerMaxW = chargerMaxPowerW(config, s.chargerId);
    const nominalMaxW = Math.min(chargerMaxW, s.carMaxPowerW ?? assumedCarMaxPowerW(config, s.chargerId));
    const maxPowerW = taperedMaxPowerW(nominalMaxW, s.carTaperWPerWh, energyNeedWh);
    const fromMs = Math.max(atMs, s.arrivalAtMs);
    // A session nobody gave a departure for is not shifted (the driver may leave any time): it is
    // planned as charging as soon as possible, so the plan counts its load, and gets no target.
    const steer = s.departureAtMs !== undefined || (planner?.steerUnknownDepartures ?? false);
    const asapMs = maxPowerW > 0 ? Math.max(slotMs, (energyNeedWh / maxPowerW) * 3_600_000) : slotMs;
    return {
      key: s.key,
      arrivalAtMs: s.arrivalAtMs,
      departureAtMs: s.departureAtMs !== undefined ? s.departureAtMs - departureMarginMs(s, fromMs, energyNeedWh, maxPowerW) : fromMs + (steer ? dwellMs : asapMs),
      energyNeedWh,
      maxPowerW,
      priorityWeight: weights.get(s.key) ?? 1,
      steer,
      ...(s.carMaxPowerW === undefined && nominalMaxW < chargerMaxW ? { maxAssumed: true } : {}),
    };
  });

  let battery: PlanBattery | undefined;
  const b = planner?.battery;
  if (b) {
    const soc = ctx.batterySocPct ?? (b.minSocPct + b.maxSocPct) / 2;
    battery = {
      capacityWh: b.capacityWh,
      energyWh: (soc / 100) * b.capacityWh,
      minEnergyWh: (b.minSocPct / 100) * b.capacityWh,
      maxEnergyWh: (b.maxSocPct / 100) * b.capacityWh,
      maxChargeW: b.maxChargeW,
      maxDischargeW: b.maxDischargeW,
      efficiency: b.efficiency,
    };
  }

  return {
    startMs: atMs,
    slotMs,
    slotCount,
    importPricePerKWh,
    exportPricePerKWh,
    carbonGPerKWh,
    baseLoadW,
    pvW,
    importLimitW,
    exportLimitW,
    demandChargePerKW: tariff.demandChargePerKW,
    peakSoFarW: ctx.peakSoFarW,
    carbonPricePerKg: planner?.carbonPricePerKg ?? 0,
    unmetPenaltyPerKWh: planner?.unmetPenaltyPerKWh ?? 100,
    battery,
    circuits: planCircuits(config, ctx.sessions, baseLoadW.map((w, t) => w - pvW[t])),
    voltageV: config.site.voltage,
    fairShortfall: config.control.priority === 'equal',
    sessions,
  };
}
