// The billing month's demand peak: the highest average grid import over a demand window (15 min),
// in the site's timezone. Remembered across restarts in a small JSON file next to the database.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { EmsError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { LocalTimeZone } from './local-time.ts';

export class DemandPeakStoreError extends EmsError {
  override readonly code = 'DEMAND_PEAK_STORE';
}

interface Stored {
  month: string;
  peakW: number;
  peakAtMs?: number;
}

/**
 * Integrates grid power into fixed windows; the month's peak is the highest window mean, with the
 * KPIs' definition (optimizer/kpi.ts): averaged over the measured part of a window once that is at
 * least half of it, else over the whole window.
 */
export class DemandPeakTracker {
  private month = '';
  private peakW = 0;
  private peakAtMs?: number;
  private windowIndex = Number.NaN;
  private windowEnergyWh = 0;
  private windowCoveredMs = 0;
  private lastAtMs?: number;
  private lastPowerW = 0;

  constructor(
    private readonly zone: LocalTimeZone,
    private readonly windowMs = 15 * 60_000,
    /** Called when the month's peak rises or a new month starts. */
    private readonly onChange?: (state: Stored) => void,
  ) {}

  restore(state: Stored | undefined): void {
    if (!state) return;
    this.month = state.month;
    this.peakW = state.peakW;
    this.peakAtMs = state.peakAtMs;
  }

  /** A grid reading: + import, W. Power holds until the next reading (gaps over 5 min count as 0). */
  record(atMs: number, gridPowerW: number): void {
    if (this.lastAtMs !== undefined && atMs > this.lastAtMs) {
      const gapMs = atMs - this.lastAtMs;
      const measured = gapMs <= 300_000;
      const powerW = measured ? this.lastPowerW : 0;
      let from = this.lastAtMs;
      while (from < atMs) {
        const index = Math.floor(from / this.windowMs);
        const to = Math.min(atMs, (index + 1) * this.windowMs);
        this.addEnergy(index, (powerW * (to - from)) / 3_600_000, measured ? to - from : 0);
        from = to;
      }
    }
    if (this.lastAtMs === undefined || atMs >= this.lastAtMs) {
      this.lastAtMs = atMs;
      this.lastPowerW = Math.max(0, gridPowerW);
    }
  }

  private addEnergy(index: number, energyWh: number, coveredMs: number): void {
    if (index !== this.windowIndex) {
      this.closeWindow();
      this.windowIndex = index;
      this.windowEnergyWh = 0;
      this.windowCoveredMs = 0;
    }
    this.windowEnergyWh += energyWh;
    this.windowCoveredMs += coveredMs;
  }

  private closeWindow(): void {
    if (Number.isNaN(this.windowIndex)) return;
    const endMs = (this.windowIndex + 1) * this.windowMs - 1;
    const month = this.zone.monthKey(endMs);
    const overMs = this.windowCoveredMs * 2 >= this.windowMs ? Math.min(this.windowCoveredMs, this.windowMs) : this.windowMs;
    const averageW = this.windowEnergyWh / (overMs / 3_600_000);
    if (month !== this.month) {
      this.month = month;
      this.peakW = 0;
      this.peakAtMs = undefined;
    }
    if (averageW > this.peakW) {
      this.peakW = averageW;
      this.peakAtMs = this.windowIndex * this.windowMs;
      this.onChange?.({ month: this.month, peakW: this.peakW, peakAtMs: this.peakAtMs });
    }
  }

  /** The billed peak of the month containing atMs so far, W (the open window counts once closed). */
  peakSoFarW(atMs: number): number {
    return this.zone.monthKey(atMs) === this.month ? this.peakW : 0;
  }

  state(): Stored & { openWindowAverageW: number } {
    return {
      month: this.month,
      peakW: this.peakW,
      peakAtMs: this.peakAtMs,
      openWindowAverageW: Number.isNaN(this.windowIndex) ? 0 : this.windowEnergyWh / (this.windowMs / 3_600_000),
    };
  }
}

/** JSON file persistence: written atomically (temp file + rename), read once at start. */
export class DemandPeakFile {
  constructor(
    readonly path: string,
    private readonly log: Logger,
  ) {}

  read(): Stored | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn({ err: error, path: this.path }, 'cannot read the demand peak file; starting the month at 0');
      return undefined;
    }
    try {
      const data = JSON.parse(text) as Partial<Stored>;
      if (typeof data.month !== 'string' || typeof data.peakW !== 'number' || !Number.isFinite(data.peakW)) throw new Error('missing month or peakW');
      return { month: data.month, peakW: data.peakW, peakAtMs: typeof data.peakAtMs === 'number' ? data.peakAtMs : undefined };
    } catch (error) {
      this.log.warn({ err: error, path: this.path }, 'demand peak file is damaged; starting the month at 0');
      return undefined;
    }
  }

  write(state: Stored): void {
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      const temp = `${this.path}.tmp`;
      writeFileSync(temp, `${JSON.stringify(state)}\n`);
      renameSync(temp, this.path);
    } catch (error) {
      this.log.error({ err: new DemandPeakStoreError(`cannot write ${this.path}`, { cause: error }) }, 'demand peak not saved');
    }
  }
}
