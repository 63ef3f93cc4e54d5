// Issue #9, no flapping (s6-flap): the shared deadband raise (holdSmallIncreases: small increases
// that together free the deadband on one limit are made) moved every car on a shared limit up by
// 0.1 A whenever the building estimate dipped, and a deadband back down at the next rise: on the
// 3 h closed-loop depot day 3,501 flaps instead of 930. With capHoldMs on, such raises wait until
// the keeps are done and the car has wanted them for 12 × capHoldMs: an estimate that wobbles makes
// no second change within 10 s, and an under-use that lasts is still taken up.
import { describe, expect, it } from 'vitest';
import { decide, initialDecideState } from '../../optimizer/index.ts';
import type { Decision, DecideState } from '../../optimizer/index.ts';
import { charger, circuit, params, plugged, session, snapshot, T0 } from './scenario.ts';

const ids = Array.from({ length: 20 }, (_, i) => `C${String(i + 1).padStart(2, '0')}`);
const p = params({
  grid: { maxCurrentA: 250, safetyMargin: 0, metered: true },
  circuit: circuit('main', 250, ids),
  chargers: ids.map((id) => charger(id, 'main')),
  priority: 'equal',
  deadbandA: 0.5,
  capHoldMs: 10_000,
  buildingHoldMs: 0,
});

/** One decision per second for the building load per phase given by `buildingA(s)`. */
function run(seconds: number, buildingA: (s: number) => number): Decision[] {
  let state: DecideState = initialDecideState;
  const out: Decision[] = [];
  for (let s = 0; s < seconds; s++) {
    const atMs = T0 + s * 1000;
    const b = buildingA(s);
    const decision = decide(snapshot(ids.map((id) => plugged(id, session(id.toLowerCase()))), { atMs, grid: { atMs, currentA: [b, b, b], powerW: b * 690 } }), p, state);
    state = decision.nextState;
    out.push(decision);
  }
  return out;
}

/** Cap changes that were the 2nd or more on their connector within 10 s, from `fromS` on. */
function flaps(decisions: Decision[], fromS: number): number {
  const last = new Map<string, number>();
  const times = new Map<string, number[]>();
  let count = 0;
  decisions.forEach((d, s) => {
    for (const cap of d.caps) {
      if (last.get(cap.chargerId) === cap.currentA) continue;
      last.set(cap.chargerId, cap.currentA);
      if (s < fromS) continue;
      const t = (times.get(cap.chargerId) ?? []).filter((x) => s - x < 10);
      t.push(s);
      times.set(cap.chargerId, t);
      if (t.length > 1) count++;
    }
  });
  return count;
}

// A building load that wobbles by up to 1.9 A per phase, a new level every 3 s (seeded, no clock).
function wobble(s: number): number {
  const k = Math.floor(s / 3);
  const x = Math.sin(k * 12.9898) * 43_758.5453;
  return 100 + Math.round((x - Math.floor(x)) * 19) / 10;
}

describe('shared small raises under a wobbling building estimate (capHoldMs 10 s)', () => {
  it('makes hardly a second cap change within 10 s on a car', () => {
    const decisions = run(600, wobble);
    // 26 before (every dip raised all 20 cars); 5 with no shared raise at all (a load above its
    // 10 s peak twice within 10 s: decreases a limit needs are never delayed).
    expect(flaps(decisions, 60)).toBeLessThanOrEqual(10);
  });

  it('still takes up an under-use that lasts: the caps end at the even share once the load is steady', () => {
    // Wobbling for 5 min, then 100 A for 3 min: 150 A for 20 cars, 7.5 A each.
    const decisions = run(480, (s) => (s < 300 ? wobble(s) : 100));
    const last = decisions[decisions.length - 1];
    const total = last.caps.reduce((sum, c) => sum + c.currentA, 0);
    expect(total).toBeLessThanOrEqual(150);
    expect(total).toBeGreaterThanOrEqual(150 - 0.5);
  });
});
