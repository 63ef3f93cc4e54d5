import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { initialSolarState, solarCeilings, type SolarSession, type SolarState } from '../../optimizer/solar-charging.ts';

const params = { startDelayMs: 60_000, stopDelayMs: 300_000 };
const car = (key: string, mode: SolarSession['mode']): SolarSession => ({ key, mode, minPowerW: 4140, maxPowerW: 11040 });

/** Run a surplus profile (one value per 10 s) and return the ceiling after each step. */
function run(sessions: SolarSession[], surplus: (number | null)[], key: string): number[] {
  let state: SolarState = initialSolarState;
  return surplus.map((surplusW, i) => {
    const result = solarCeilings({ atMs: i * 10_000, surplusW, sessions }, params, state);
    state = result.nextState;
    return result.ceilingsW.get(key) ?? Infinity;
  });
}

describe('solar charging modes', () => {
  it('leaves fast sessions unconstrained', () => {
    expect(run([car('a', 'fast')], [0, 0], 'a')).toEqual([Infinity, Infinity]);
  });

  it('starts a pv session only after the surplus has covered its minimum for the start delay', () => {
    const ceilings = run([car('a', 'pv')], Array(9).fill(6000), 'a');
    expect(ceilings.slice(0, 6)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(ceilings[6]).toBe(6000);
  });

  it('keeps a charging pv session at its minimum through a short cloud, and stops it after the stop delay', () => {
    const surplus = [...Array(7).fill(6000), ...Array(40).fill(1000)];
    const ceilings = run([car('a', 'pv')], surplus, 'a');
    expect(ceilings[6]).toBe(6000);
    expect(ceilings.slice(7, 36).every((w) => w === 4140)).toBe(true);
    expect(ceilings[37]).toBe(0);
  });

  it('gives minpv its minimum with no surplus and the surplus on top', () => {
    expect(run([car('a', 'minpv')], [0, 7000, 50_000], 'a')).toEqual([4140, 7000, 11040]);
  });

  it('does not start two pv cars on a surplus that covers one', () => {
    const sessions = [car('a', 'pv'), car('b', 'pv')];
    let state: SolarState = initialSolarState;
    let last;
    for (let i = 0; i <= 10; i++) {
      last = solarCeilings({ atMs: i * 10_000, surplusW: 5000, sessions }, params, state);
      state = last.nextState;
    }
    expect(last!.ceilingsW.get('a')).toBe(5000);
    expect(last!.ceilingsW.get('b')).toBe(0);
  });

  it('neither starts nor stops while the measurement is missing', () => {
    const ceilings = run([car('a', 'pv')], [...Array(7).fill(6000), ...Array(40).fill(null)], 'a');
    expect(ceilings.slice(7).every((w) => w === 4140)).toBe(true);
  });

  it('never hands out more than the surplus plus the minimums it guarantees', () => {
    const mode = fc.constantFrom<SolarSession['mode']>('pv', 'minpv', 'fast');
    fc.assert(
      fc.property(fc.array(mode, { maxLength: 6 }), fc.array(fc.integer({ min: -5000, max: 40_000 }), { minLength: 1, maxLength: 60 }), (modes, surplus) => {
        const sessions = modes.map((m, i) => car(`c${i}`, m));
        let state: SolarState = initialSolarState;
        surplus.forEach((surplusW, i) => {
          const r = solarCeilings({ atMs: i * 30_000, surplusW, sessions }, params, state);
          state = r.nextState;
          let guaranteed = 0;
          let total = 0;
          for (const s of sessions) {
            const w = r.ceilingsW.get(s.key);
            if (s.mode === 'fast') expect(w).toBeUndefined();
            else {
              expect(w === 0 || (w! >= s.minPowerW && w! <= s.maxPowerW)).toBe(true);
              total += w!;
              if (w! > 0) guaranteed += s.minPowerW;
            }
          }
          expect(total).toBeLessThanOrEqual(Math.max(surplusW, 0) + guaranteed + 1e-6);
        });
      }),
    );
  });
});
