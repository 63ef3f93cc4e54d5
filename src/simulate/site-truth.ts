// What the replayed site actually does outside the cars (building load, PV), and what the EMS may
// know of it in advance. The truth is the configured daily curve with seeded deviations (the
// building varies ± 20 % hour by hour, clouds take up to 60 % off PV); the planner never sees the
// truth: it gets the configured curve, as live, or, without one, the profile it learned from what
// it measured earlier in the replay.
import type { Config } from '../../config/schema.ts';
import { seededRandom } from '../../plant/index.ts';
import { DailyProfile } from '../planner/daily-profile.ts';
import { curveAt } from '../planner/plan-input.ts';
import type { LocalTimeZone } from '../tariffs/local-time.ts';

const HOUR_MS = 3_600_000;
const BUILDING_SWING = 0.2;
const CLOUD_DEPTH = 0.6;

export class SiteTruth {
  private readonly buildingFactor = new Map<number, number>();
  private readonly pvFactor = new Map<number, number>();
  private readonly random: () => number;
  readonly learnedBuilding: DailyProfile;
  readonly learnedPv: DailyProfile;

  constructor(
    private readonly config: Config,
    private readonly zone: LocalTimeZone,
    seed: number,
    /** false: the truth is the configured curve itself (perfect forecast, for comparison). */
    private readonly deviate = true,
  ) {
    this.random = seededRandom(seed);
    this.learnedBuilding = new DailyProfile(zone);
    this.learnedPv = new DailyProfile(zone);
  }

  private factor(cache: Map<number, number>, atMs: number, draw: () => number): number {
    const hour = Math.floor(atMs / HOUR_MS);
    let f = cache.get(hour);
    if (f === undefined) {
      f = this.deviate ? draw() : 1;
      cache.set(hour, f);
    }
    return f;
  }

  /** Building load at this moment, W. */
  buildingW(atMs: number): number {
    const base = curveAt(this.config.planner?.baseLoadW, this.zone, atMs);
    return Math.max(0, base * this.factor(this.buildingFactor, atMs, () => 1 + BUILDING_SWING * (2 * this.random() - 1)));
  }

  /** PV production at this moment, W. */
  pvW(atMs: number): number {
    const base = curveAt(this.config.planner?.pvForecastW, this.zone, atMs);
    return Math.max(0, base * this.factor(this.pvFactor, atMs, () => 1 - CLOUD_DEPTH * this.random()));
  }

  /** What the EMS measured: it learns its profiles from it, as the live planner does from its meters. */
  record(atMs: number, buildingW: number, pvW: number): void {
    this.learnedBuilding.record(atMs, buildingW);
    this.learnedPv.record(atMs, pvW);
  }

  /** The forecast the planner gets where the config has no curve (the config's curves win in plan-input). */
  forecast(): { pvW(atMs: number): number | undefined; baseLoadW(atMs: number): number | undefined } {
    return { pvW: (t) => this.learnedPv.valueAt(t), baseLoadW: (t) => this.learnedBuilding.valueAt(t) };
  }
}
