import { afterAll, beforeAll, expect, it } from 'vitest';
import { DeviceCapabilityError, ModbusConnectionError, ModbusTimeoutError } from '../../adapters/errors.ts';
import { ModbusLine } from '../../adapters/modbus/line.ts';
import { SunSpecDevice } from '../../adapters/modbus/sunspec-device.ts';
import { modelAddress, sunSpecImage, type ModelSpec } from '../../adapters/modbus/sunspec-image.ts';
import { silentLogger } from '../../src/log.ts';
import { PymodbusPeer } from '../fixtures/pymodbus/pymodbus-peer.ts';
import { describeWithPeer, hasPythonModule } from '../helpers/peers.ts';

// Unit 1: inverter (103) followed by a meter (203) in one chain at 40000, like SolarEdge.
const inverterAndMeter: ModelSpec[] = [
  { id: 1, common: { manufacturer: 'SolarCo', model: 'INV-10', serial: 'A1' } },
  { id: 103, values: { W: 7340, AphA: 10.6, AphB: 10.7, AphC: 10.5, PhVphA: 231, PhVphB: 230, PhVphC: 229, WH: 1234500 }, scaleFactors: { 6: -1, 15: 1, 26: 2 } },
  { id: 1, common: { manufacturer: 'SolarCo', model: 'Meter', serial: 'M1' } },
  { id: 203, values: { W: -1500, AphA: 12.34, AphB: 5.5, AphC: 7.25, PhVphA: 230.1, PhVphB: 229.9, PhVphC: 231, TotWhImp: 5_000_000, TotWhExp: 0 }, scaleFactors: { 6: -2, 15: -1, 22: 0, 54: 0 } },
];
// Unit 2: float meter (213) at base 0. Unit 3: meter at 50000 with phase B not implemented.
const floatMeter: ModelSpec[] = [{ id: 1 }, { id: 213, values: { W: 2210.5, AphA: 3.2, AphB: 3.3, AphC: 3.1, TotWhImp: 812345, TotWhExp: 1000 } }];
const partialMeter: ModelSpec[] = [{ id: 1 }, { id: 203, values: { W: 900, AphA: 4, AphB: null, AphC: 4 }, scaleFactors: { 6: 0, 22: 0 } }];
// Unit 4: battery: 802 (L = 62) + 701 (L = 153, needs two reads) + 702 + 704 controls.
const battery: ModelSpec[] = [
  { id: 1 },
  { id: 701, values: { W: -2500, AL1: 3.6, AL2: 3.6, AL3: 3.6 }, scaleFactors: { 113: -1, 116: 0 } },
  { id: 702, values: { WMaxRtg: 10000, WMax: 10000 }, scaleFactors: { 45: 0 } },
  { id: 704, values: { WSetEna: 0, WSetMod: 0, WSet: 0 }, scaleFactors: { 54: 0, 55: 0 } },
  { id: 802, values: { SoC: 64.5, W: -2500 }, scaleFactors: { 56: -1, 63: 0 } },
];
// Unit 5: classic PV with model 123 and no 702.
const classicPv: ModelSpec[] = [{ id: 1 }, { id: 101, values: { W: 4000, AphA: 17.4 }, scaleFactors: { 6: -1, 15: 0 } }, { id: 123, scaleFactors: { 23: 0 } }];

const peer = new PymodbusPeer({
  units: {
    1: { hr: { 40000: sunSpecImage(inverterAndMeter) } },
    2: { hr: { 0: sunSpecImage(floatMeter) } },
    3: { hr: { 50000: sunSpecImage(partialMeter) } },
    4: { hr: { 40000: sunSpecImage(battery) } },
    5: { hr: { 40000: sunSpecImage(classicPv) } },
  },
});

describeWithPeer('python3-pymodbus', hasPythonModule('pymodbus'), 'SunSpec devices over Modbus TCP (pymodbus peer)', () => {
  let line: ModbusLine;
  const device = (unitId: number, role: 'grid-meter' | 'pv' | 'battery', extra: Partial<ConstructorParameters<typeof SunSpecDevice>[0]> = {}) =>
    new SunSpecDevice({ deviceId: `u${unitId}`, role, line, unitId, nowMs: Date.now, log: silentLogger, ...extra });

  beforeAll(async () => {
    await peer.start();
    line = new ModbusLine({ transport: { kind: 'tcp', host: '127.0.0.1', port: peer.port }, timeoutMs: 400, log: silentLogger, nowMs: Date.now, backoffInitialMs: 50 });
  });
  afterAll(async () => {
    await line?.close();
    await peer.stop();
  });

  it('walks a chain with two devices and reads the second one (the meter) with its scale factors', async () => {
    const meter = device(1, 'grid-meter', { chainIndex: 2 });
    const reading = await meter.read();
    expect(reading.powerW).toBe(-1500);
    expect(reading.currentA).toEqual([12.34, 5.5, 7.25]);
    expect(reading.voltageV).toEqual([230.1, 229.9, 231]);
    expect(reading.energyImportWh).toBe(5_000_000);
    expect(meter.map?.model).toBe('Meter');
    expect(meter.map?.models.map((m) => [m.id, m.address])).toEqual([
      [1, modelAddress(40000, inverterAndMeter, 1, 2)],
      [203, modelAddress(40000, inverterAndMeter, 203)],
    ]);
  });

  it('reads the inverter as the first device of the same chain', async () => {
    const reading = await device(1, 'pv').read();
    expect(reading.powerW).toBe(7340);
    expect(reading.currentA).toEqual([10.6, 10.7, 10.5]);
    expect(reading.energyExportWh).toBe(1234500);
  });

  it('treats a zero energy counter as unknown, never 0', async () => {
    const reading = await device(1, 'grid-meter', { chainIndex: 2 }).read();
    expect(reading.energyExportWh).toBeUndefined();
  });

  it('finds the map at base 0 and reads float models', async () => {
    const reading = await device(2, 'grid-meter').read();
    expect(reading.powerW).toBeCloseTo(2210.5, 3);
    expect(reading.currentA?.map((a) => Number(a.toFixed(3)))).toEqual([3.2, 3.3, 3.1]);
    expect(reading.energyImportWh).toBe(812345);
  });

  it('finds the map at base 50000 and leaves a not-implemented phase current unknown', async () => {
    const reading = await device(3, 'grid-meter').read();
    expect(reading.powerW).toBe(900);
    expect(reading.currentA).toBeUndefined();
  });

  it('reads a battery with a 153-register model in reads of at most 125 (pymodbus refuses more)', async () => {
    const reading = await device(4, 'battery').read();
    expect(reading.socPct).toBe(64.5);
    expect(reading.powerW).toBe(-2500);
    expect(reading.currentA).toEqual([3.6, 3.6, 3.6]);
  });

  it('commands the battery through model 704 WSet with a revert timeout', async () => {
    const bess = device(4, 'battery', { revertTimeoutS: 90 });
    await bess.setPowerW(-3000);
    const at = modelAddress(40000, battery, 704);
    const [ena, mod, hi, lo] = await peer.get(4, 'hr', at + 22, 4);
    expect([ena, mod]).toEqual([1, 1]);
    expect(((hi << 16) | lo) >> 0).toBe(-3000);
    expect(await peer.get(4, 'hr', at + 31, 2)).toEqual([0, 90]);
  });

  it('curtails PV through model 704 in percent of the 702 rating, and lifts it', async () => {
    const pv = device(4, 'pv');
    await pv.setLimitW(2500);
    const at = modelAddress(40000, battery, 704);
    expect(await peer.get(4, 'hr', at + 14, 2)).toEqual([1, 25]);
    await pv.setLimitW(undefined);
    expect(await peer.get(4, 'hr', at + 14, 1)).toEqual([0]);
  });

  it('curtails a classic inverter through model 123 using the configured rating', async () => {
    await expect(device(5, 'pv').setLimitW(1000)).rejects.toBeInstanceOf(DeviceCapabilityError);
    await device(5, 'pv', { ratedPowerW: 8000 }).setLimitW(2000);
    const at = modelAddress(40000, classicPv, 123);
    expect(await peer.get(5, 'hr', at + 5, 5)).toEqual([25, 0, 60, 0, 1]);
  });

  it('reports a wrong unit id as a timeout that names the unit id', async () => {
    const error = await device(9, 'grid-meter').read().catch((e) => e);
    expect(error).toBeInstanceOf(ModbusTimeoutError);
    expect(error.message).toMatch(/unit id/);
  });

  it('reconnects and rescans after the device restarts', async () => {
    const meter = device(1, 'grid-meter', { chainIndex: 2 });
    await meter.read();
    const generation = line.generation;
    await peer.stop();
    const failure = await meter.read().catch((e) => e);
    expect(failure).toBeInstanceOf(Error);
    await peer.start();
    const deadline = Date.now() + 10_000;
    let reading;
    while (!reading && Date.now() < deadline) {
      reading = await meter.read().catch(() => undefined);
      if (!reading) await new Promise((r) => setTimeout(r, 50));
    }
    expect(reading?.powerW).toBe(-1500);
    expect(line.generation).toBeGreaterThan(generation);
  });

  it('fails fast with a connection error while the line is down', async () => {
    const dead = new ModbusLine({ transport: { kind: 'tcp', host: '127.0.0.1', port: 1 }, timeoutMs: 300, log: silentLogger, nowMs: Date.now });
    await expect(dead.read({ unitId: 1, fc: 3, address: 0, count: 1 })).rejects.toBeInstanceOf(ModbusConnectionError);
    await expect(dead.read({ unitId: 1, fc: 3, address: 0, count: 1 })).rejects.toThrow(/next connect attempt/);
    await dead.close();
  });
});
