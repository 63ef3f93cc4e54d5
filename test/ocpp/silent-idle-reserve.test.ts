// #10 F5: a strict 1.6J charger that lists SmartCharging but never answers SetChargingProfile holds
// no limit the EMS knows of: its idle connector may let the next car draw the charger's max. The
// optimizer gives a reserved connector its reservation as its cap (free to it, A below the
// reservation cost nothing), so the reservation must not depend on that cap: it stays in the site
// view, cycle after cycle, until the charger confirms a limit.
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectorCap } from '../../optimizer/types.ts';
import { startSystem, testConfig, type System } from './system.ts';

const cap = (currentA: number): ConnectorCap => ({ chargerId: 'MUTE', connectorId: 1, currentA, phases: 3, reason: { kind: 'charger', text: 'test' } });

const CONFIG = testConfig({ chargers: [{ id: 'MUTE', connectors: 1, maxCurrent: 32, minCurrent: 6, phases: 3 }] });

describe('an idle charger that never answers SetChargingProfile', () => {
  let system: System;
  afterEach(async () => system?.stop());

  const reservedA = () => system.state.snapshot(system.clock.nowMs()).connectors.find((c) => c.chargerId === 'MUTE')?.reservedA;

  it('stays reserved at its max after its setup calls timed out, whatever cap the optimizer gives it', async () => {
    system = await startSystem(CONFIG, { callTimeoutMs: 200, answerWaitMs: 50 });
    const mute = await system.charger('MUTE', { profileAnswer: () => 'silent' });
    expect(mute.received('SetChargingProfile').length, 'its setup profiles went out').toBeGreaterThan(0);
    expect(reservedA(), 'after its setup').toBe(32);

    // The optimizer's cycles: a low cap for the idle connector, then its reservation given back as
    // its cap, then low again; its profiles time out one after the other, never answered.
    const seen: (number | undefined)[] = [];
    for (const capA of [10, 32, 32, 10, 32, 6, 32]) {
      await system.cs.applyCaps([cap(capA)]);
      seen.push(reservedA());
      system.clock.advance(700);
    }
    expect(seen, 'reserved at 32 A in every cycle').toEqual(seen.map(() => 32));
    expect(system.state.connector('MUTE', 1)?.profile?.state).not.toBe('rejected');
  });
});
