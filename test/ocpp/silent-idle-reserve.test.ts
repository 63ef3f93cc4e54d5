// #10 F5: a strict 1.6J charger that lists SmartCharging but never answers SetChargingProfile holds
// no limit the EMS knows of: its idle connector may let the next car draw the charger's max. The
// optimizer gives a reserved connector its reservation as its cap (free to it, A below the
// reservation cost nothing), so the reservation must not depend on that cap: it stays in the site
// view, cycle after cycle, until the charger confirms a limit.
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectorCap } from '../../optimizer/types.ts';
import { waitFor } from '../helpers/wait-for.ts';
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

  it('keeps an unanswered raise of a running session reserved at the higher limit while the rounds skip it', async () => {
    system = await startSystem(undefined, { callTimeoutMs: 200, answerWaitMs: 50 });
    let silent = false;
    const txProfiles = (p: any) => p.csChargingProfiles.chargingProfilePurpose === 'TxProfile';
    const a = await system.charger('CP001', { profileAnswer: (p) => (silent && txProfiles(p) ? 'silent' : undefined) });
    await a.startTransaction(1, 'GUEST01');
    const cp1 = (currentA: number): ConnectorCap => ({ chargerId: 'CP001', connectorId: 1, currentA, phases: 3, reason: { kind: 'charger', text: 'test' } });
    const reserved = () => system.state.snapshot(system.clock.nowMs()).connectors.find((c) => c.chargerId === 'CP001' && c.connectorId === 1)?.reservedA;
    await system.cs.applyCaps([cp1(10)]);
    // applyCaps waits answerWaitMs (50 ms) for the answer; a loaded machine can answer later.
    await waitFor(() => (system.state.connector('CP001', 1)?.profile?.state === 'accepted' ? true : undefined), 'the 10 A confirmed');
    expect(reserved(), 'a confirmed 10 A: nothing to reserve').toBeUndefined();

    silent = true;
    system.clock.advance(5_000);
    const timedOut = new Promise<void>((resolve) => system.bus.on('profile.status', (s) => s.chargerId === 'CP001' && /timeout/i.test(s.detail ?? '') && resolve()));
    await system.cs.applyCaps([cp1(20)]);
    await timedOut;
    // Its TxProfile of 20 A timed out: installed or not, nobody knows. The next rounds (its slot in
    // backoff) must not count the connector at the 10 A it confirmed.
    const seen: (number | undefined)[] = [];
    for (let i = 0; i < 3; i++) {
      await system.cs.applyCaps([cp1(20)]);
      seen.push(reserved());
      system.clock.advance(200);
    }
    expect(seen).toEqual([20, 20, 20]);
  });
});
