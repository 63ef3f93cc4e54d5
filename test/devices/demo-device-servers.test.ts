import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModbusLine } from '../../adapters/modbus/line.ts';
import { SunSpecDevice } from '../../adapters/modbus/sunspec-device.ts';
import { startDemoDeviceServers, type DemoDeviceServers, type DemoDeviceValues, type DemoSetpoints } from '../../src/demo/device-servers.ts';
import { silentLogger } from '../../src/log.ts';
import { eventually } from './context.ts';

describe('demo Modbus devices (modbus-serial ServerTCP)', () => {
  const values: DemoDeviceValues = { gridCurrentA: [40.5, 38.2, 36], gridPowerW: 26_000, pvPowerW: 31_230, batteryPowerW: -4000, batterySocPct: 57.3 };
  const reported: DemoSetpoints[] = [];
  let servers: DemoDeviceServers;
  const lines: ModbusLine[] = [];
  const device = (endpoint: { port: number; unitId: number }, role: 'grid-meter' | 'pv' | 'battery') => {
    const line = new ModbusLine({ transport: { kind: 'tcp', host: '127.0.0.1', port: endpoint.port }, timeoutMs: 1000, log: silentLogger, nowMs: Date.now });
    lines.push(line);
    return new SunSpecDevice({ deviceId: role, role, line, unitId: endpoint.unitId, nowMs: Date.now, log: silentLogger });
  };

  beforeAll(async () => {
    servers = await startDemoDeviceServers({ log: silentLogger, model: () => values, onSetpoints: (s) => reported.push(s), pvRatedW: 100_000, batteryMaxPowerW: 50_000 });
  });
  afterAll(async () => {
    await Promise.all(lines.map((l) => l.close()));
    await servers?.stop();
  });

  it('serves the simulation through SunSpec maps that the real adapters read', async () => {
    const grid = await device(servers.grid, 'grid-meter').read();
    expect(grid.powerW).toBe(26_000);
    expect(grid.currentA).toEqual([40.5, 38.2, 36]);
    const pv = await device(servers.pv, 'pv').read();
    expect(pv.powerW).toBe(31_230);
    const battery = await device(servers.battery, 'battery').read();
    expect(battery.socPct).toBe(57.3);
    expect(battery.powerW).toBe(-4000);
  });

  it('follows the simulation on every read', async () => {
    const meter = device(servers.grid, 'grid-meter');
    values.gridPowerW = 80_000;
    expect((await meter.read()).powerW).toBe(80_000);
  });

  it('reports the battery setpoint written through model 124 and the PV limit through model 704', async () => {
    await device(servers.battery, 'battery').setPowerW(-5000);
    await eventually(() => servers.setpoints().batteryPowerW === -5000, 3000, 'charge setpoint');
    await device(servers.battery, 'battery').setPowerW(12_500);
    await eventually(() => servers.setpoints().batteryPowerW === 12_500, 3000, 'discharge setpoint');
    await device(servers.pv, 'pv').setLimitW(25_000);
    await eventually(() => servers.setpoints().pvLimitW === 25_000, 3000, 'pv limit');
    await device(servers.pv, 'pv').setLimitW(undefined);
    await eventually(() => servers.setpoints().pvLimitW === undefined, 3000, 'pv limit lifted');
    expect(reported.length).toBeGreaterThan(0);
  });
});

describe('switching the demo from simulated devices to its Modbus servers', () => {
  it('turns a simulated grid meter into a SunSpec Modbus device at the server, keeping its id and bounds', async () => {
    const { demoModbusDevice } = await import('../../src/demo/device-servers.ts');
    const servers = { grid: { host: '127.0.0.1', port: 1502, unitId: 1 }, pv: { host: '127.0.0.1', port: 1503, unitId: 1 }, battery: { host: '127.0.0.1', port: 1504, unitId: 1 } };
    const grid = demoModbusDevice({ id: 'grid', role: 'grid-meter', driver: 'simulated', sign: 1, pollIntervalMs: 500, minSocPct: 10, maxSocPct: 95, control: true }, servers);
    expect(grid).toMatchObject({ id: 'grid', driver: 'modbus', profile: 'sunspec', host: '127.0.0.1', port: 1502, unitId: 1, pollIntervalMs: 500 });
    const bess = demoModbusDevice({ id: 'bess', role: 'battery', driver: 'simulated', sign: 1, pollIntervalMs: 1000, minSocPct: 20, maxSocPct: 90, control: true }, servers);
    expect(bess).toMatchObject({ port: 1504, minSocPct: 20, maxSocPct: 90 });
  });
});
