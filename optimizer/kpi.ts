// Key figures of a charging site over a period, from a stream of measured steps. Pure: used live
// (fed by the shell) and in replay. Definitions:
//  - peakW: highest mean grid import over a demand window (15 min by default, aligned to the clock),
//    W. A window is averaged over the part of it that was measured (the minutes before a start or
//    during a restart are unknown, not zero), once at least half of it was; a window measured less
//    (or still open) counts its energy over the whole window, a figure that only grows.
//  - energyCost: Σ import·importPrice − export·exportPrice; demandCharge: peak kW · price per kW.
//  - renewableShare: share of EV energy covered by on-site PV (PV split pro rata over all loads).
//  - utilization: share of connector-time a car was actually drawing power.
//  - sessionSuccessRate: share of ended sessions with less than 0.1 kWh unmet (ACN-Sim's metric).

export interface KpiStep {
  atMs: number;
  durationMs: number;
  /** Connection point, + import / − export, W. */
  gridPowerW: number;
  evPowerW: number;
  pvPowerW: number;
  importPricePerKWh: number;
  exportPricePerKWh: number;
  carbonGPerKWh?: number;
  /** Connectors drawing power during the step, and the site's connector count. */
  chargingConnectors: number;
  connectorCount: number;
  /** True when any limit (phase current at any node, import power) was exceeded in the step. */
  overLimit?: boolean;
}

export interface SessionOutcome {
  requestedWh: number;
  deliveredWh: number;
}

export interface Kpis {
  peakW: number;
  energyCost: number;
  demandCharge: number;
  totalCost: number;
  energyRequestedWh: number;
  energyDeliveredWh: number;
  unmetWh: number;
  sessionSuccessRate: number;
  renewableShare: number;
  utilization: number;
  limitViolations: number;
  /** energyCost / kWh delivered to cars (site energy is all charged to the EVs here). */
  costPerKWh: number;
  /** Metered energy into cars so far, Wh (grows through the day, unlike energyDeliveredWh). */
  evEnergyWh: number;
  gridImportWh: number;
  gridExportWh: number;
  carbonKg: number;
  sessions: number;
  /** Start of the demand window the peak was in (undefined before any import). */
  peakAtMs?: number;
}

/** Everything a KpiAccumulator has counted: saved durably so a restart changes no figure. */
export interface KpiSnapshot {
  windowIndex: number | null;
  windowEnergyWh: number;
  /** How much of the open window was measured, ms (absent in snapshots older than it: all of it). */
  windowCoveredMs?: number;
  peakW: number;
  peakAtMs: number | null;
  energyCost: number;
  importWh: number;
  exportWh: number;
  evWh: number;
  evRenewableWh: number;
  carbonG: number;
  chargingMs: number;
  connectorMs: number;
  violations: number;
  requestedWh: number;
  deliveredWh: number;
  unmetWh: number;
  succeeded: number;
  sessions: number;
}

const SNAPSHOT_NUMBERS = [
  'windowEnergyWh', 'peakW', 'energyCost', 'importWh', 'exportWh', 'evWh', 'evRenewableWh', 'carbonG', 'chargingMs',
  'connectorMs', 'violations', 'requestedWh', 'deliveredWh', 'unmetWh', 'succeeded', 'sessions',
] as const;

/** A saved snapshot read back, or undefined when it is not one (damaged, older shape). */
export function parseKpiSnapshot(value: unknown): KpiSnapshot | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (!SNAPSHOT_NUMBERS.every((key) => typeof v[key] === 'number' && Number.isFinite(v[key]))) return undefined;
  const nullableNumber = (x: unknown) => x === null || (typeof x === 'number' && Number.isFinite(x));
  if (!nullableNumber(v.windowIndex) || !nullableNumber(v.peakAtMs)) return undefined;
  if (v.windowCoveredMs !== undefined && !(typeof v.windowCoveredMs === 'number' && Number.isFinite(v.windowCoveredMs))) return undefined;
  return v as unknown as KpiSnapshot;
}

const SUCCESS_UNMET_WH = 100;

/** The cost figures from energy cost and demand charge (the one place their sum is made). */
function costs(energyCost: number, demandCharge: number): Pick<Kpis, 'energyCost' | 'demandCharge' | 'totalCost'> {
  return { energyCost, demandCharge, totalCost: energyCost + demandCharge };
}

/**
 * The same figures with the demand charge prorated to a share of the billing month (a replay of a
 * day bills 1/30.44 of the month's charge on its peak, not the whole month's).
 */
export function prorateDemandCharge(k: Kpis, monthFraction: number): Kpis {
  return { ...k, ...costs(k.energyCost, k.demandCharge * monthFraction) };
}

/** Total cost (energy and demand charge) per kWh delivered to cars; 0 when none was delivered. */
export function costPerKWhDelivered(k: Pick<Kpis, 'totalCost' | 'energyDeliveredWh'>): number {
  return k.energyDeliveredWh > 0 ? k.totalCost / (k.energyDeliveredWh / 1000) : 0;
}

export class KpiAccumulator {
  private windowIndex = Number.NaN;
  private windowEnergyWh = 0;
  private windowCoveredMs = 0;
  private peakW = 0;
  private peakAtMs: number | undefined;
  private energyCost = 0;
  private importWh = 0;
  private exportWh = 0;
  private evWh = 0;
  private evRenewableWh = 0;
  private carbonG = 0;
  private chargingMs = 0;
  private connectorMs = 0;
  private violations = 0;
  private requestedWh = 0;
  private deliveredWh = 0;
  private unmetWh = 0;
  private succeeded = 0;
  private sessions = 0;

  constructor(
    private readonly demandChargePerKW: number,
    private readonly peakWindowMs = 15 * 60_000,
    /** The billing month's peak before this period (demand charge is on the higher one). */
    private readonly peakBeforeW = 0,
  ) {}

  snapshot(): KpiSnapshot {
    return {
      windowIndex: Number.isNaN(this.windowIndex) ? null : this.windowIndex,
      windowEnergyWh: this.windowEnergyWh,
      windowCoveredMs: this.windowCoveredMs,
      peakW: this.peakW,
      peakAtMs: this.peakAtMs ?? null,
      energyCost: this.energyCost,
      importWh: this.importWh,
      exportWh: this.exportWh,
      evWh: this.evWh,
      evRenewableWh: this.evRenewableWh,
      carbonG: this.carbonG,
      chargingMs: this.chargingMs,
      connectorMs: this.connectorMs,
      violations: this.violations,
      requestedWh: this.requestedWh,
      deliveredWh: this.deliveredWh,
      unmetWh: this.unmetWh,
      succeeded: this.succeeded,
      sessions: this.sessions,
    };
  }

  /** Continue from a snapshot (the same period, e.g. after a restart). */
  restore(s: KpiSnapshot): void {
    this.windowIndex = s.windowIndex ?? Number.NaN;
    this.peakAtMs = s.peakAtMs ?? undefined;
    this.windowCoveredMs = s.windowCoveredMs ?? this.peakWindowMs;
    for (const key of SNAPSHOT_NUMBERS) this[key] = s[key];
  }

  addStep(step: KpiStep): void {
    if (!(step.durationMs > 0)) return;
    const hours = step.durationMs / 3_600_000;
    const importW = Math.max(0, step.gridPowerW);
    const exportW = Math.max(0, -step.gridPowerW);
    this.importWh += importW * hours;
    this.exportWh += exportW * hours;
    this.energyCost += (importW * step.importPricePerKWh - exportW * step.exportPricePerKWh) * (hours / 1000);
    this.carbonG += importW * (hours / 1000) * (step.carbonGPerKWh ?? 0);
    const ev = Math.max(0, step.evPowerW);
    this.evWh += ev * hours;
    const consumption = importW + Math.max(0, step.pvPowerW) - exportW;
    if (consumption > 0 && ev > 0) {
      const pvUsed = Math.min(Math.max(0, step.pvPowerW), consumption);
      this.evRenewableWh += ev * (pvUsed / consumption) * hours;
    }
    this.chargingMs += step.chargingConnectors * step.durationMs;
    this.connectorMs += step.connectorCount * step.durationMs;
    if (step.overLimit) this.violations++;

    // A step that crosses a demand window boundary counts in each window for its own share.
    let fromMs = step.atMs;
    const endMs = step.atMs + step.durationMs;
    while (fromMs < endMs) {
      const index = Math.floor(fromMs / this.peakWindowMs);
      const toMs = Math.min(endMs, (index + 1) * this.peakWindowMs);
      if (index !== this.windowIndex) {
        this.closeWindow();
        this.windowIndex = index;
      }
      this.windowEnergyWh += (importW * (toMs - fromMs)) / 3_600_000;
      this.windowCoveredMs += toMs - fromMs;
      fromMs = toMs;
    }
  }

  addSession(outcome: SessionOutcome): void {
    const unmet = Math.max(0, outcome.requestedWh - outcome.deliveredWh);
    this.sessions++;
    this.requestedWh += outcome.requestedWh;
    this.deliveredWh += Math.min(outcome.deliveredWh, outcome.requestedWh);
    this.unmetWh += unmet;
    if (unmet < SUCCESS_UNMET_WH) this.succeeded++;
  }

  private closeWindow(): void {
    if (Number.isNaN(this.windowIndex)) return;
    // Averaged over what was measured, once that is at least half the window.
    const overMs = this.windowCoveredMs * 2 >= this.peakWindowMs ? Math.min(this.windowCoveredMs, this.peakWindowMs) : this.peakWindowMs;
    const meanW = this.windowEnergyWh / (overMs / 3_600_000);
    if (meanW > this.peakW) {
      this.peakW = meanW;
      this.peakAtMs = this.windowIndex * this.peakWindowMs;
    }
    this.windowEnergyWh = 0;
    this.windowCoveredMs = 0;
  }

  result(): Kpis {
    // Include the open window without closing it, so result() can be called at any time.
    const openPeak = Number.isNaN(this.windowIndex) ? 0 : this.windowEnergyWh / (this.peakWindowMs / 3_600_000);
    const peakW = Math.max(this.peakW, openPeak);
    const peakAtMs = openPeak > this.peakW ? this.windowIndex * this.peakWindowMs : this.peakAtMs;
    const billedPeakW = Math.max(peakW, this.peakBeforeW);
    const demandCharge = (billedPeakW / 1000) * this.demandChargePerKW;
    return {
      peakW,
      ...costs(this.energyCost, demandCharge),
      energyRequestedWh: this.requestedWh,
      energyDeliveredWh: this.sessions ? this.deliveredWh : this.evWh,
      unmetWh: this.unmetWh,
      sessionSuccessRate: this.sessions ? this.succeeded / this.sessions : 1,
      renewableShare: this.evWh > 0 ? this.evRenewableWh / this.evWh : 0,
      utilization: this.connectorMs > 0 ? this.chargingMs / this.connectorMs : 0,
      limitViolations: this.violations,
      costPerKWh: this.evWh > 0 ? this.energyCost / (this.evWh / 1000) : 0,
      evEnergyWh: this.evWh,
      gridImportWh: this.importWh,
      gridExportWh: this.exportWh,
      carbonKg: this.carbonG / 1000,
      sessions: this.sessions,
      ...(peakAtMs === undefined ? {} : { peakAtMs }),
    };
  }
}
