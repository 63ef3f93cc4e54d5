// The whole EMS with its grid meter on a real Modbus TCP device (pymodbus) and chargers on real
// OCPP-J: a step in the meter's current lowers the chargers' profiles; the meter server dying
// sends the site to the failsafe; the site recovers when the server returns.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { encodeRegister } from '../../adapters/modbus/register-codec.ts';
import { modelAddress, sunSpecImage, type ModelSpec } from '../../adapters/modbus/sunspec-image.ts';
import { configSchema, type Config } from '../../config/schema.ts';
import { startApp, type App } from '../../src/app.ts';
import { silentLogger } from '../../src/log.ts';
import { PymodbusPeer } from '../fixtures/pymodbus/pymodbus-peer.ts';
import { describeWithPeer, hasPythonModule } from '../helpers/peers.ts';
import { TestCharger } from '../helpers/test-charger.ts';
import { waitFor } from '../helpers/wait-for.ts';

const V = 230;
const meterModels = (buildingA: number): ModelSpec[] => [
  { id: 1 },
  { id: 203, values: { W: buildingA * V * 3, AphA: buildingA, AphB: buildingA, AphC: buildingA }, scaleFactors: { 6: -1, 22: 1 } },
];
const meterAt = modelAddress(40000, meterModels(0), 203);
const peer = new PymodbusPeer({ units: { 1: { hr: { 40000: sunSpecImage(meterModels(5)) } } } });

/** New building load on the live device: W (SF 1) and the three phase currents (SF −1). */
async function stepMeter(buildingA: number): Promise<void> {
  await peer.set(1, 'hr', meterAt + 3, [buildingA * 10, buildingA * 10, buildingA * 10]);
  await peer.set(1, 'hr', meterAt + 18, encodeRegister((buildingA * V * 3) / 10, 'int16'));
}

describeWithPeer('python3-pymodbus', hasPythonModule('pymodbus'), 'EMS with a Modbus grid meter, end to end', () => {
  let app: App;
  let config: Config;
  const chargers: TestCharger[] = [];

  beforeAll(async () => {
    await peer.start();
    config = configSchema.parse({
      site: { name: 'E2E', voltage: V },
      grid: { maxCurrent: 80, meter: 'grid', safetyMargin: 0 },
      control: { priority: 'equal', intervalMs: 200, staleAfterMs: 1500, failsafeCurrent: 6, deadbandA: 0, minPauseMs: 0, profileMinIntervalMs: 0, unusedHoldMs: 3_600_000 },
      chargers: [1, 2].map((i) => ({ id: `CP${i}`, connectors: 1, maxCurrent: 32, minCurrent: 6, phases: 3 })),
      idTags: [{ idTag: 'A', tier: 'staff' }, { idTag: 'B', tier: 'staff' }],
      devices: [{ id: 'grid', role: 'grid-meter', driver: 'modbus', host: '127.0.0.1', port: peer.port, unitId: 1, pollIntervalMs: 200, timeoutMs: 300 }],
      ocpp: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      storage: { path: ':memory:' },
    });
    app = await startApp({ config, log: silentLogger });
    for (const id of ['CP1', 'CP2']) {
      const charger = new TestCharger(id, `ws://127.0.0.1:${app.ocppPort}/ocpp`);
      await charger.connect();
      chargers.push(charger);
    }
    await chargers[0]!.startTransaction(1, 'A');
    await chargers[1]!.startTransaction(1, 'B');
  });
  afterAll(async () => {
    await Promise.all(chargers.map((c) => c.close().catch(() => undefined)));
    await app?.stop();
    await peer.stop();
  });

  const limits = () => chargers.map((c) => c.txLimitA(1));

  it('gives both cars their full current while the building is quiet', async () => {
    await waitFor(() => limits().every((l) => l === 32), 'both chargers at 32 A', 10_000);
  });

  it('lowers the profiles when the meter reading steps up', async () => {
    // Building 40 A of 80 A, and the chargers say their cars draw nothing yet: the caps must share 40 A.
    for (const c of chargers) await c.meter(1, [0, 0, 0]);
    await stepMeter(40);
    const lowered = await waitFor(() => {
      for (const c of chargers) void c.meter(1, [0, 0, 0]).catch(() => undefined);
      const l = limits();
      return l.every((v) => v !== undefined && v < 32) ? (l as number[]) : undefined;
    }, 'both profiles to drop', 10_000);
    expect(lowered[0]! + lowered[1]!).toBeLessThanOrEqual(40 + 1e-9);
  });

  it('goes to the failsafe current when the meter server dies, and recovers when it returns', async () => {
    await stepMeter(5);
    await waitFor(() => limits().every((l) => l === 32), 'back to 32 A', 10_000);
    await peer.stop();
    await waitFor(() => limits().every((l) => l === config.control.failsafeCurrent), 'the failsafe current on both', 15_000);
    expect(app.ctx.state.devices.get('grid')?.health).not.toBe('online');
    await peer.start();
    await waitFor(() => limits().every((l) => l === 32), 'recovery to 32 A', 20_000);
    expect(app.ctx.state.devices.get('grid')?.health).toBe('online');
  });
});
