import { afterAll, beforeAll, expect, it } from 'vitest';
import { ModbusExceptionError } from '../../adapters/errors.ts';
import { ModbusLine } from '../../adapters/modbus/line.ts';
import { ProfileDevice } from '../../adapters/modbus/profile-device.ts';
import { genericProfile } from '../../adapters/modbus/profiles/generic.ts';
import { vendorProfiles } from '../../adapters/modbus/profiles/registry.ts';
import { encodeRegister as enc } from '../../adapters/modbus/register-codec.ts';
import type { DeviceRole } from '../../adapters/types.ts';
import { silentLogger } from '../../src/log.ts';
import { PymodbusPeer } from '../fixtures/pymodbus/pymodbus-peer.ts';
import { describeWithPeer, hasPythonModule } from '../helpers/peers.ts';

const f32 = (v: number) => enc(v, 'float32');
const lsw32 = (v: number) => enc(v, 'int32', 'lsw');
const i32 = (v: number) => enc(v, 'int32');

const peer = new PymodbusPeer({
  units: {
    // Eastron SDM630: input registers, float32.
    1: { ir: { 0: [...f32(230.5), ...f32(231), ...f32(229.5), ...f32(16.2), ...f32(15.8), ...f32(17)], 0x34: f32(11_050), 0x48: [...f32(1234.5), ...f32(10.25)] } },
    // Carlo Gavazzi EM24: input registers, int32 LSW first, scaled.
    2: { ir: { 0: [...lsw32(2301), ...lsw32(2299), ...lsw32(2305)], 0x0c: [...lsw32(10_500), ...lsw32(9_750), ...lsw32(11_000)], 0x28: lsw32(-36_500), 0x42: lsw32(98_765), 0x5c: lsw32(4321) } },
    // Victron GX: system service (unit 100) with battery and grid values; grid service on unit 30.
    100: { hr: { 820: [1500, 1400, 1600], 842: [enc(-2000, 'int16')[0], 62], 2700: [0] } },
    30: { hr: { 2600: [1500, 1400, 1600], 2616: [2300, 65, 2310, 61, 2290, 70], 2634: [...enc(5000, 'uint32'), ...enc(300, 'uint32')] } },
    // Huawei: grid + export (invert), battery + charging (invert).
    4: { hr: { 37101: [...i32(2300), ...i32(2310), ...i32(2290), ...i32(500), ...i32(450), ...i32(520)], 37113: i32(-3456), 37119: [...enc(1000, 'uint32'), ...enc(2000, 'uint32')], 37760: [655], 37765: i32(1500) } },
    // A generic battery whose SoC register says 140 % (the service rejects it; here we just decode it).
    5: { hr: { 100: [1400, enc(-500, 'int16')[0]], 200: [0] } },
  },
});

describeWithPeer('python3-pymodbus', hasPythonModule('pymodbus'), 'vendor register maps over Modbus TCP (pymodbus peer)', () => {
  let line: ModbusLine;
  const device = (unitId: number, profile: string, role: DeviceRole) =>
    new ProfileDevice({ deviceId: profile, role, profile: vendorProfiles[profile], line, unitId, nowMs: Date.now });

  beforeAll(async () => {
    await peer.start();
    line = new ModbusLine({ transport: { kind: 'tcp', host: '127.0.0.1', port: peer.port }, timeoutMs: 500, log: silentLogger, nowMs: Date.now });
  });
  afterAll(async () => {
    await line?.close();
    await peer.stop();
  });

  it('reads an Eastron SDM630 (FC4 float32) with energies in Wh', async () => {
    const r = await device(1, 'sdm630', 'grid-meter').read();
    expect(r.voltageV).toEqual([230.5, 231, 229.5]);
    expect(r.currentA?.map((a) => Number(a.toFixed(2)))).toEqual([16.2, 15.8, 17]);
    expect(r.powerW).toBe(11_050);
    expect(r.energyImportWh).toBe(1_234_500);
    expect(r.energyExportWh).toBe(10_250);
  });

  it('reads a Carlo Gavazzi EM24 (int32, least significant word first)', async () => {
    const r = await device(2, 'em24', 'grid-meter').read();
    expect(r.voltageV).toEqual([230.1, 229.9, 230.5]);
    expect(r.currentA).toEqual([10.5, 9.75, 11]);
    expect(r.powerW).toBe(-3650);
    expect(r.energyImportWh).toBe(9_876_500);
  });

  it('reads Victron grid (its grid service unit) and battery (system unit 100), battery + discharge', async () => {
    const grid = await device(30, 'victron', 'grid-meter').read();
    expect(grid.powerW).toBe(4500);
    expect(grid.currentA).toEqual([6.5, 6.1, 7]);
    expect(grid.energyImportWh).toBe(50_000);
    const battery = await device(30, 'victron', 'battery').read();
    expect(battery.powerW).toBe(2000);
    expect(battery.socPct).toBe(62);
  });

  it('commands a Victron battery through the ESS grid setpoint', async () => {
    // Site without battery = grid 4500 + discharge 2000 = 6500 W; to charge at 1000 W the grid must import 7500 W.
    await device(30, 'victron', 'battery').setPowerW(-1000);
    expect(await peer.get(100, 'hr', 2700, 1)).toEqual([7500]);
  });

  it('inverts Huawei grid and battery power so import and discharge are positive', async () => {
    const grid = await device(4, 'huawei', 'grid-meter').read();
    expect(grid.powerW).toBe(3456);
    expect(grid.voltageV).toEqual([230, 231, 229]);
    const battery = await device(4, 'huawei', 'battery').read();
    expect(battery.powerW).toBe(-1500);
    expect(battery.socPct).toBe(65.5);
  });

  it('reads and writes a register map declared in the config, with the per-device sign', async () => {
    const point = (address: number, scale = 1) => ({ address, fc: 3 as const, type: 'int16' as const, wordOrder: 'msw' as const, scale });
    const profile = genericProfile('battery', { socPct: point(100, 0.1), powerW: point(101), setpointW: point(200) });
    const bess = new ProfileDevice({ deviceId: 'g', role: 'battery', profile, line, unitId: 5, sign: -1, nowMs: Date.now });
    const r = await bess.read();
    expect(r.socPct).toBe(140);
    expect(r.powerW).toBe(500);
    await bess.setPowerW(1200);
    expect(await peer.get(5, 'hr', 200, 1)).toEqual([enc(-1200, 'int16')[0]]);
  });

  it('surfaces an exception reply (illegal address) as a Modbus exception with its code', async () => {
    const error = await line.read({ unitId: 1, fc: 3, address: 9999, count: 2 }).catch((e) => e);
    expect(error).toBeInstanceOf(ModbusExceptionError);
    expect(error.exceptionCode).toBe(2);
  });
});
