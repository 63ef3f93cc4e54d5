// TriggerMessage MeterValues (#9): the real central system on 127.0.0.1 asks a strict charger for a
// sample of a car it has no settled sample of, after a round of caps on a site where a limit binds;
// how the charger answers decides when it is asked again. Time for the limits is the system's
// ManualClock; the decisions are handed in as the control loop hands them (bus 'decision', then
// applyCaps). Asserted on what crosses the wire.
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectorCap, Decision } from '../../optimizer/types.ts';
import { FakeStation201 } from './fake-station-201.ts';
import { capturingLogger, startSystem, type System } from './system.ts';
import type { FakeChargerOptions } from './fake-charger.ts';

/** A decision in which connector 1 of CP001 is capped by the site limit, its cap set a minute ago. */
function decisionFor(system: System, capA = 16): Decision {
  const atMs = system.clock.nowMs();
  const cap: ConnectorCap = { chargerId: 'CP001', connectorId: 1, currentA: capA, phases: 3, reason: { kind: 'scarcity', text: 'site limit shared by 2 cars', rank: 1, of: 2 } };
  return {
    atMs,
    caps: [cap],
    nextState: { connectors: { 'CP001/1': { currentA: capA, changedAtMs: atMs - 60_000 } } },
    failsafe: false,
    headroom: { limitA: [95, 95, 95], headroomA: [0, 0, 0], buildingA: [0, 0, 0], binding: { kind: 'circuit', text: 'site' } },
  };
}

/** One control round as the loop runs it: the decision on the bus, then its caps to the chargers. */
async function round(system: System): Promise<void> {
  const decision = decisionFor(system);
  system.bus.emit('decision', decision);
  await system.cs.applyCaps(decision.caps);
}

const sampleRequests = (calls: { action: string; params: any }[]) => calls.filter((c) => c.action === 'TriggerMessage' && c.params.requestedMessage === 'MeterValues');

/** Until `calls` hold `n` sample requests (polled; a generous deadline for a loaded machine). */
async function requests(calls: { action: string; params: any }[], n: number): Promise<void> {
  for (let i = 0; i < 600 && sampleRequests(calls).length < n; i++) await new Promise((r) => setTimeout(r, 50));
  expect(sampleRequests(calls).length).toBeGreaterThanOrEqual(n);
}

describe('asking chargers for MeterValues (TriggerMessage)', () => {
  let system: System | undefined;
  const stations: FakeStation201[] = [];
  afterEach(async () => {
    await Promise.all(stations.splice(0).map((s) => s.close().catch(() => undefined)));
    await system?.stop();
    system = undefined;
  });

  async function chargerWithCar(options: Partial<FakeChargerOptions> = {}, log?: Awaited<ReturnType<typeof capturingLogger>>['log']) {
    system = await startSystem(undefined, {}, log);
    const charger = await system.charger('CP001', options);
    await charger.startTransaction(1, 'GUEST01');
    return charger;
  }

  it('asks for connector 1 once its car could have settled, and not again within 15 s', async () => {
    const charger = await chargerWithCar();
    await round(system!);
    const first = await charger.waitForCall('TriggerMessage', (p) => p.requestedMessage === 'MeterValues');
    expect(first.params).toEqual({ requestedMessage: 'MeterValues', connectorId: 1 });
    system!.clock.advance(10_000);
    await round(system!);
    // The answer of a later call proves the charger saw everything sent before it.
    await charger.client.call('Heartbeat', {});
    expect(sampleRequests(charger.calls)).toHaveLength(1);
    system!.clock.advance(6_000);
    await round(system!);
    await requests(charger.calls, 2);
    expect(sampleRequests(charger.calls)).toHaveLength(2);
  });

  it('asks nothing once a sample taken after the car settled has arrived, nor on a site where no limit binds', async () => {
    const charger = await chargerWithCar();
    const decision = decisionFor(system!);
    // A sample taken now (on the charger's clock, the one its StartTransaction used): after the cap (a minute old) settled.
    await charger.client.call('MeterValues', {
      connectorId: 1,
      transactionId: charger.activeTx.get(1),
      meterValue: [{ timestamp: new Date().toISOString(), sampledValue: ['L1', 'L2', 'L3'].map((phase) => ({ value: '8.0', measurand: 'Current.Import', phase, unit: 'A' })) }],
    });
    system!.bus.emit('decision', decision);
    await system!.cs.applyCaps(decision.caps);
    expect(system!.state.connector('CP001', 1)?.drawAtMs).toBeGreaterThan(decision.atMs - 5_000);
    // Later, no sample since, but nothing binds the cap (it is the charger's max).
    system!.clock.advance(30_000);
    const unbound = decisionFor(system!);
    unbound.caps = unbound.caps.map((c) => ({ ...c, reason: { kind: 'charger', text: 'charger max' } }));
    system!.bus.emit('decision', unbound);
    await system!.cs.applyCaps(unbound.caps);
    await charger.client.call('Heartbeat', {});
    expect(sampleRequests(charger.calls)).toHaveLength(0);
  });

  it.each([
    ['NotImplemented', 'NotImplemented'],
    ['CALLERROR NotImplemented', 'callerror'],
    ['Rejected', 'Rejected'],
  ] as const)('asks a charger that answers %s once, not again for an hour (logged once), also after it reconnects', async (_name, answer) => {
    const { log, lines } = await capturingLogger();
    const charger = await chargerWithCar({ triggerAnswer: () => answer }, log);
    await round(system!);
    await charger.waitForCall('TriggerMessage', (p) => p.requestedMessage === 'MeterValues');
    const refusedLogged = () => lines.filter((l) => String(l.msg).includes('does not send MeterValues on request'));
    for (let i = 0; i < 50 && refusedLogged().length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(refusedLogged()).toHaveLength(1);
    for (let minute = 1; minute <= 59; minute++) {
      system!.clock.advance(60_000);
      await round(system!);
    }
    // The charger drops its link and comes back: still left alone.
    await charger.close();
    const again = await system!.charger('CP001', { triggerAnswer: () => answer });
    await round(system!);
    await again.client.call('Heartbeat', {});
    await charger.client.call('Heartbeat', {}).catch(() => undefined);
    expect(sampleRequests(charger.calls)).toHaveLength(1);
    expect(sampleRequests(again.calls)).toHaveLength(0);
    expect(refusedLogged()).toHaveLength(1);
    // After the hour it is asked again (a firmware update may have added it).
    system!.clock.advance(2 * 60_000);
    await round(system!);
    await again.waitForCall('TriggerMessage', (p) => p.requestedMessage === 'MeterValues');
  });

  it('leaves a charger that never answers alone for 10 minutes after its request timed out', async () => {
    const { log, lines } = await capturingLogger();
    const charger = await chargerWithCar({ triggerAnswer: () => 'silent' }, log);
    await round(system!);
    await charger.waitForCall('TriggerMessage', (p) => p.requestedMessage === 'MeterValues');
    // The request times out after 5 s of real time: wait for the EMS to say so (generous deadline).
    const failedLogged = () => lines.filter((l) => String(l.msg).includes('the request failed'));
    for (let i = 0; i < 600 && failedLogged().length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(failedLogged()).toHaveLength(1);
    for (let minute = 1; minute <= 9; minute++) {
      system!.clock.advance(60_000);
      await round(system!);
    }
    await charger.client.call('Heartbeat', {});
    expect(sampleRequests(charger.calls)).toHaveLength(1);
    system!.clock.advance(2 * 60_000);
    await round(system!);
    await requests(charger.calls, 2);
  });

  it('asks an OCPP 2.0.1 station for its EVSE (strict schemas both ways)', async () => {
    system = await startSystem(undefined, { answerWaitMs: 60_000 });
    const s = new FakeStation201(system.cs.port, 'CP001');
    stations.push(s);
    await s.connect();
    const ready = system.cs.whenReady('CP001');
    await s.boot();
    await ready;
    await s.transactionEvent('Started', 'tx-1', { evse: { id: 1, connectorId: 1 }, idToken: { idToken: 'GUEST01', type: 'ISO14443' } });
    await round(system);
    await new Promise<void>((resolve) => {
      const seen = () => sampleRequests(s.calls).length > 0;
      if (seen()) return resolve();
      s.events.on('call', () => seen() && resolve());
    });
    expect(sampleRequests(s.calls)[0]!.params).toEqual({ requestedMessage: 'MeterValues', evse: { id: 1 } });
  });
});
