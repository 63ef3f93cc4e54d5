import type { ServiceContext } from '../service.ts';

export interface PowerSample {
  atMs: number;
  powerW: number;
}

/** The site's import power as the grid meter last read it (W, + import / − export). */
export function siteImportPowerW(ctx: ServiceContext): number | undefined {
  const meterId = ctx.config.grid.meter;
  return meterId ? ctx.state.devices.get(meterId)?.reading?.powerW : undefined;
}

/** A bounded record of site power samples for telemetry reports. */
export class PowerSamples {
  private readonly samples: PowerSample[] = [];

  constructor(private readonly max = 4096) {}

  add(atMs: number, powerW: number | undefined): void {
    if (powerW === undefined || !Number.isFinite(powerW)) return;
    this.samples.push({ atMs, powerW });
    if (this.samples.length > this.max) this.samples.splice(0, this.samples.length - this.max);
  }

  /** Samples with fromMs <= atMs < toMs. */
  range(fromMs: number, toMs: number): PowerSample[] {
    return this.samples.filter((s) => s.atMs >= fromMs && s.atMs < toMs);
  }

  /** Mean power over fromMs <= atMs < toMs, or undefined without samples. */
  averageW(fromMs: number, toMs: number): number | undefined {
    const window = this.range(fromMs, toMs);
    return window.length ? window.reduce((sum, s) => sum + s.powerW, 0) / window.length : undefined;
  }
}
