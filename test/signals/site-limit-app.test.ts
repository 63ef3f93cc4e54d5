// The whole EMS (startApp) with real Mosquitto: the MQTT site limit of 30000 W (what the Home
// Assistant number entity sends) used to get an end time of Number.MAX_SAFE_INTEGER, which made
// GET /api/v1/state answer 500 and closed the live WebSocket (1006). Now it is an open-ended signal
// on the timeline: listed, shown without an end, and the API and the WebSocket keep working.
// The same EMS takes operator limits over the API (POST/DELETE /api/v1/signals).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { configSchema } from '../../config/schema.ts';
import { stateViewSchema } from '../../src/api/view-schemas.ts';
import { startApp, type App } from '../../src/app.ts';
import { silentLogger } from '../../src/log.ts';
import { MosquittoBroker } from '../fixtures/mosquitto.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { waitFor } from '../helpers/wait-for.ts';

const ADMIN_PASSWORD = 'admin-password-1';

describeWithPeer('mosquitto', hasCommand('mosquitto'), 'grid limits from MQTT and the API, on the running EMS', () => {
  const broker = new MosquittoBroker();
  const scratch = mkdtempSync(join(tmpdir(), 'ems-site-limit-'));
  let app: App;
  let base: string;
  let token: string;
  let publisher: mqtt.MqttClient;
  let socket: WebSocket;
  const frames: { signals: { id: string; end: string | null; openEnded: boolean; value: number }[] }[] = [];
  let closeCode: number | undefined;

  const api = async (method: string, path: string, body?: unknown, bearer = token) => {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  beforeAll(async () => {
    await broker.start();
    vi.stubEnv('EMS_ADMIN_PASSWORD', ADMIN_PASSWORD);
    const config = configSchema.parse({
      site: { name: 'Depot', voltage: 230 },
      grid: { maxCurrent: 63 },
      chargers: [{ id: 'CP1', connectors: 1, maxCurrent: 32 }],
      mqtt: { url: broker.url, prefix: 'ems/depot' },
      ocpp: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      storage: { path: join(scratch, 'ems.sqlite') },
    });
    app = await startApp({ config, log: silentLogger });
    base = `http://127.0.0.1:${app.httpPort}`;
    const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) });
    token = ((await login.json()) as { token: string }).token;
    socket = new WebSocket(`ws://127.0.0.1:${app.httpPort}/api/v1/live?token=${token}`);
    socket.on('message', (data) => frames.push((JSON.parse(String(data)) as { data: (typeof frames)[number] }).data));
    socket.on('close', (code) => (closeCode = code));
    await waitFor(() => frames.length > 0, 'the first live frame');
    publisher = await mqtt.connectAsync(broker.url);
  });
  afterAll(async () => {
    socket?.close();
    await publisher?.endAsync();
    await app?.stop();
    await broker.stop();
    vi.unstubAllEnvs();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('lists an MQTT site limit of 30000 W as open-ended; the state and the WebSocket keep working', async () => {
    await publisher.publishAsync('ems/depot/site/limit/set', '30000');
    const listed = await waitFor(async () => (await api('GET', '/api/v1/signals')).body.find((s: { id: string }) => s.id === 'mqtt-site-limit'), 'the limit in /api/v1/signals');
    expect(listed).toMatchObject({ kind: 'import-limit', value: 30_000, source: 'mqtt', openEnded: true, end: null, active: true });
    const state = await api('GET', '/api/v1/state');
    expect(state.status).toBe(200);
    const view = stateViewSchema.parse(state.body);
    expect(view.signals).toEqual([expect.objectContaining({ id: 'mqtt-site-limit', value: 30_000, openEnded: true, end: null })]);
    expect(view.site.limitPowerW).toBe(30_000);
    // The live feed pushes the same view after the next decision, and stays open.
    await waitFor(() => frames.some((f) => f.signals.some((s) => s.id === 'mqtt-site-limit' && s.openEnded && s.end === null)), 'a live frame with the limit', 10_000);
    expect(closeCode).toBeUndefined();
    expect(socket.readyState).toBe(WebSocket.OPEN);
  });

  it('refuses a hex or non-numeric limit and keeps the one in force', async () => {
    for (const bad of ['0x10', 'Infinity', '1e400', '-5', 'abc']) await publisher.publishAsync('ems/depot/site/limit/set', bad);
    await publisher.publishAsync('ems/depot/site/limit/set', '25000');
    await waitFor(async () => (await api('GET', '/api/v1/signals')).body.find((s: { id: string; value: number }) => s.id === 'mqtt-site-limit' && s.value === 25_000), 'the next good limit');
    expect((await api('GET', '/api/v1/state')).status).toBe(200);
  });

  it('adds an operator limit over the API, shows it in signals, state, events and audit, and ends it', async () => {
    const created = await api('POST', '/api/v1/signals', { kind: 'import-limit', valueW: 20_000, durationS: 900, source: 'DSO call' });
    expect(created.status).toBe(201);
    const { id } = created.body as { id: string };
    expect(id).toMatch(/^op-/);
    const signals = (await api('GET', '/api/v1/signals')).body as { id: string; endMs: number; startMs: number; openEnded: boolean; detail: string }[];
    const added = signals.find((s) => s.id === id)!;
    expect(added).toMatchObject({ kind: 'import-limit', value: 20_000, source: 'api', openEnded: false });
    expect(added.endMs - added.startMs).toBe(900_000);
    expect(added.detail).toContain('DSO call (admin)');
    // The strictest limit wins: 20 kW under the 25 kW MQTT site limit.
    await waitFor(async () => (await api('GET', '/api/v1/state')).body.site.limitPowerW === 20_000, 'the state to use the operator limit');
    const events = (await api('GET', '/api/v1/events')).body as { text: string }[];
    expect(events.some((e) => e.text.includes(`operator limit ${id} added`))).toBe(true);

    expect((await api('DELETE', `/api/v1/signals/${id}`)).status).toBe(200);
    expect((await api('GET', '/api/v1/signals')).body.some((s: { id: string }) => s.id === id)).toBe(false);
    expect((await api('DELETE', `/api/v1/signals/${id}`)).status).toBe(404);
    expect(((await api('GET', '/api/v1/events')).body as { text: string }[]).some((e) => e.text.includes(`operator limit ${id} ended`))).toBe(true);
    const audit = (await api('GET', '/api/v1/audit')).body as { action: string; target: string }[];
    expect(audit.filter((a) => a.target === id).map((a) => a.action).sort()).toEqual(['signal.add', 'signal.end']);

    // The MQTT site limit can be ended the same way.
    expect((await api('DELETE', '/api/v1/signals/mqtt-site-limit')).status).toBe(200);
    await waitFor(async () => (await api('GET', '/api/v1/state')).body.signals.length === 0, 'no signal in the state');
  });

  it('refuses bad operator limits with 400, viewers with 403 and strangers with 401', async () => {
    for (const body of [
      { kind: 'import-limit', valueW: -1 },
      { kind: 'import-limit', valueW: '0x10' },
      { kind: 'import-limit', valueW: 1e12 },
      { kind: 'price', valueW: 10 },
      { kind: 'import-limit', valueW: 10, durationS: 0 },
      { kind: 'import-limit', valueW: 10, startsAt: 'tomorrow' },
      { kind: 'import-limit', valueW: 10, extra: 1 },
      { kind: 'import-limit', valueW: 10, startsAt: '2020-01-01T00:00:00Z', durationS: 60 },
    ]) {
      const res = await api('POST', '/api/v1/signals', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    app.store.users.create({ username: 'watcher', passwordHash: await app.http.auth.hashPassword('password-123'), role: 'viewer' });
    const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'watcher', password: 'password-123' }) });
    const viewer = ((await login.json()) as { token: string }).token;
    expect((await api('POST', '/api/v1/signals', { kind: 'import-limit', valueW: 1000 }, viewer)).status).toBe(403);
    expect((await api('POST', '/api/v1/signals', { kind: 'import-limit', valueW: 1000 }, 'nope')).status).toBe(401);
    expect((await api('GET', '/api/v1/state')).status).toBe(200);
  });
});
