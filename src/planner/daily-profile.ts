// A simple forecast from history: the average of a quantity per 15 minutes of the local day,
// smoothed over days (exponential moving average). Used for PV and building load when the config
// gives no curve.
import type { LocalTimeZone } from '../tariffs/local-time.ts';

const BINS = 96;
const MINUTES_PER_BIN = 1440 / BINS;

export class DailyProfile {
  private readonly profile: (number | undefined)[] = new Array(BINS).fill(undefined);
  private bin = -1;
  private day = '';
  private sum = 0;
  private count = 0;

  /** `alpha`: weight of the newest day, 0..1. */
  constructor(
    private readonly zone: LocalTimeZone,
    private readonly alpha = 0.3,
  ) {}

  record(atMs: number, value: number): void {
    if (!Number.isFinite(value)) return;
    const local = this.zone.at(atMs);
    const bin = Math.floor(local.minuteOfDay / MINUTES_PER_BIN);
    if (bin !== this.bin || local.date !== this.day) {
      this.fold();
      this.bin = bin;
      this.day = local.date;
    }
    this.sum += value;
    this.count++;
  }

  private fold(): void {
    if (this.bin < 0 || this.count === 0) return;
    const mean = this.sum / this.count;
    const old = this.profile[this.bin];
    this.profile[this.bin] = old === undefined ? mean : (1 - this.alpha) * old + this.alpha * mean;
    this.sum = 0;
    this.count = 0;
  }

  /** The expected value at an instant, or undefined before anything was seen for that time of day. */
  valueAt(atMs: number): number | undefined {
    const bin = Math.floor(this.zone.at(atMs).minuteOfDay / MINUTES_PER_BIN);
    return this.profile[bin];
  }

  /** The learned values per quarter hour (null where nothing was seen), for saving. */
  values(): (number | null)[] {
    return this.profile.map((v) => (v === undefined ? null : Math.round(v)));
  }

  /** Loads saved values; anything that is not a list of 96 numbers/nulls is ignored. */
  restore(values: unknown): boolean {
    if (!Array.isArray(values) || values.length !== BINS || !values.every((v) => v === null || (typeof v === 'number' && Number.isFinite(v)))) return false;
    values.forEach((v, i) => (this.profile[i] = v === null ? undefined : v));
    return true;
  }

  /** How many of the day's 96 quarter hours have history. */
  coverage(): number {
    return this.profile.filter((v) => v !== undefined).length;
  }
}
