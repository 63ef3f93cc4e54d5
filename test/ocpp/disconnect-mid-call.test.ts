// A charger that goes away with one of our calls on the wire (a site shutting down, the demo's
// Ctrl-C, a dropped link): the call is cut short with its socket, which is logged where it goes
// ("charger disconnected"); what was cut is no warning of its own. Under load the demo's stop cut
// a ClearChargingProfile, a TxProfile and the boot setup's ChangeConfiguration this way and
// demo-plan-and-stop failed on their warnings. The real central system, a strict fake charger
// that takes the call and never answers it, then closes.
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/log.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { FakeCharger } from './fake-charger.ts';
import { capturingLogger, startSystem, testConfig, type System } from './system.ts';

const never = () => new Promise<never>(() => undefined);
const warnings = (lines: Record<string, any>[]) => lines.filter((l) => l.level >= 40).map((l) => l.msg);

describe('a charger that disconnects with a call on the wire', () => {
  let system: System | undefined;
  let log: Logger;
  let lines: Record<string, any>[];
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });

  async function start(): Promise<System> {
    ({ log, lines } = await capturingLogger());
    system = await startSystem(testConfig(), {}, log);
    return system;
  }

  it('clearing the TxProfile of an ended transaction: no warning', async () => {
    const { cs } = await start();
    const charger = await system!.charger('CP001');
    const tx = await charger.startTransaction(1, 'GUEST01');
    await cs.applyCaps([{ chargerId: 'CP001', connectorId: 1, currentA: 10, phases: 3, reason: { kind: 'charger', text: 't' } }]);
    let asked = false;
    charger.client.handle('ClearChargingProfile', () => ((asked = true), never()));
    const from = lines.length;
    await charger.stopTransaction(tx);
    await waitFor(() => asked, 'the ClearChargingProfile on the wire');
    await charger.close();
    await waitFor(() => lines.slice(from).some((l) => /could not clear the TxProfile|clearing of a TxProfile/.test(l.msg)), 'the cut call logged');
    expect(lines.slice(from).find((l) => /clearing of a TxProfile/.test(l.msg))).toMatchObject({ level: 30, msg: 'charger disconnected before it answered the clearing of a TxProfile; it expires by its duration' });
    expect(warnings(lines.slice(from))).toEqual([]);
  });

  it('a charging profile of the control loop: no warning', async () => {
    const { cs } = await start();
    let asked = false;
    const charger = await system!.charger('CP001', { profileGate: (p) => (p.csChargingProfiles.chargingProfilePurpose === 'TxProfile' ? ((asked = true), never()) : undefined) });
    await charger.startTransaction(1, 'GUEST01');
    const from = lines.length;
    const applying = cs.applyCaps([{ chargerId: 'CP001', connectorId: 1, currentA: 10, phases: 3, reason: { kind: 'charger', text: 't' } }]);
    await waitFor(() => asked, 'the TxProfile on the wire');
    await charger.close();
    await applying;
    await waitFor(() => lines.slice(from).some((l) => /^charger (disconnected before it answered|did not answer) a charging profile/.test(l.msg)), 'the cut call logged');
    expect(warnings(lines.slice(from))).toEqual([]);
  });

  it('the boot setup: no warning', async () => {
    const { cs } = await start();
    const charger = new FakeCharger({ port: cs.port, identity: 'CP001', connectors: 2 });
    let asked = false;
    charger.client.handle('ChangeConfiguration', () => ((asked = true), never()));
    await charger.connect();
    const from = lines.length;
    await charger.boot();
    await waitFor(() => asked, 'the meter sampling setup on the wire');
    await charger.close();
    await waitFor(() => lines.slice(from).some((l) => l.msg === 'charger disconnected'), 'the disconnect logged');
    // The setup's cut call settles after the disconnect: give it the same turn of the loop.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings(lines.slice(from))).toEqual([]);
  });
});
