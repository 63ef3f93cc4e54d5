// What a car can draw, learnt from what it does draw (MeterValues), per session: the plan's max for
// that car. A car that draws clearly less than it is offered while it still wants energy has shown
// its own limit; a car that draws more than the plan assumes for an unknown car can take at least
// the charger's max. Until either happens the plan assumes (plan-input.ts assumedCarMaxPowerW).
// Used by the live planner and by `ems simulate`, so both learn the same way. Pure, no clock.
import type { Config } from '../../config/schema.ts';
import { powerWeightOf } from '../../optimizer/phase-map.ts';
import { assumedCarMaxPowerW, chargerMaxPowerW } from './plan-input.ts';

/** A car drawing this far below its cap (while it wants more) has shown its own limit, A. */
export const LEARN_GAP_A = 1;
/** Drawing this much above the plan's assumption shows the car is faster, W. */
const ABOVE_ASSUMED_W = 100;

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
}

interface Known {
  chargerId: string;
  phases: 1 | 3;
  /** Its own limit, A per phase (drew that much, clearly below its cap, wanting more). */
  learnedA?: number;
  /** Highest draw seen while its limit is unknown, A per phase. */
  seenA: number;
}

export class CarMaxLearner {
  private readonly sessions = new Map<string, Known>();

  constructor(private readonly config: Config) {}

  /**
   * One draw sample; true when the car showed (a new) own limit: re-plan. A car that draws above
   * the plan's assumption changes its max too, picked up by the next plan.
   */
  observe(sample: CarDrawSample): boolean {
    if (!Number.isFinite(sample.drawA) || !Number.isFinite(sample.capA) || sample.drawA < 0) return false;
    const known = this.sessions.get(sample.sessionId) ?? { chargerId: sample.chargerId, phases: sample.phases, seenA: 0 };
    this.sessions.set(sample.sessionId, known);
    const before = known.learnedA;
    if (sample.drawA > LEARN_GAP_A) known.phases = sample.phases;
    if (known.learnedA === undefined) {
      if (sample.wantsMore && sample.capA - sample.drawA > LEARN_GAP_A) known.learnedA = sample.drawA;
      else known.seenA = Math.max(known.seenA, sample.drawA);
    } else if (sample.drawA > known.learnedA + LEARN_GAP_A) {
      // It draws more than it did when it showed its limit (warmer battery, ramped up): take the new figure.
      known.learnedA = sample.drawA;
    }
    return known.learnedA !== before;
  }

  /** The car's own limit, A per phase, once learnt (for decide()'s carMaxCurrentA). */
  learnedA(sessionId: string): number | undefined {
    return this.sessions.get(sessionId)?.learnedA;
  }

  /** The car's max power for the plan, W: learnt, or the charger's once it drew above the assumption; undefined: assume. */
  carMaxPowerW(sessionId: string): number | undefined {
    const known = this.sessions.get(sessionId);
    if (!known) return undefined;
    const charger = this.config.chargers.find((c) => c.id === known.chargerId);
    if (!charger) return undefined;
    const weight = charger.phases === 3 ? known.phases : powerWeightOf(charger);
    const voltsTimesPhases = this.config.site.voltage * weight;
    if (known.learnedA !== undefined) return known.learnedA * voltsTimesPhases;
    return known.seenA * voltsTimesPhases > assumedCarMaxPowerW(this.config, known.chargerId) + ABOVE_ASSUMED_W ? chargerMaxPowerW(this.config, known.chargerId) : undefined;
  }

  /** Forget sessions that are no longer plugged in. */
  keepOnly(sessionIds: ReadonlySet<string>): void {
    for (const id of this.sessions.keys()) if (!sessionIds.has(id)) this.sessions.delete(id);
  }
}
