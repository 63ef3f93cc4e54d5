// A device's health says what is wrong now, not what went wrong first: a battery whose SoC reads
// 140 % is in error for that reason; when its Modbus server then dies, the error names the lost
// connection; when the server is back with a sane SoC, the device is online with no error.
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { sunSpecImage } from '../../adapters/modbus/sunspec-image.ts';
import { createDeviceService, type DeviceService } from '../../src/devices/device-service.ts';
import { PymodbusPeer } from '../fixtures/pymodbus/pymodbus-peer.ts';
import { describeWithPeer, hasPythonModule } from '../helpers/peers.ts';
import { eventually, testContext } from './context.ts';

const batteryImage = sunSpecImage([{ id: 1 }, { id: 802, values: { SoC: 140, W: 0 }, scaleFactors: { 56: -1, 63: 0 } }]);
const socAddress = 40000 + 2 + 68 + 11;

describeWithPeer('python3-pymodbus', hasPythonModule('pymodbus'), 'device health follows the latest error', () => {
  const peer = new PymodbusPeer({ units: { 2: { hr: { 40000: batteryImage } } } });
  let service: DeviceService | undefined;
  beforeAll(() => peer.start());
  afterEach(async () => {
    await service?.stop();
    service = undefined;
  });
  afterAll(() => peer.stop());

  it('replaces the SoC error by the connection error when the server dies, and clears it when all is well', async () => {
    await peer.set(2, 'hr', socAddress, [1400]);
    const ctx = testContext({
      grid: { maxCurrent: 63 },
      devices: [{ id: 'bess', role: 'battery', driver: 'modbus', host: '127.0.0.1', port: peer.port, unitId: 2, pollIntervalMs: 100, timeoutMs: 300, control: false }],
    });
    service = createDeviceService(ctx);
    await service.start();
    // The SoC error, not a first poll that timed out on a loaded machine before the SoC was read.
    const first = await eventually(
      () => ctx.events('device.health').find((h) => h.deviceId === 'bess' && h.health === 'error' && /state of charge/.test(h.lastError ?? '')),
      15_000,
      'the SoC error',
    );
    expect(first.lastError).toMatch(/state of charge 140 %/);

    // Only what is said after the server dies (an earlier timeout is no connection error), and the
    // latest of it: a slow poll can see a timeout and then the refused connection between checks.
    const healthBefore = ctx.events('device.health').length;
    await peer.stop();
    const latestAfterStop = () => ctx.events('device.health').slice(healthBefore).filter((h) => h.deviceId === 'bess').at(-1);
    const second = await eventually(
      () => {
        const h = latestAfterStop();
        return h && h.health !== 'online' && h.lastError !== undefined && !/state of charge/.test(h.lastError) && h;
      },
      10_000,
      'the connection error',
    );
    expect(second.lastError).not.toMatch(/state of charge/);
    expect(ctx.state.devices.get('bess')?.lastError).toBe(second.lastError);

    await peer.start();
    await peer.set(2, 'hr', socAddress, [655]);
    await eventually(() => ctx.state.devices.get('bess')?.health === 'online', 15_000, 'online again');
    expect(ctx.state.devices.get('bess')?.lastError).toBeUndefined();
  }, 60_000);
});
