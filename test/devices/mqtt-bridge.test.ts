import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createMqttBridge, type MqttBridge } from '../../src/devices/mqtt-bridge.ts';
import { MosquittoBroker } from '../fixtures/mosquitto.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { eventually, testContext, type TestContext } from './context.ts';

const broker = new MosquittoBroker();

describeWithPeer('mosquitto', hasCommand('mosquitto'), 'EMS state and commands over MQTT', () => {
  let observer: MqttClient;
  const seen = new Map<string, { payload: string; retain: boolean }>();
  let bridge: MqttBridge | undefined;
  let ctx: TestContext;

  beforeAll(async () => {
    await broker.start();
    observer = await connectAsync(broker.url);
    observer.on('message', (topic, payload, packet) => seen.set(topic, { payload: payload.toString(), retain: packet.retain }));
  });
  afterEach(async () => {
    await bridge?.stop();
    bridge = undefined;
  });
  afterAll(async () => {
    await observer?.endAsync();
    await broker.stop();
  });

  async function startBridge(homeAssistant = false, siteName = 'Depot') {
    ctx = testContext({
      site: { name: siteName },
      grid: { maxCurrent: 63, meter: 'grid' },
      chargers: [{ id: 'CP1', connectors: 1 }],
      devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
      mqtt: { url: broker.url, prefix: 'ems/depot', homeAssistant, publishIntervalMs: 100 },
    });
    bridge = createMqttBridge(ctx, ctx.config.mqtt!, {
      chargeMode: () => 'fast',
      energyToday: () => ({ gridImportWh: 12_345, gridExportWh: 0, evEnergyWh: 6_789 }),
      softwareVersion: '9.8.7',
    });
    await bridge.start();
  }

  it('publishes the site state retained under the prefix, and online on the status topic', async () => {
    await startBridge();
    ctx.bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs: Date.now(), powerW: 4321, currentA: [6, 7, 8] });
    await bridge!.publishNow();
    // A late subscriber gets the retained values.
    const late = await connectAsync(broker.url);
    const got = new Map<string, { payload: string; retain: boolean }>();
    late.on('message', (t, p, packet) => got.set(t, { payload: p.toString(), retain: packet.retain }));
    await late.subscribeAsync('ems/depot/#');
    // The retained topics come one after another: wait for every one this test reads, not the first.
    const read = ['ems/depot/site/grid/power', 'ems/depot/site/grid/current/L2', 'ems/depot/status', 'ems/depot/devices/grid/health'];
    await eventually(() => read.every((topic) => got.has(topic)), 15_000, 'retained grid power, current, status and health');
    expect(got.get('ems/depot/site/grid/power')).toEqual({ payload: '4321', retain: true });
    expect(got.get('ems/depot/site/grid/current/L2')?.payload).toBe('7');
    expect(got.get('ems/depot/status')).toEqual({ payload: 'online', retain: true });
    expect(got.get('ems/depot/devices/grid/health')?.payload).toBe('online');
    await late.endAsync();
  });

  it('turns a site-limit command into an MQTT grid signal and acknowledges it in the state', async () => {
    await startBridge();
    await observer.subscribeAsync('ems/depot/site/limit');
    await observer.publishAsync('ems/depot/site/limit/set', '50000');
    const change = await eventually(() => ctx.events('signals.changed').find((s) => s.source === 'mqtt'), 15_000, 'signal');
    expect(change.signals).toMatchObject([{ kind: 'import-limit', value: 50_000, source: 'mqtt' }]);
    await eventually(() => seen.get('ems/depot/site/limit')?.payload === '50000', 15_000, 'limit state');
    await observer.publishAsync('ems/depot/site/limit/set', '');
    await eventually(() => ctx.events('signals.changed').some((s) => s.source === 'mqtt' && s.signals.length === 0), 15_000, 'limit cleared');
  });

  it('steers a session (pause, departure, mode) and rejects a bad value with a log line', async () => {
    await startBridge();
    ctx.bus.emit('session.started', { chargerId: 'CP1', connectorId: 1, transactionId: 7, idTag: 'A', tier: 'guest', startedAtMs: Date.now(), meterStartWh: 0 });
    await observer.publishAsync('ems/depot/connectors/CP1/1/paused/set', 'true');
    await observer.publishAsync('ems/depot/connectors/CP1/1/departure/set', '2026-11-25T07:30:00Z');
    await observer.publishAsync('ems/depot/connectors/CP1/1/mode/set', 'pv');
    await observer.publishAsync('ems/depot/connectors/CP1/1/paused/set', 'maybe');
    await eventually(() => ctx.events('session.update').length >= 3 && ctx.logLines.some((l) => l.msg === 'MQTT command rejected'), 15_000, 'updates');
    expect(ctx.events('session.update')).toEqual([
      { chargerId: 'CP1', connectorId: 1, paused: true },
      { chargerId: 'CP1', connectorId: 1, departureAtMs: Date.parse('2026-11-25T07:30:00Z') },
      { chargerId: 'CP1', connectorId: 1, chargeMode: 'pv' },
    ]);
    expect(ctx.logLines.find((l) => l.msg === 'MQTT command rejected')?.reason).toMatch(/paused must be true\/false/);
    expect(ctx.state.connector('CP1', 1)?.session?.paused).toBe(true);
  });

  it('announces the main entities to Home Assistant (retained discovery configs)', async () => {
    await startBridge(true);
    const late = await connectAsync(broker.url);
    const got = new Map<string, string>();
    late.on('message', (t, p) => got.set(t, p.toString()));
    await late.subscribeAsync('homeassistant/#');
    // Both configs this test reads (retained ones come one after another).
    await eventually(() => got.has('homeassistant/number/ems_depot/site_limit/config'), 15_000, 'the site limit discovery');
    const config = await eventually(() => got.get('homeassistant/sensor/ems_depot/grid_power/config'), 15_000, 'discovery');
    expect(JSON.parse(config)).toMatchObject({ unique_id: 'ems_depot_grid_power', state_topic: 'ems/depot/site/grid/power', device_class: 'power', unit_of_measurement: 'W', availability_topic: 'ems/depot/status' });
    expect(got.has('homeassistant/number/ems_depot/site_limit/config')).toBe(true);
    await late.endAsync();
  });

  it('gives Home Assistant energy sensors, steering entities that work end to end, and ids that survive renaming the site', async () => {
    await startBridge(true, 'Depot North');
    const late = await connectAsync(broker.url);
    const got = new Map<string, Record<string, unknown>>();
    late.on('message', (t, p) => {
      if (p.length) got.set(t, JSON.parse(p.toString()));
    });
    await late.subscribeAsync('homeassistant/#');
    const cfg = (path: string) => eventually(() => got.get(`homeassistant/${path}/config`), 15_000, path);
    // Energy for the Energy dashboard.
    const importToday = await cfg('sensor/ems_depot/grid_import_energy_today');
    expect(importToday).toMatchObject({ device_class: 'energy', state_class: 'total_increasing', unit_of_measurement: 'Wh', state_topic: 'ems/depot/site/energy/gridImportToday' });
    expect(importToday.device).toMatchObject({ identifiers: ['ems_depot'], name: 'EMS Depot North', model: expect.any(String), sw_version: '9.8.7', manufacturer: 'edge-ems' });
    expect(await cfg('sensor/ems_depot/cp1_1_session_energy')).toMatchObject({ device_class: 'energy', state_class: 'total_increasing' });
    await observer.subscribeAsync('ems/depot/site/energy/#');
    expect(await eventually(() => seen.get('ems/depot/site/energy/gridImportToday')?.payload, 15_000, 'energy state')).toBe('12345');

    // Steering through the command topics Home Assistant learns from discovery.
    ctx.bus.emit('session.started', { chargerId: 'CP1', connectorId: 1, transactionId: 9, idTag: 'A', tier: 'guest', startedAtMs: Date.now(), meterStartWh: 0 });
    const pause = await cfg('switch/ems_depot/cp1_1_paused');
    await observer.publishAsync(pause.command_topic as string, pause.payload_on as string);
    await eventually(() => ctx.state.connector('CP1', 1)?.session?.paused === true || undefined, 15_000, 'paused from HA');
    const mode = await cfg('select/ems_depot/cp1_1_mode');
    expect(mode.options).toEqual(['fast', 'minpv', 'pv']);
    const modes: string[] = [];
    ctx.bus.on('session.update', (u) => u.chargeMode && modes.push(u.chargeMode));
    await observer.publishAsync(mode.command_topic as string, 'pv');
    await eventually(() => (modes.includes('pv') ? true : undefined), 15_000, 'mode from HA');
    const departure = await cfg('text/ems_depot/cp1_1_departure');
    const when = new Date(Date.now() + 3_600_000).toISOString();
    expect(new RegExp(departure.pattern as string).test(when)).toBe(true);
    await observer.publishAsync(departure.command_topic as string, when);
    await eventually(() => ctx.state.connector('CP1', 1)?.session?.departureAtMs === Date.parse(when) || undefined, 15_000, 'departure from HA');
    const limit = await cfg('number/ems_depot/site_limit');
    await observer.publishAsync(limit.command_topic as string, '22000');
    await eventually(() => ctx.state.signals.find((s) => s.kind === 'import-limit' && s.value === 22_000), 15_000, 'site limit from HA');
    await late.endAsync();

    // Renamed site, same prefix: the same unique ids (Home Assistant keeps the entities and their history).
    await bridge!.stop();
    got.clear();
    await startBridge(true, 'Depot North (renamed)');
    const again = await connectAsync(broker.url);
    again.on('message', (t, p) => {
      if (p.length) got.set(t, JSON.parse(p.toString()));
    });
    await again.subscribeAsync('homeassistant/#');
    const renamed = await eventually(() => got.get('homeassistant/sensor/ems_depot/grid_power/config'), 15_000, 'discovery after rename');
    expect(renamed).toMatchObject({ unique_id: 'ems_depot_grid_power' });
    expect(renamed.device).toMatchObject({ name: 'EMS Depot North (renamed)', identifiers: ['ems_depot'] });
    await again.endAsync();
  });

  it('has the broker publish offline when the EMS process dies (last will)', async () => {
    await observer.subscribeAsync('ems/killed/status');
    const script = fileURLToPath(new URL('../fixtures/mqtt-bridge-process.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, broker.url], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d) => String(d).includes('READY') && resolve());
        child.once('exit', (code) => reject(new Error(`bridge process exited ${code}`)));
      });
      await eventually(() => seen.get('ems/killed/status')?.payload === 'online', 15_000, 'online');
      child.kill('SIGKILL');
      await eventually(() => seen.get('ems/killed/status')?.payload === 'offline', 10_000, 'offline will');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
