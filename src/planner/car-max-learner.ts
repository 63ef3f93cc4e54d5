// What a car can draw, learnt from what it does draw (MeterValues), per session: the plan's max for
// that car. A car that draws clearly less than it is offered while it still wants energy has shown
// its own limit; a car that draws more than the plan assumes for an unknown car can take at least
// the charger's max. Until either happens the plan assumes (plan-input.ts assumedCarMaxPowerW).
// Two things real cars do that a plan at nominal power misses (issue #11, public hub on the plant):
//  - whole amps: most cars draw floor(pilot), so "clearly below the cap" is measured from the whole
//    amp under it (a 15.9 A car under a 16 A cap draws 15 A: that is its limit, not noise);
//  - taper: near full the draw falls as the charge rises. A limit learnt once is followed down, and
//    the fall per Wh delivered (the taper slope) is kept, so the plan can count on the average power
//    over what is still wanted instead of the power now (plan-input.ts taperedMaxPowerW).
// Used by the live planner and by `ems simulate`, so both learn the same way. Pure, no clock.
import type { Config } from '../../config/schema.ts';
import { powerWeightOf } from '../../optimizer/phase-map.ts';
import { assumedCarMaxPowerW, chargerMaxPowerW } from './plan-input.ts';

/** A car drawing this far below its cap (while it wants more) has shown its own limit, A. */
export const LEARN_GAP_A = 1;
/** Drawing this much above the plan's assumption shows the car is faster, W. */
const ABOVE_ASSUMED_W = 100;
/** A meter reading this close to a whole amp is on it (readings carry rounding), A. */
const WHOLE_AMP_TOLERANCE_A = 0.1;
/** A cap's fraction this large tells a car that rounds down from one that follows it, A. */
const WHOLE_AMP_EVIDENCE_A = 0.3;
/** A learnt limit follows the draw down (taper) once it falls by this much, A. */
const TAPER_STEP_A = 0.5;

/** The whole amp a car that rounds down would draw under this cap, A. */
export function wholeAmpsUnder(capA: number): number {
  return Math.floor(capA + WHOLE_AMP_TOLERANCE_A);
}

export interface CarDrawSample {
  sessionId: string;
  chargerId: string;
  /** The cap the car was under when it drew (already in force for the car's response time), A per phase. */
  capA: number;
  /** The highest phase of its draw, A. */
  drawA: number;
  /** Phases it draws on (1 or 3; a car on one phase of a three-phase charger is a 1). */
  phases: 1 | 3;
  /** False when the car is full, suspended or its need is met: drawing less then says nothing. */
  wantsMore: boolean;
  /** Energy delivered in the session when it drew this, Wh (for the taper slope). */
  energyWh?: number;
}

/** What the plan may count on for a car, learnt from its draw. */
export interface CarDrawModel {
  /** Its max now, W; undefined: assume. */
  maxPowerW?: number;
  /** Seen drawing whole amps under a fractional cap: a real car, planned with a departure margin. */
  wholeAmps?: boolean;
  /** How much its max falls per Wh delivered (taper), W/Wh; 0 when not seen falling. */
  taperWPerWh: number;
}

interface Known {
  chargerId: string;
  phases: 1 | 3;
  /** Its own limit, A per phase (drew that much, clearly below its cap, wanting more). */
  learnedA?: number;
  /** Highest draw seen while its limit is unknown, A per phase. */
  seenA: number;
  /** Where its learnt limit started to fall (taper): energy delivered then, Wh, and the limit, A. */
  taperFrom?: { energyWh: number; drawA: number };
  /** Energy delivered at the last sample drawing its learnt limit (where a taper starts from), Wh. */
  atLimitWh?: number;
  /** Fall of its limit per Wh delivered since taperFrom, A/Wh. */
  taperAPerWh?: number;
  /** Seen drawing the whole amp under a fractional cap (true), or following a fraction (false). */
  wholeAmps?: boolean;
}

export class CarMaxLearner {
  private readonly sessions = new Map<string, Known>();

  constructor(private readonly config: Config) {}

  /**
   * One draw sample; true when the car showed (a new) own limit, or first drew above the plan's
   * assumption for a car not yet seen: re-plan.
   */
  observe(sample: CarDrawSample): boolean {
    if (!Number.isFinite(sample.drawA) || !Number.isFinite(sample.capA) || sample.drawA < 0) return false;
    const known = this.sessions.get(sample.sessionId) ?? { chargerId: sample.chargerId, phases: sample.phases, seenA: 0 };
    this.sessions.set(sample.sessionId, known);
    const before = known.learnedA;
    const roundedBefore = known.wholeAmps;
    const fasterBefore = this.fasterThanAssumed(known);
    if (sample.drawA > LEARN_GAP_A) known.phases = sample.phases;
    // Under a cap with a fraction, a car drawing the whole amp below it rounds down; one drawing the
    // fraction follows it. A car below both has shown nothing about rounding.
    const under = wholeAmpsUnder(sample.capA);
    if (sample.wantsMore && sample.capA - under >= WHOLE_AMP_EVIDENCE_A) {
      if (Math.abs(sample.drawA - under) <= WHOLE_AMP_TOLERANCE_A) known.wholeAmps ??= true;
      else if (sample.drawA > under + WHOLE_AMP_EVIDENCE_A - WHOLE_AMP_TOLERANCE_A) known.wholeAmps = false;
    }
    // Below the whole amp under its cap by a full amp: the car's own limit (a car rounding down draws
    // floor(cap), which says nothing about its limit).
    const ownLimit = sample.wantsMore && wholeAmpsUnder(sample.capA) - sample.drawA >= LEARN_GAP_A - WHOLE_AMP_TOLERANCE_A;
    if (known.learnedA === undefined) {
      if (ownLimit) known.learnedA = sample.drawA;
      else known.seenA = Math.max(known.seenA, sample.drawA);
    } else if (sample.drawA > known.learnedA + LEARN_GAP_A) {
      // It draws more than it did when it showed its limit (warmer battery, ramped up): take the new figure.
      known.learnedA = sample.drawA;
      delete known.taperFrom;
      delete known.taperAPerWh;
      delete known.atLimitWh;
    } else if (ownLimit && sample.drawA < known.learnedA - TAPER_STEP_A) {
      // Its own limit falls as it fills (taper): follow it down, and keep the fall per Wh since the
      // last sample at the limit it had.
      const energyWh = sample.energyWh;
      if (energyWh !== undefined && Number.isFinite(energyWh)) {
        if (!known.taperFrom && known.atLimitWh !== undefined) known.taperFrom = { energyWh: known.atLimitWh, drawA: known.learnedA };
        const wh = known.taperFrom ? energyWh - known.taperFrom.energyWh : 0;
        if (known.taperFrom && wh > 0) known.taperAPerWh = (known.taperFrom.drawA - sample.drawA) / wh;
      }
      known.learnedA = sample.drawA;
    }
    if (known.learnedA !== undefined && !known.taperFrom && Math.abs(sample.drawA - known.learnedA) <= TAPER_STEP_A && sample.energyWh !== undefined) known.atLimitWh = sample.energyWh;
    return known.learnedA !== before || (known.wholeAmps === true && roundedBefore !== true) || this.fasterThanAssumed(known) !== fasterBefore;
  }

  /** Seen drawing above what the plan assumes for a car not yet seen (its limit still unknown). */
  private fasterThanAssumed(known: Known): boolean {
    if (known.learnedA !== undefined) return false;
    const charger = this.config.chargers.find((c) => c.id === known.chargerId);
    if (!charger) return false;
    const weight = charger.phases === 3 ? known.phases : powerWeightOf(charger);
    return known.seenA * this.config.site.voltage * weight > assumedCarMaxPowerW(this.config, known.chargerId) + ABOVE_ASSUMED_W;
  }

  /** The car's own limit, A per phase, once learnt (for decide()'s carMaxCurrentA). */
  learnedA(sessionId: string): number | undefined {
    return this.sessions.get(sessionId)?.learnedA;
  }

  /** True once the car was seen drawing whole amps under a fractional cap (and never a fraction). */
  wholeAmps(sessionId: string): boolean {
    return this.sessions.get(sessionId)?.wholeAmps === true;
  }

  /** The car's max power for the plan, W: learnt, or the charger's once it drew above the assumption; undefined: assume. */
  carMaxPowerW(sessionId: string): number | undefined {
    return this.carModel(sessionId)?.maxPowerW;
  }

  /** The car's max power and taper as learnt; undefined: assume. */
  carModel(sessionId: string): CarDrawModel | undefined {
    const known = this.sessions.get(sessionId);
    if (!known) return undefined;
    const charger = this.config.chargers.find((c) => c.id === known.chargerId);
    if (!charger) return undefined;
    const weight = charger.phases === 3 ? known.phases : powerWeightOf(charger);
    const voltsTimesPhases = this.config.site.voltage * weight;
    const rounds = known.wholeAmps === true ? { wholeAmps: true } : {};
    if (known.learnedA !== undefined) return { maxPowerW: known.learnedA * voltsTimesPhases, taperWPerWh: (known.taperAPerWh ?? 0) * voltsTimesPhases, ...rounds };
    if (this.fasterThanAssumed(known)) return { maxPowerW: chargerMaxPowerW(this.config, known.chargerId), taperWPerWh: 0, ...rounds };
    return known.wholeAmps === true ? { taperWPerWh: 0, wholeAmps: true } : undefined;
  }

  /** Forget sessions that are no longer plugged in. */
  keepOnly(sessionIds: ReadonlySet<string>): void {
    for (const id of this.sessions.keys()) if (!sessionIds.has(id)) this.sessions.delete(id);
  }
}
