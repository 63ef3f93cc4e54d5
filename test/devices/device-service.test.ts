import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { sunSpecImage } from '../../adapters/modbus/sunspec-image.ts';
import { createDeviceService, type DeviceService } from '../../src/devices/device-service.ts';
import { MosquittoBroker } from '../fixtures/mosquitto.ts';
import { PymodbusPeer } from '../fixtures/pymodbus/pymodbus-peer.ts';
import { describeWithPeer, hasCommand, hasPythonModule } from '../helpers/peers.ts';
import { eventually, testContext } from './context.ts';

const meterImage = sunSpecImage([{ id: 1 }, { id: 203, values: { W: 12_000, AphA: 17, AphB: 18, AphC: 19 }, scaleFactors: { 6: 0, 22: 0 } }]);
// Unit 2: a battery (model 802) that claims SoC 140 % (raw 1400, SF −1). SoC sits at 40000 + 2 + 68 + 2 + 11.
const batteryImage = sunSpecImage([{ id: 1 }, { id: 802, values: { SoC: 140, W: 0 }, scaleFactors: { 56: -1, 63: 0 } }]);
const socAddress = 40000 + 2 + 68 + 11;
const peer = new PymodbusPeer({ units: { 1: { hr: { 40000: meterImage } }, 2: { hr: { 40000: batteryImage } } } });
const broker = new MosquittoBroker();

const siteConfig = (port: number, mqttUrl?: string) => ({
  grid: { maxCurrent: 63, meter: 'grid' },
  control: { staleAfterMs: 1500 },
  ...(mqttUrl && { mqtt: { url: mqttUrl } }),
  devices: [
    { id: 'grid', role: 'grid-meter', driver: 'modbus', host: '127.0.0.1', port, unitId: 1, pollIntervalMs: 100, timeoutMs: 300 },
    { id: 'bess', role: 'battery', driver: 'modbus', host: '127.0.0.1', port, unitId: 2, pollIntervalMs: 100, timeoutMs: 300, control: false },
    { id: 'ghost', role: 'load', driver: 'modbus', host: '127.0.0.1', port, unitId: 9, pollIntervalMs: 100, timeoutMs: 300 },
    ...(mqttUrl ? [{ id: 'pv', role: 'pv', driver: 'mqtt', topic: 'site/pv', jsonPath: '$.W', staleAfterMs: 800 }] : []),
  ],
});

describeWithPeer('python3-pymodbus and mosquitto', hasPythonModule('pymodbus') && hasCommand('mosquitto'), 'device service', () => {
  let service: DeviceService | undefined;
  let publisher: MqttClient;
  beforeAll(async () => {
    await Promise.all([peer.start(), broker.start()]);
    publisher = await connectAsync(broker.url);
  });
  afterEach(async () => {
    await service?.stop();
    service = undefined;
  });
  afterAll(async () => {
    await publisher?.endAsync();
    await Promise.all([peer.stop(), broker.stop()]);
  });

  it('puts the grid meter reading on the bus and into the site snapshot', async () => {
    const ctx = testContext(siteConfig(peer.port));
    service = createDeviceService(ctx);
    await service.start();
    await eventually(() => ctx.events('device.reading').find((r) => r.deviceId === 'grid'), 10_000, 'grid reading');
    const snapshot = ctx.state.snapshot(Date.now());
    expect(snapshot.grid?.powerW).toBe(12_000);
    expect(snapshot.grid?.currentA).toEqual([17, 18, 19]);
  });

  it('rejects a SoC of 140 % with a logged reason, marks the device error once, and recovers', async () => {
    await peer.set(2, 'hr', socAddress, [1400]);
    const ctx = testContext(siteConfig(peer.port));
    service = createDeviceService(ctx);
    await service.start();
    // The rejection, not whatever came first: on a loaded machine a first poll can time out (an
    // error event of its own) before the SoC is ever read.
    const health = await eventually(
      () => ctx.events('device.health').find((h) => h.deviceId === 'bess' && h.health === 'error' && /state of charge/.test(h.lastError ?? '')),
      15_000,
      'bess error',
    );
    expect(health.lastError).toMatch(/state of charge 140 %/);
    // Several more polls of the same fault: still one warning.
    await eventually(() => ctx.events('device.reading').filter((r) => r.deviceId === 'grid').length >= 5, 10_000, 'more polls');
    expect(ctx.logLines.filter((l) => l.deviceId === 'bess' && l.level === 40)).toHaveLength(1);
    expect(ctx.events('device.reading').some((r) => r.deviceId === 'bess')).toBe(false);
    await peer.set(2, 'hr', socAddress, [655]);
    const reading = await eventually(() => ctx.events('device.reading').find((r) => r.deviceId === 'bess'), 10_000, 'bess reading');
    expect(reading.socPct).toBe(65.5);
    expect(ctx.state.devices.get('bess')?.health).toBe('online');
  });

  it('keeps polling healthy devices while one never answers (wrong unit id)', async () => {
    const ctx = testContext(siteConfig(peer.port));
    service = createDeviceService(ctx);
    await service.start();
    const ghost = await eventually(() => ctx.events('device.health').find((h) => h.deviceId === 'ghost' && h.health === 'error'), 15_000, 'ghost error');
    expect(ghost.lastError).toMatch(/unit id/);
    const before = ctx.events('device.reading').filter((r) => r.deviceId === 'grid').length;
    await eventually(() => ctx.events('device.reading').filter((r) => r.deviceId === 'grid').length >= before + 3, 10_000, 'grid keeps flowing');
  });

  it('marks the meter in error when its server dies and online again when it returns', async () => {
    const ctx = testContext(siteConfig(peer.port));
    service = createDeviceService(ctx);
    await service.start();
    await eventually(() => ctx.state.devices.get('grid')?.health === 'online', 10_000, 'grid online');
    // Only what is said after the server dies: on a loaded machine a first poll can time out
    // before any reading (an error event without lastReadingAtMs) and is not the case here.
    const healthBefore = ctx.events('device.health').length;
    await peer.stop();
    const down = await eventually(
      () => ctx.events('device.health').slice(healthBefore).find((h) => h.deviceId === 'grid' && h.health !== 'online'),
      10_000,
      'grid down',
    );
    expect(down.lastReadingAtMs).toBeGreaterThan(0);
    await peer.start();
    await eventually(() => ctx.state.devices.get('grid')?.health === 'online', 10_000, 'grid back');
  });

  it('reads an MQTT source, drops a broken payload with one log line, and goes stale when it stops', async () => {
    const ctx = testContext(siteConfig(peer.port, broker.url));
    service = createDeviceService(ctx);
    await service.start();
    await publisher.publishAsync('site/pv', JSON.stringify({ W: 5400 }));
    const reading = await eventually(() => ctx.events('device.reading').find((r) => r.deviceId === 'pv'), 10_000, 'pv reading');
    expect(reading.powerW).toBe(5400);
    // Stale after the good reading, not a staleness seen before it arrived on a slow machine.
    const healthBefore = ctx.events('device.health').length;
    await publisher.publishAsync('site/pv', '{"W": ');
    await publisher.publishAsync('site/pv', 'garbage');
    await eventually(() => ctx.logLines.some((l) => l.msg === 'MQTT payload dropped'), 10_000, 'drop log');
    const stale = await eventually(() => ctx.events('device.health').slice(healthBefore).find((h) => h.deviceId === 'pv' && h.health === 'stale'), 10_000, 'pv stale');
    // Either detector may see it first: the adapter (names the topic) or the service's staleness check.
    expect(stale.lastError).toMatch(/site\/pv: no message for more than [\d.]+ s|no good reading for \d+ s/);
    expect(ctx.logLines.filter((l) => l.msg === 'MQTT payload dropped')).toHaveLength(1);
    await publisher.publishAsync('site/pv', JSON.stringify({ W: 5000 }));
    await eventually(() => ctx.state.devices.get('pv')?.health === 'online', 10_000, 'pv online');
  });
});
