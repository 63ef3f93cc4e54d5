// The site's tariff: TOU import/export prices and carbon intensity, overridden by dynamic values
// (price feed, OpenADR PRICE) where those cover the instant. Pure: time comes in as `atMs`.
import type { Config } from '../../config/schema.ts';
import type { GridSignal } from '../bus.ts';
import { LocalTimeZone } from './local-time.ts';
import { TouSchedule } from './tou-schedule.ts';

export interface PriceInterval {
  startMs: number;
  endMs: number;
  /** currency/kWh, or g/kWh for carbon */
  value: number;
}

export interface TariffView {
  readonly currency: string;
  readonly demandChargePerKW: number;
  importPricePerKWh(atMs: number): number;
  exportPricePerKWh(atMs: number): number;
  /** Grid carbon intensity, g/kWh (0 when unknown). */
  carbonGPerKWh(atMs: number): number;
}

export type TariffsConfig = NonNullable<Config['tariffs']>;

const DEFAULT_TARIFFS: TariffsConfig = {
  currency: 'EUR',
  import: { default: 0.3, periods: [] },
  export: { default: 0, periods: [] },
  holidays: [],
};

const covering = (intervals: readonly PriceInterval[], atMs: number): PriceInterval | undefined => {
  // The latest-starting interval that covers the instant wins (a newer announcement refines an older).
  let best: PriceInterval | undefined;
  for (const i of intervals) if (i.startMs <= atMs && atMs < i.endMs && (!best || i.startMs >= best.startMs)) best = i;
  return best;
};

export class Tariff implements TariffView {
  readonly currency: string;
  readonly demandChargePerKW: number;
  readonly zone: LocalTimeZone;
  private readonly importTou: TouSchedule;
  private readonly exportTou: TouSchedule;
  private readonly carbonTou?: TouSchedule;
  private dynamicImport: PriceInterval[] = [];
  private dynamicExport: PriceInterval[] = [];
  private dynamicCarbon: PriceInterval[] = [];

  constructor(config: TariffsConfig | undefined, timeZone: string) {
    const c = config ?? DEFAULT_TARIFFS;
    this.zone = new LocalTimeZone(timeZone);
    this.currency = c.currency;
    this.demandChargePerKW = c.demandCharge?.pricePerKW ?? 0;
    this.importTou = new TouSchedule(c.import, this.zone, c.holidays);
    this.exportTou = new TouSchedule(c.export, this.zone, c.holidays);
    this.carbonTou = c.carbon ? new TouSchedule(c.carbon, this.zone, c.holidays) : undefined;
  }

  /** Replaces the dynamic values from the signal timeline: kind 'price' and 'ghg'. */
  setSignals(signals: readonly GridSignal[]): void {
    const toInterval = (s: GridSignal): PriceInterval => ({ startMs: s.startMs, endMs: s.endMs, value: s.value });
    const isExport = (s: GridSignal) => /export/i.test(s.text ?? '') || /export/i.test(s.id);
    this.dynamicImport = signals.filter((s) => s.kind === 'price' && !isExport(s)).map(toInterval);
    this.dynamicExport = signals.filter((s) => s.kind === 'price' && isExport(s)).map(toInterval);
    this.dynamicCarbon = signals.filter((s) => s.kind === 'ghg').map(toInterval);
  }

  importPricePerKWh(atMs: number): number {
    return covering(this.dynamicImport, atMs)?.value ?? this.importTou.valueAt(atMs);
  }

  exportPricePerKWh(atMs: number): number {
    return covering(this.dynamicExport, atMs)?.value ?? this.exportTou.valueAt(atMs);
  }

  carbonGPerKWh(atMs: number): number {
    return covering(this.dynamicCarbon, atMs)?.value ?? this.carbonTou?.valueAt(atMs) ?? 0;
  }
}
