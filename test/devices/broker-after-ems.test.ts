// The EMS starts while its MQTT broker is down (a power cut brings the site back in any order):
// the MQTT device says why it has no value, and once Mosquitto starts the device comes online and
// its value reaches the state, with no restart of the EMS.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { startApp, type App } from '../../src/app.ts';
import { silentLogger } from '../../src/log.ts';
import { freePort, MosquittoBroker } from '../fixtures/mosquitto.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { waitFor } from '../helpers/wait-for.ts';

describeWithPeer('mosquitto', hasCommand('mosquitto'), 'an MQTT broker that starts after the EMS', () => {
  const broker = new MosquittoBroker();
  const scratch = mkdtempSync(join(tmpdir(), 'ems-late-broker-'));
  let app: App;
  let port: number;
  let base: string;
  let token: string;
  let meter: mqtt.MqttClient | undefined;
  let publishing: NodeJS.Timeout | undefined;

  const get = async (path: string) => (await fetch(base + path, { headers: { authorization: `Bearer ${token}` } })).json();

  beforeAll(async () => {
    port = await freePort();
    vi.stubEnv('EMS_ADMIN_PASSWORD', 'admin-password-1');
    const config = configSchema.parse({
      site: { name: 'Late broker', voltage: 230 },
      grid: { maxCurrent: 63 },
      chargers: [{ id: 'CP1', connectors: 1, maxCurrent: 32 }],
      devices: [{ id: 'pv', role: 'pv', driver: 'mqtt', topic: 'site/pv', jsonPath: '$.W', staleAfterMs: 3000, pollIntervalMs: 500 }],
      mqtt: { url: `mqtt://127.0.0.1:${port}`, prefix: 'ems/late' },
      ocpp: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      storage: { path: join(scratch, 'ems.sqlite') },
    });
    app = await startApp({ config, log: silentLogger });
    base = `http://127.0.0.1:${app.httpPort}`;
    const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'admin-password-1' }) });
    token = ((await login.json()) as { token: string }).token;
  });
  afterAll(async () => {
    clearInterval(publishing);
    await meter?.endAsync();
    await app?.stop();
    await broker.stop();
    vi.unstubAllEnvs();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('names the unreachable broker as the device error while it is down', async () => {
    const device = await waitFor(async () => (await get('/api/v1/devices')).find((d: { id: string; lastError: string | null }) => d.id === 'pv' && d.lastError), 'a device error', 10_000);
    expect(device.health).toBe('error');
    expect(device.lastError).toMatch(new RegExp(`MQTT broker mqtt://127.0.0.1:${port} unreachable`));
    expect(device.lastError).not.toMatch(/no mqtt/);
  });

  it('comes online with its value in the state once the broker starts', async () => {
    await broker.start(port);
    // The PV inverter's own client publishes every 300 ms, as real ones do (not retained).
    meter = await mqtt.connectAsync(broker.url);
    publishing = setInterval(() => void meter!.publishAsync('site/pv', JSON.stringify({ W: 5400 })).catch(() => undefined), 300);
    const state = await waitFor(async () => {
      const s = await get('/api/v1/state');
      return s.site.pvPowerW === 5400 ? s : undefined;
    }, 'the PV value in the state', 15_000);
    expect(state.devices.find((d: { id: string }) => d.id === 'pv')).toMatchObject({ health: 'online', lastError: null });
  });
});
