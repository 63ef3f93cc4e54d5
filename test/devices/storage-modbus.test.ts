// Peak shaving and curtailment through real Modbus devices: the grid meter, a SunSpec battery
// (802 + 124) and a SunSpec PV inverter (103 + 702 + 704) on pymodbus; the EMS's writes are read
// back from the device's registers.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeModel } from '../../adapters/modbus/sunspec-decode.ts';
import { modelAddress, sunSpecImage, SUNSPEC_MODEL_LENGTHS, type ModelSpec } from '../../adapters/modbus/sunspec-image.ts';
import { createDeviceService, type DeviceService } from '../../src/devices/device-service.ts';
import { createStorageControl, type StorageControl } from '../../src/devices/storage-control.ts';
import { PymodbusPeer } from '../fixtures/pymodbus/pymodbus-peer.ts';
import { describeWithPeer, hasPythonModule } from '../helpers/peers.ts';
import { eventually, testContext } from './context.ts';

const meter = (w: number): ModelSpec[] => [{ id: 1 }, { id: 203, values: { W: w, AphA: w / 690, AphB: w / 690, AphC: w / 690 }, scaleFactors: { 6: -1, 22: 1 } }];
const battery: ModelSpec[] = [
  { id: 1 },
  { id: 802, values: { SoC: 60, W: 0 }, scaleFactors: { 56: 0, 63: 0 } },
  { id: 124, values: { WChaMax: 20_000, StorCtl_Mod: 0, OutWRte: 100, InWRte: 100 }, scaleFactors: { 18: 1, 25: 0 } },
];
const pv: ModelSpec[] = [
  { id: 1 },
  { id: 103, values: { W: 40_000, AphA: 58, AphB: 58, AphC: 58 }, scaleFactors: { 6: 0, 15: 1 } },
  { id: 702, values: { WMaxRtg: 50_000, WMax: 50_000 }, scaleFactors: { 45: 1 } },
  { id: 704, scaleFactors: { 54: 0, 55: 0 } },
];
const peer = new PymodbusPeer({ units: { 1: { hr: { 40000: sunSpecImage(meter(130_000)) } }, 2: { hr: { 40000: sunSpecImage(battery) } }, 3: { hr: { 40000: sunSpecImage(pv) } } } });

async function model(unit: number, models: ModelSpec[], id: number) {
  const at = modelAddress(40000, models, id);
  return decodeModel(id, await peer.get(unit, 'hr', at, SUNSPEC_MODEL_LENGTHS[id] + 2));
}

describeWithPeer('python3-pymodbus', hasPythonModule('pymodbus'), 'battery and PV control over Modbus', () => {
  let devices: DeviceService;
  let control: StorageControl;
  beforeAll(async () => {
    await peer.start();
    const dev = (id: string, role: string, unitId: number, extra = {}) => ({ id, role, driver: 'modbus', host: '127.0.0.1', port: peer.port, unitId, pollIntervalMs: 200, timeoutMs: 500, ...extra });
    const ctx = testContext({
      grid: { maxCurrent: 400, maxPower: 100_000, maxExportPower: 10_000, meter: 'grid', safetyMargin: 0 },
      control: { intervalMs: 100 },
      devices: [dev('grid', 'grid-meter', 1), dev('bess', 'battery', 2, { maxDischargePowerW: 20_000, maxChargePowerW: 20_000 }), dev('pv', 'pv', 3)],
    });
    devices = createDeviceService(ctx);
    await devices.start();
    control = createStorageControl(ctx, devices.controls);
    await control.start();
    await eventually(() => ['grid', 'bess', 'pv'].every((id) => ctx.state.devices.get(id)?.health === 'online'), 10_000, 'devices online');
  });
  afterAll(async () => {
    await control?.stop();
    await devices?.stop();
    await peer.stop();
  });

  it('discharges the battery through model 124 when import exceeds grid.maxPower', async () => {
    await control.runOnce();
    expect(control.status().batterySetpointW).toBe(20_000);
    const m124 = await model(2, battery, 124);
    // Force discharge at 100 % of WChaMax: StorCtl_Mod 1, a negative charge rate.
    expect(m124.StorCtl_Mod).toBe(1);
    expect(m124.InWRte).toBe(-100);
  });

  it('charges the battery from export, then curtails PV through model 704 once the battery is full', async () => {
    const at = modelAddress(40000, meter(0), 203);
    await peer.set(1, 'hr', at + 18, [-4500 & 0xffff]); // export 45 kW (W_SF 1)
    await eventually(() => control.status().batterySetpointW === -20_000, 5000, 'charge setpoint');
    const m124 = await model(2, battery, 124);
    // Force charge: grid charging allowed, a negative discharge rate.
    expect([m124.ChaGriSet, m124.StorCtl_Mod, m124.OutWRte]).toEqual([1, 2, -100]);
    await peer.set(2, 'hr', modelAddress(40000, battery, 802) + 11, [95]);
    // PV 40 kW, export 45 kW, allowed 10 kW: limit 5 kW = 10 % of the 50 kW rating.
    await eventually(() => control.status().pvLimitW === 5000, 5000, 'PV limit');
    const m704 = await model(3, pv, 704);
    expect([m704.WMaxLimPctEna, m704.WMaxLimPct]).toEqual([1, 10]);
  });
});
