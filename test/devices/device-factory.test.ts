import { afterAll, beforeAll, expect, it } from 'vitest';
import { DeviceCapabilityError } from '../../adapters/errors.ts';
import { ModbusLines } from '../../adapters/modbus/line.ts';
import { encodeRegister } from '../../adapters/modbus/register-codec.ts';
import { sunSpecImage } from '../../adapters/modbus/sunspec-image.ts';
import { deviceSchema } from '../../config/schema.ts';
import { createDeviceAdapter } from '../../src/devices/device-factory.ts';
import { silentLogger } from '../../src/log.ts';
import { PymodbusPeer } from '../fixtures/pymodbus/pymodbus-peer.ts';
import { describeWithPeer, hasPythonModule } from '../helpers/peers.ts';

// A SolarEdge-like unit: inverter, then its meter as the chain's second device (meter W counts export as +),
// plus the proprietary battery area (float32, least significant word first, + when charging).
const chain = sunSpecImage([
  { id: 1 },
  { id: 103, values: { W: 6000, AphA: 8.7, AphB: 8.7, AphC: 8.7 }, scaleFactors: { 6: -1, 15: 0 } },
  { id: 1 },
  { id: 203, values: { W: 2500, AphA: 3.6, AphB: 3.6, AphC: 3.6 }, scaleFactors: { 6: -1, 22: 0 } },
]);
const peer = new PymodbusPeer({ units: { 1: { hr: { 40000: chain, 0xe174: encodeRegister(1800, 'float32', 'lsw'), 0xe184: encodeRegister(44, 'float32', 'lsw') } } } });

describeWithPeer('python3-pymodbus', hasPythonModule('pymodbus'), 'device factory: config entries to working adapters', () => {
  let lines: ModbusLines;
  const adapter = (entry: object) =>
    createDeviceAdapter(deviceSchema.parse(entry), { lines, log: silentLogger, nowMs: Date.now, defaultStaleAfterMs: 10_000 });
  const base = (role: string, profile: string) => ({ id: role, role, driver: 'modbus', host: '127.0.0.1', port: peer.port, unitId: 1, profile });

  beforeAll(async () => {
    await peer.start();
    lines = new ModbusLines({ log: silentLogger, nowMs: Date.now });
  });
  afterAll(async () => {
    await lines?.closeAll();
    await peer.stop();
  });

  it('reads a SolarEdge meter as the second chain device with its export-positive sign turned round', async () => {
    const grid = await adapter(base('grid-meter', 'solaredge'))!.meter.read();
    expect(grid.powerW).toBe(-2500);
    expect(grid.currentA).toEqual([-3.6, -3.6, -3.6]);
  });

  it('reads the SolarEdge inverter through SunSpec and its battery through the proprietary area', async () => {
    expect((await adapter(base('pv', 'solaredge'))!.meter.read()).powerW).toBe(6000);
    const battery = await adapter(base('battery', 'solaredge'))!.meter.read();
    expect(battery.powerW).toBe(-1800);
    expect(battery.socPct).toBe(44);
  });

  it('exposes battery and PV controls only where the device has them and control is allowed', () => {
    expect(adapter(base('battery', 'sunspec'))!.battery).toBeDefined();
    expect(adapter({ ...base('battery', 'sunspec'), control: false })!.battery).toBeUndefined();
    expect(adapter(base('battery', 'sdm630'))!.battery).toBeUndefined();
    expect(adapter(base('pv', 'sunspec'))!.pv).toBeDefined();
  });

  it('refuses an MQTT device when no broker is configured, with a clear error', () => {
    expect(() => adapter({ id: 'pv', role: 'pv', driver: 'mqtt', topic: 'x' })).toThrow(DeviceCapabilityError);
    expect(() => adapter({ id: 'pv', role: 'pv', driver: 'mqtt', topic: 'x' })).toThrow(/no mqtt section/);
  });

  it('leaves simulated devices to the demo', () => {
    expect(adapter({ id: 'g', role: 'grid-meter', driver: 'simulated' })).toBeNull();
  });
});
