// The full-car release (optimizer/site-view.ts) must only release a car that was offered at least
// its minimum, for idleReleaseMs in a row, and drew nothing. Two counterexamples from the #11 replay
// (the planner holds cars at 0 A for hours): a car that plugged into a connector the allocator had
// already offered current to was "full" on its first sample, and a car held below its minimum kept
// the idle time it had collected before, so it was released the moment it was offered again.
import { describe, expect, it } from 'vitest';
import { decide, initialDecideState } from '../../optimizer/index.ts';
import type { ConnectorSnapshot, DecideParams, DecideState, Decision, SiteSnapshot } from '../../optimizer/index.ts';

const T0 = 1_800_000_000_000;

const params: DecideParams = {
  voltageV: 230,
  grid: { maxCurrentA: 63, safetyMargin: 0, metered: false },
  circuit: { id: 'main', maxCurrentA: 63, chargerIds: ['CP01'], children: [] },
  chargers: [{ id: 'CP01', connectorCount: 1, maxCurrentA: 16, minCurrentA: 6, phases: 3, phaseRotation: 'L1L2L3', circuitId: 'main' }],
  priority: 'fcfs',
  deadbandA: 0.5,
  minPauseMs: 0,
  staleAfterMs: 10_000,
  failsafeCurrentA: 6,
  unusedHoldMs: 30_000,
  rampReserveA: 0,
  carResponseMs: 5_000,
};

/** One connector: empty, or a car (plugged in at startedAtMs) the plan holds at targetPowerW, that drew drawA at atMs. */
function snapshot(atMs: number, car?: { startedAtMs: number; targetPowerW: number; drawA: number }): SiteSnapshot {
  const connector: ConnectorSnapshot = car
    ? {
        chargerId: 'CP01',
        connectorId: 1,
        status: 'Charging',
        session: { id: 's1', startedAtMs: car.startedAtMs, energyWh: 0, tierRank: 0, paused: false, targetPowerW: car.targetPowerW },
        drawA: [car.drawA, car.drawA, car.drawA],
        drawAtMs: atMs,
      }
    : { chargerId: 'CP01', connectorId: 1, status: 'Available', session: null, drawA: [0, 0, 0], drawAtMs: atMs };
  return { atMs, grid: null, circuitLoads: [], connectors: [connector], signals: {} };
}

function run(steps: SiteSnapshot[]): Decision[] {
  let state: DecideState = initialDecideState;
  return steps.map((s) => {
    const d = decide(s, params, state);
    state = d.nextState;
    return d;
  });
}

describe('full-car release', () => {
  it('does not release a car that plugged in under an earlier offer and is then held at 0 A by the plan', () => {
    const arrival = T0 + 60_000;
    const decisions = run([
      snapshot(T0), // no car: the connector still gets its cap
      snapshot(arrival, { startedAtMs: arrival, targetPowerW: 0, drawA: 0 }), // plugged in now, nothing drawn yet
      snapshot(arrival + 120_000, { startedAtMs: arrival, targetPowerW: 0, drawA: 0 }),
      snapshot(arrival + 240_000, { startedAtMs: arrival, targetPowerW: 11_000, drawA: 0 }), // the plan wants it charging
    ]);
    const last = decisions[3].caps[0];
    expect(last.reason.kind).not.toBe('car');
    expect(last.currentA).toBeGreaterThanOrEqual(6);
  });

  it('forgets idle time collected before the car was held below its minimum', () => {
    const start = T0 - 3_600_000;
    const decisions = run([
      snapshot(T0, { startedAtMs: start, targetPowerW: 11_000, drawA: 10 }),
      snapshot(T0 + 10_000, { startedAtMs: start, targetPowerW: 11_000, drawA: 0 }), // 10 s idle while offered (not yet 20 s)
      snapshot(T0 + 15_000, { startedAtMs: start, targetPowerW: 0, drawA: 0 }), // the plan holds it
      snapshot(T0 + 3_600_000, { startedAtMs: start, targetPowerW: 0, drawA: 0 }),
      snapshot(T0 + 3_610_000, { startedAtMs: start, targetPowerW: 11_000, drawA: 0 }), // offered again
      snapshot(T0 + 3_620_000, { startedAtMs: start, targetPowerW: 11_000, drawA: 0 }), // 10 s later: not yet responded
    ]);
    expect(decisions[4].caps[0].currentA).toBeGreaterThanOrEqual(6);
    expect(decisions[5].caps[0].reason.kind).not.toBe('car');
    expect(decisions[5].caps[0].currentA).toBeGreaterThanOrEqual(6);
  });

  it('still releases a car that was offered its minimum and drew nothing for idleReleaseMs', () => {
    const start = T0 - 3_600_000;
    const decisions = run([
      snapshot(T0, { startedAtMs: start, targetPowerW: 11_000, drawA: 10 }),
      snapshot(T0 + 10_000, { startedAtMs: start, targetPowerW: 11_000, drawA: 0 }),
      snapshot(T0 + 20_000, { startedAtMs: start, targetPowerW: 11_000, drawA: 0 }),
      snapshot(T0 + 31_000, { startedAtMs: start, targetPowerW: 11_000, drawA: 0 }),
    ]);
    expect(decisions[3].caps[0].reason.kind).toBe('car');
    expect(decisions[3].caps[0].currentA).toBe(0);
  });

  it('does not release a car on one old 0 A sample: idle lasts as long as the samples show it', () => {
    // A charger that reports every 30 s (the closed-loop property: 10-60 s): its last sample, 0 A
    // taken before the car started, stays fresh for 2.5 periods. The car has charged unseen since;
    // 21 s after that one sample it is not 21 s of idling (it was released at 17.8 A before).
    const slow: DecideParams = { ...params, drawStaleAfterMs: 75_000 };
    const start = T0 - 3_600_000;
    const at = (atMs: number, drawA: number, drawAtMs: number): SiteSnapshot => {
      const s = snapshot(atMs, { startedAtMs: start, targetPowerW: 11_000, drawA });
      return { ...s, connectors: [{ ...s.connectors[0], drawAtMs }] };
    };
    let state: DecideState = initialDecideState;
    const decisions = [at(T0, 10, T0), at(T0 + 10_000, 0, T0 + 10_000), at(T0 + 20_000, 0, T0 + 10_000), at(T0 + 31_000, 0, T0 + 10_000), at(T0 + 39_000, 0, T0 + 10_000)].map((snap) => {
      const d = decide(snap, slow, state);
      state = d.nextState;
      return d;
    });
    for (const d of decisions.slice(1)) expect(d.caps[0].currentA).toBeGreaterThanOrEqual(6);
    // A second 0 A sample 20 s after the first: now it has been seen idle that long.
    const later = decide(at(T0 + 41_000, 0, T0 + 40_000), slow, state);
    expect(later.caps[0].reason.kind).toBe('car');
    expect(later.caps[0].currentA).toBe(0);
  });
});
