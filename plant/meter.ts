import type { PlantEvent } from './events.ts';
import type { SeededRandom } from './random.ts';
import type { PlantMeterSpec, Triple } from './types.ts';

/**
 * A meter on a circuit node: takes a reading of the node's true current every `periodMs` (from a
 * seeded phase offset), delivers it `delayMs` later, and applies its faults (scale, offset, stuck
 * value, lost readings, noise). Power is the sum of the phase currents × voltage, signed.
 */
export class PlantMeter {
  readonly spec: PlantMeterSpec;
  private nextAtMs: number;
  private readonly outbox: PlantEvent[] = [];

  constructor(spec: PlantMeterSpec, private readonly random: SeededRandom) {
    this.spec = spec;
    this.nextAtMs = random.between(0, 1) * spec.periodMs;
  }

  /**
   * Called every plant step with the node's true current (per line, signed as its active power)
   * and, where line-to-line loads put a line's current out of phase with its voltage, each line's
   * power factor (in-phase component over magnitude; 1 when absent).
   */
  step(atMs: number, trueA: Triple, voltageV: number, powerFactor?: Readonly<Triple>): void {
    if (atMs < this.nextAtMs) return;
    while (this.nextAtMs <= atMs) this.nextAtMs += this.spec.periodMs;
    if (this.spec.lossRate && this.random.chance(this.spec.lossRate)) return;
    const s = this.spec;
    const noise = s.noiseFraction ?? 0;
    const currentA = (s.fixedA ?? trueA).map((a, p) => {
      if (s.fixedA) return a;
      const noisy = a * (1 + (noise ? (this.random.next() * 2 - 1) * noise : 0));
      return Math.round((noisy * (s.scale ?? 1) + (s.offsetA?.[p] ?? 0)) * 100) / 100;
    }) as Triple;
    this.outbox.push({
      kind: 'meter',
      atMs: atMs + s.delayMs,
      meterId: s.id,
      measuredAtMs: atMs,
      currentA,
      powerW: Math.round(powerFactor ? (currentA[0] * powerFactor[0] + currentA[1] * powerFactor[1] + currentA[2] * powerFactor[2]) * voltageV : (currentA[0] + currentA[1] + currentA[2]) * voltageV),
    });
  }

  takeDue(atMs: number): PlantEvent[] {
    let n = 0;
    while (n < this.outbox.length && this.outbox[n]!.atMs <= atMs) n++;
    return this.outbox.splice(0, n);
  }
}
