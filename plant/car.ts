import type { PlantCarSpec } from './types.ts';

/** Below this a pilot cannot offer charging (IEC 61851-1): the car stops. */
export const PILOT_MIN_A = 6;
/** Where the taper ends just below full, A. */
const TAPER_FLOOR_A = 2;

export type CarPhase = 'charging' | 'suspended' | 'full';

/**
 * A car behind a charger's pilot: it sees a new limit `responseDelayMs` after the charger applies
 * it, steps down to it then, ramps up at its own rate, rounds down to whole amps if it does, tapers
 * near full, draws 0 when full (SuspendedEV) and may start again later. Draw is A per car phase.
 */
export class PlantCar {
  readonly spec: PlantCarSpec;
  socPct: number;
  targetSocPct: number;
  drawA = 0;
  energyWh = 0;
  phase: CarPhase = 'suspended';
  private followedA = 0;
  /** Pilot changes not yet seen by the car: when it will act, and the limit. */
  private readonly pending: { atMs: number; limitA: number }[] = [];
  private lastPilotA = Number.NaN;
  private woke = false;

  constructor(spec: PlantCarSpec) {
    this.spec = spec;
    this.socPct = spec.socPct;
    this.targetSocPct = spec.targetSocPct;
  }

  /** What the car would draw now if the pilot offered its maximum, A per phase (0 when full). */
  wantA(): number {
    if (this.socPct >= this.targetSocPct) return 0;
    const s = this.spec;
    const taper = this.socPct <= s.taperFromPct ? 1 : Math.max(0, (100 - this.socPct) / Math.max(1, 100 - s.taperFromPct));
    const ceiling = Math.max(TAPER_FLOOR_A, s.maxCurrentA * taper) * s.drawFactor;
    return s.wholeAmps ? Math.floor(ceiling) : ceiling;
  }

  /** What the car aims for under a pilot limit, A per phase. */
  targetUnderA(limitA: number): number {
    if (limitA < PILOT_MIN_A) return 0;
    const offered = this.spec.wholeAmps ? Math.floor(limitA) : limitA;
    return Math.min(offered, this.wantA());
  }

  /** Advances by dtMs (drawing on `phasesOn` phases) to atMs under the pilot limit the charger offers now. */
  step(atMs: number, dtMs: number, pilotA: number, voltageV: number, phasesOn: number): void {
    if (pilotA !== this.lastPilotA) {
      this.pending.push({ atMs: atMs + this.spec.responseDelayMs, limitA: pilotA });
      this.lastPilotA = pilotA;
    }
    while (this.pending.length && this.pending[0]!.atMs <= atMs) this.followedA = this.pending.shift()!.limitA;
    const s = this.spec;
    if (!this.woke && s.wakeAtMs !== undefined && atMs >= s.wakeAtMs && this.socPct >= this.targetSocPct) {
      this.woke = true;
      this.targetSocPct = Math.min(100, this.socPct + ((s.wakeEnergyWh ?? 2000) / s.capacityWh) * 100);
    }
    const target = this.targetUnderA(this.followedA);
    if (target < this.drawA) this.drawA = target;
    else this.drawA = Math.min(target, this.drawA + (s.rampUpAps * dtMs) / 1000);
    const dtH = dtMs / 3_600_000;
    const energyWh = this.drawA * phasesOn * voltageV * dtH;
    this.energyWh += energyWh;
    this.socPct = Math.min(100, this.socPct + (energyWh / s.capacityWh) * 100);
    if (this.socPct >= this.targetSocPct) {
      this.drawA = 0;
      this.phase = 'full';
    } else this.phase = this.drawA > 0 ? 'charging' : 'suspended';
  }
}
