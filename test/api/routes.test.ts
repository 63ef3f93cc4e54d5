import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { stringify } from 'yaml';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import type { Decision } from '../../optimizer/types.ts';
import type { SessionUpdate } from '../../src/bus.ts';
import { stateViewSchema } from '../../src/api/view-schemas.ts';
import { createHistoryRecorder } from '../../src/storage/history-recorder.ts';
import { ADMIN_PASSWORD, T0, createApiFixture, startSession, testConfig, type ApiFixture } from './api-fixture.ts';

let api: ApiFixture;
let admin: string;
const auth = () => ({ authorization: `Bearer ${admin}` });

beforeEach(async () => {
  api = await createApiFixture();
  admin = (await api.login('admin', ADMIN_PASSWORD)).token;
});
afterEach(async () => api.close());

function decision(atMs: number, capA = 16): Decision {
  return {
    atMs,
    failsafe: false,
    nextState: { connectors: {} },
    headroom: { limitA: [59.8, 59.8, 59.8], headroomA: [20, 21, 22], buildingA: [10, 10, 10], binding: { kind: 'grid-current', phase: 'L1', text: 'grid connection 60 A on L1' } },
    caps: [
      { chargerId: 'CP001', connectorId: 1, currentA: capA, phases: 3, rank: 1, reason: { kind: 'scarcity', text: 'site limit 63 A shared by 2 cars; priority 1 of 2', rank: 1, of: 2 } },
      { chargerId: 'CP001', connectorId: 2, currentA: 0, phases: 3, reason: { kind: 'idle', text: 'no car' } },
      { chargerId: 'CP002', connectorId: 1, currentA: 6, phases: 1, rank: 2, reason: { kind: 'charger', text: 'charger max' } },
    ],
  };
}

function feedSite(atMs: number) {
  const { bus } = api.ctx;
  bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs, powerW: 20_000, currentA: [30, 29, 28] });
  bus.emit('charger.connected', { chargerId: 'CP001', atMs, protocol: 'ocpp1.6' });
  bus.emit('connector.status', { chargerId: 'CP001', connectorId: 1, status: 'Charging', atMs });
  bus.emit('connector.meter', { chargerId: 'CP001', connectorId: 1, atMs, currentA: [15.8, 15.9, 15.7], powerW: 10_900, energyWh: 5000 });
  bus.emit('decision', decision(atMs));
}

describe('steering a session', () => {
  const url = '/api/v1/connectors/CP001/1/session';
  let updates: SessionUpdate[];
  beforeEach(() => {
    updates = [];
    api.ctx.bus.on('session.update', (u) => updates.push(u));
  });

  it('emits session.update with the new departure and energy need and records who did it', async () => {
    startSession(api.ctx, 'CP001', 1, 41);
    const res = await api.inject({ method: 'PATCH', url, headers: auth(), payload: { departure: '2026-11-24T17:30:00+01:00', energyNeedWh: 30_000, tier: 'fleet' } });
    expect(res.statusCode).toBe(200);
    expect(updates).toEqual([{ chargerId: 'CP001', connectorId: 1, departureAtMs: Date.UTC(2026, 10, 24, 16, 30), energyNeedWh: 30_000, tier: 'fleet' }]);
    expect(res.json().session).toMatchObject({ departure: '2026-11-24T16:30:00.000Z', energyNeedWh: 30_000, tier: 'fleet' });
    const [entry] = api.store.audit.list({ action: 'session.update' });
    expect(entry).toMatchObject({
      actor: 'admin',
      target: 'CP001/1#41',
      before: { departure: null, energyNeedWh: null, tier: 'staff', paused: false },
      after: { departure: '2026-11-24T17:30:00+01:00', energyNeedWh: 30_000, tier: 'fleet' },
    });
    expect(entry.atMs).toBe(T0);
  });

  it.each([
    [{ departure: 'tomorrow morning' }, 'departure'],
    [{ energyNeedWh: -5 }, 'energyNeedWh'],
    [{ paused: 'yes' }, 'paused'],
    [{ paused: true, colour: 'red' }, 'colour'],
    [{ tier: 'vip' }, 'tier'],
    [{}, ''],
  ])('refuses %j with 400 naming the field and changes nothing', async (payload, field) => {
    startSession(api.ctx, 'CP001', 1, 41);
    const res = await api.inject({ method: 'PATCH', url, headers: auth(), payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().issues.map((i: { path: string }) => i.path)).toContain(field);
    if (field) expect(res.json().message).toContain(field);
    expect(updates).toEqual([]);
    expect(api.store.audit.list({ action: 'session.update' })).toEqual([]);
  });

  it('answers 404 for an unknown connector and 409 when no car is charging', async () => {
    const unknown = await api.inject({ method: 'PATCH', url: '/api/v1/connectors/CP999/1/session', headers: auth(), payload: { paused: true } });
    expect(unknown.statusCode).toBe(404);
    const idle = await api.inject({ method: 'PATCH', url, headers: auth(), payload: { paused: true } });
    expect(idle.statusCode).toBe(409);
    expect(idle.json().error).toBe('NO_SESSION');
    expect(updates).toEqual([]);
  });

  it('answers 400 for a body that is not JSON', async () => {
    startSession(api.ctx, 'CP001', 1, 41);
    const res = await api.inject({ method: 'PATCH', url, headers: { ...auth(), 'content-type': 'application/json' }, payload: '{"paused": tru' });
    expect(res.statusCode).toBe(400);
  });
});

describe('GET /api/v1/state', () => {
  it('has the contract shape: site, connectors with cap, draw, reason and session, devices, signals', async () => {
    startSession(api.ctx, 'CP001', 1, 41);
    feedSite(T0);
    api.ctx.bus.emit('signals.changed', { source: 'utility', signals: [{ id: 's1', source: 'utility', kind: 'import-limit', startMs: T0 - 1000, endMs: T0 + 3_600_000, value: 30_000 }] });
    api.clock.advance(2000);
    const body = (await api.inject({ method: 'GET', url: '/api/v1/state', headers: auth() })).json();
    expect(body.site).toMatchObject({
      gridCurrentA: [30, 29, 28],
      gridPowerW: 20_000,
      headroomA: [20, 21, 22],
      limitA: [59.8, 59.8, 59.8],
      failsafe: false,
      limitPowerW: 30_000,
    });
    for (const key of ['buildingPowerW', 'pvPowerW', 'batteryPowerW', 'batterySoc']) expect(body.site).toHaveProperty(key);
    const cp1 = body.connectors.find((c: { chargerId: string; connectorId: number }) => c.chargerId === 'CP001' && c.connectorId === 1);
    expect(cp1).toMatchObject({
      status: 'Charging',
      capA: 16,
      drawA: 15.9,
      phases: 3,
      rank: 1,
      reason: 'site limit 63 A shared by 2 cars; priority 1 of 2',
      session: { idTag: 'TAG-1', tier: 'staff', startedAt: new Date(T0 - 600_000).toISOString(), departure: null, energyWh: 4000, energyNeedWh: null, soc: null },
    });
    expect(body.connectors).toHaveLength(3);
    expect(body.devices).toEqual([expect.objectContaining({ id: 'grid', role: 'grid-meter', health: 'online', lastReadingAt: new Date(T0).toISOString(), ageMs: 2000, stale: false, lastError: null })]);
    expect(body.signals).toEqual([expect.objectContaining({ id: 's1', kind: 'import-limit', value: 30_000, active: true })]);
    // The answer is exactly what the OpenAPI document promises.
    expect(stateViewSchema.strict().safeParse(body).error).toBeUndefined();
    const doc = (await api.inject({ method: 'GET', url: '/api/docs/json' })).json();
    expect(Object.keys(doc.paths['/api/v1/state'].get.responses['200'].content['application/json'].schema.properties)).toEqual(Object.keys(body));
  });
});

describe('GET /api/v1/chargers', () => {
  it('lists each configured charger with its OCPP link', async () => {
    api.ctx.bus.emit('charger.connected', { chargerId: 'CP002', atMs: T0, protocol: 'ocpp1.6' });
    const chargers = (await api.inject({ method: 'GET', url: '/api/v1/chargers', headers: auth() })).json();
    expect(chargers).toEqual([
      expect.objectContaining({ id: 'CP001', online: false, protocol: null, connectors: 2, phases: 3 }),
      expect.objectContaining({ id: 'CP002', online: true, protocol: 'ocpp1.6', since: new Date(T0).toISOString(), phases: 1, phaseRotation: 'L2L3L1' }),
    ]);
  });
});

describe('GET /api/v1/circuits', () => {
  it('reports load per site phase through each charger phase rotation', async () => {
    api.ctx.bus.emit('connector.meter', { chargerId: 'CP002', connectorId: 1, atMs: T0, currentA: [10, 0, 0] });
    api.ctx.bus.emit('connector.meter', { chargerId: 'CP001', connectorId: 1, atMs: T0, currentA: [5, 5, 5] });
    const root = (await api.inject({ method: 'GET', url: '/api/v1/circuits', headers: auth() })).json();
    const row = root.children[0].children[0];
    expect(row).toMatchObject({ id: 'row-a', maxCurrentA: 32, evLoadA: [5, 15, 5] });
    expect(root).toMatchObject({ id: 'site', maxCurrentA: 63, limitA: 59.9 });
  });
});

describe('GET /api/v1/circuits: a submeter against what is below it', () => {
  const withSubmeter = () =>
    createApiFixture({
      config: testConfig({
        circuits: [{ id: 'main', maxCurrent: 63, children: [{ id: 'row-a', maxCurrent: 32, meter: 'row-meter', chargers: ['CP001', 'CP002'] }] }],
        devices: [
          { id: 'grid', role: 'grid-meter', driver: 'simulated' },
          { id: 'row-meter', role: 'load', driver: 'simulated' },
        ],
      }),
    });
  const rowA = async (site: ApiFixture, meterA: [number, number, number]) => {
    site.ctx.bus.emit('device.reading', { deviceId: 'row-meter', role: 'load', atMs: T0, currentA: meterA, powerW: 0 });
    const token = (await site.login('admin', ADMIN_PASSWORD)).token;
    const root = (await site.inject({ method: 'GET', url: '/api/v1/circuits', headers: { authorization: `Bearer ${token}` } })).json();
    return root.children[0].children[0];
  };

  it('shows what the submeter sees beyond the chargers below it', async () => {
    const site = await withSubmeter();
    try {
      site.ctx.bus.emit('connector.meter', { chargerId: 'CP001', connectorId: 1, atMs: T0, currentA: [10, 10, 10] });
      const row = await rowA(site, [13, 10.5, 10]);
      expect(row.reconciliation).toMatchObject({ belowA: [10, 10, 10], unmeteredA: [3, 0.5, 0], mismatch: false });
      expect(row.reconciliation.text).toContain('3.0 A not metered separately');
    } finally {
      await site.close();
    }
  });

  it('flags a submeter that reads clearly less than the chargers below it draw', async () => {
    const site = await withSubmeter();
    try {
      site.ctx.bus.emit('connector.meter', { chargerId: 'CP001', connectorId: 1, atMs: T0, currentA: [16, 16, 16] });
      const row = await rowA(site, [16, 2, 16]); // L2's CT is off or on the wrong phase
      expect(row.reconciliation).toMatchObject({ mismatch: true, unmeteredA: [0, -14, 0] });
      expect(row.reconciliation.text).toBe('meter reads 2.0 A on L2, less than the 16.0 A below it: check the meter, its CTs and the phase mapping');
      const within = await rowA(site, [15, 14.5, 16]); // within meter and sampling tolerance
      expect(within.reconciliation.mismatch).toBe(false);
    } finally {
      await site.close();
    }
  });
});

describe('history', () => {
  it('serves what the recorder kept from decisions, at the asked resolution', async () => {
    const recorder = createHistoryRecorder(api.ctx, api.store);
    await recorder.start();
    for (let s = 0; s < 125; s++) {
      api.clock.set(T0 + s * 1000);
      feedSite(T0 + s * 1000);
    }
    await recorder.stop();
    const minutes = (await api.inject({ method: 'GET', url: `/api/v1/history?from=${T0}&to=${T0 + 3_600_000}&resolution=1m`, headers: auth() })).json();
    expect(minutes.resolution).toBe('1m');
    // Two whole minutes and the one in progress (5 s so far, not rolled up yet): none is missing.
    expect(minutes.points.map((p: { samples: number }) => p.samples)).toEqual([60, 60, 5]);
    expect(minutes.points[0]).toMatchObject({ atMs: T0, gridPowerW: 20_000, evPowerW: 10_900, limitPowerW: 59.8 * 3 * 230 });
    expect(minutes.points[2]).toMatchObject({ atMs: T0 + 120_000, gridPowerW: 20_000 });
    const auto = (await api.inject({ method: 'GET', url: `/api/v1/history?from=${new Date(T0).toISOString()}`, headers: auth() })).json();
    expect(auto.resolution).toBe('1s');
    expect(auto.points.length).toBe(125);
    const bad = await api.inject({ method: 'GET', url: '/api/v1/history?from=yesterday', headers: auth() });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues[0].path).toBe('from');
  });
});

describe('history resolution', () => {
  it.each([
    [30 * 60_000, '1s'],
    [2 * 86_400_000, '1m'],
    [30 * 86_400_000, '15m'],
  ])('picks the finest kept resolution for a span of %i ms', async (spanMs, resolution) => {
    const res = await api.inject({ method: 'GET', url: `/api/v1/history?from=${T0 - spanMs}&to=${T0}`, headers: auth() });
    expect(res.json().resolution).toBe(resolution);
  });
});

describe('config', () => {
  let dir: string;
  let path: string;
  let cfg: ApiFixture;
  let token: string;
  const base = () => {
    const c = structuredClone(testConfig()) as Record<string, unknown>;
    return c;
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ems-config-'));
    path = join(dir, 'site.yaml');
    writeFileSync(path, stringify(base()));
    cfg = await createApiFixture({ deps: { configPath: path, liveConfigSections: ['control', 'idTags'] } });
    token = (await cfg.login('admin', ADMIN_PASSWORD)).token;
  });
  afterEach(async () => {
    await cfg.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const put = (payload: unknown, contentType = 'application/json') =>
    cfg.inject({
      method: 'PUT',
      url: '/api/v1/config',
      headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });

  it('refuses an invalid config with the path of each problem and leaves the file alone', async () => {
    const original = readFileSync(path, 'utf8');
    const broken = { ...base(), chargers: [{ id: 'CP001', maxCurrent: 32, minCurrent: 40 }, { id: 'CP002', maxCurrent: -3 }] };
    const res = await put({ yaml: stringify(broken) });
    expect(res.statusCode).toBe(400);
    const paths = res.json().issues.map((p: { path: string }) => p.path);
    expect(paths).toContain('chargers.1.maxCurrent');
    expect(readFileSync(path, 'utf8')).toBe(original);
    expect(cfg.store.audit.list({ action: 'config.update' })).toEqual([]);
  });

  it('reports a YAML syntax error with its line', async () => {
    const res = await put('grid:\n  maxCurrent: [63\n', 'text/yaml');
    expect(res.statusCode).toBe(400);
    expect(res.json().issues[0]).toHaveProperty('line');
  });

  it('applies control changes at once, saves the file, and says which sections need a restart', async () => {
    const next = base() as { control: { priority: string }; grid: { maxCurrent: number } };
    next.control.priority = 'departure';
    next.grid.maxCurrent = 50;
    const changed: unknown[] = [];
    cfg.ctx.bus.on('config.changed', (c) => changed.push(c));
    const res = await put(stringify(next), 'text/yaml');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ saved: true, applied: ['control'], restartRequired: ['grid'] });
    expect(cfg.ctx.config.control.priority).toBe('departure');
    expect(cfg.ctx.config.grid.maxCurrent).toBe(63);
    expect(readFileSync(path, 'utf8')).toContain('priority: departure');
    expect(changed).toEqual([{ atMs: T0, applied: ['control'], restartRequired: ['grid'] }]);
    const [entry] = cfg.store.audit.list({ action: 'config.update' });
    expect(entry).toMatchObject({ actor: 'admin', before: { grid: { maxCurrent: 63 } }, after: { grid: { maxCurrent: 50 } } });
    const read = (await cfg.inject({ method: 'GET', url: '/api/v1/config', headers: { authorization: `Bearer ${token}` } })).json();
    expect(read.yaml).toContain('maxCurrent: 50');
    expect(read.restartRequired).toEqual(['grid']);
  });
});

describe('config without live sections or a file', () => {
  it('applies nothing, changes nothing in the running config, and says a restart is needed', async () => {
    const next = structuredClone(api.ctx.config) as unknown as { control: { priority: string } };
    next.control.priority = 'soc';
    const res = await api.inject({ method: 'PUT', url: '/api/v1/config', headers: { ...auth(), 'content-type': 'application/yaml' }, payload: stringify(next) });
    expect(res.json()).toMatchObject({ saved: false, applied: [], restartRequired: ['control'] });
    expect(api.ctx.config.control.priority).toBe('fcfs');
  });
});

describe('audit', () => {
  it('lists writes newest first with who, what, before, after and when, without secrets', async () => {
    await api.inject({ method: 'POST', url: '/api/v1/users', headers: auth(), payload: { username: 'ops', password: 'password-ops', role: 'operator' } });
    const entries = (await api.inject({ method: 'GET', url: '/api/v1/audit', headers: auth() })).json();
    expect(entries[0]).toMatchObject({ actor: 'admin', action: 'user.create', target: 'ops', after: { role: 'operator' }, at: new Date(T0).toISOString() });
    expect(JSON.stringify(entries)).not.toContain('password-ops');
  });
});

describe('metrics', () => {
  it('exposes site power, per-connector cap and draw, device health and decisions in Prometheus text', async () => {
    startSession(api.ctx, 'CP001', 1, 41);
    feedSite(T0);
    feedSite(T0 + 1000);
    const res = await api.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    expect(res.body).toMatch(/ems_site_power_watts\{flow="grid"\} 20000/);
    expect(res.body).toMatch(/ems_connector_cap_amperes\{charger="CP001",connector="1"\} 16/);
    expect(res.body).toMatch(/ems_connector_cap_reason_info\{charger="CP001",connector="1",reason="scarcity"\} 1/);
    expect(res.body).toMatch(/ems_grid_current_amperes\{phase="L1"\} 30/);
    expect(res.body).toMatch(/ems_connector_draw_amperes\{charger="CP001",connector="1"\} 15.9/);
    expect(res.body).toMatch(/ems_device_up\{device="grid",role="grid-meter"\} 1/);
    expect(res.body).toMatch(/ems_control_decisions_total 2/);
    expect(res.body).toMatch(/ems_control_cycle_interval_seconds_count 1/);
    // 20 kW imported for the one second between the two decisions.
    expect(res.body).toMatch(/ems_energy_joules_total\{flow="grid_import"\} 20000/);
  });

  it('counts profile round trips in a histogram and refusals and device faults as _total counters', async () => {
    const { bus } = api.ctx;
    bus.emit('profile.status', { chargerId: 'CP001', connectorId: 1, state: 'pending', capA: 16, atMs: T0 });
    bus.emit('profile.status', { chargerId: 'CP001', connectorId: 1, state: 'accepted', capA: 16, atMs: T0 + 300 });
    bus.emit('profile.status', { chargerId: 'CP002', connectorId: 1, state: 'pending', capA: 6, atMs: T0 });
    bus.emit('profile.status', { chargerId: 'CP002', connectorId: 1, state: 'rejected', capA: 6, atMs: T0 + 2000 });
    bus.emit('device.health', { deviceId: 'grid', role: 'grid-meter', health: 'online' });
    bus.emit('device.health', { deviceId: 'grid', role: 'grid-meter', health: 'offline', lastError: 'timeout' });
    bus.emit('device.health', { deviceId: 'grid', role: 'grid-meter', health: 'offline', lastError: 'timeout' });
    const body = (await api.inject({ method: 'GET', url: '/metrics' })).body;
    expect(body).toMatch(/ems_profile_round_trip_seconds_bucket\{le="0.5",result="accepted"\} 1/);
    expect(body).toMatch(/ems_profile_round_trip_seconds_count\{result="rejected"\} 1/);
    expect(body).toMatch(/ems_ocpp_profile_errors_total\{charger="CP002"\} 1/);
    expect(body).toMatch(/ems_device_errors_total\{device="grid",driver="simulated"\} 1/);
  });

  describeWithPeer('promtool', hasCommand('promtool'), 'promtool', () => {
    it('passes `promtool check metrics` (Prometheus naming and type conventions)', async () => {
      startSession(api.ctx, 'CP001', 1, 41);
      feedSite(T0);
      feedSite(T0 + 1000);
      api.ctx.bus.emit('profile.status', { chargerId: 'CP001', connectorId: 1, state: 'pending', capA: 16, atMs: T0 });
      api.ctx.bus.emit('profile.status', { chargerId: 'CP001', connectorId: 1, state: 'accepted', capA: 16, atMs: T0 + 300 });
      const body = (await api.inject({ method: 'GET', url: '/metrics' })).body;
      const result = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
      expect(`${result.stdout}${result.stderr}`.trim()).toBe('');
      expect(result.status).toBe(0);
    });
  });
});

describe('health', () => {
  it('answers 503 once the control loop has stopped deciding', async () => {
    expect((await api.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    feedSite(T0);
    api.clock.advance(4000);
    expect((await api.inject({ method: 'GET', url: '/healthz' })).json()).toMatchObject({ status: 'ok', lastDecisionAt: new Date(T0).toISOString() });
    api.clock.advance(2000);
    const stalled = await api.inject({ method: 'GET', url: '/healthz' });
    expect(stalled.statusCode).toBe(503);
    expect(stalled.json().status).toBe('stalled');
  });
});

describe('export metrics', () => {
  it('reports the InfluxDB buffer when the export runs', async () => {
    const stats = { buffered: 12, written: 340, dropped: 5, failedWrites: 2 };
    const withExport = await createApiFixture({ deps: { exportStats: () => stats, processMetrics: true } });
    try {
      const text = (await withExport.inject({ method: 'GET', url: '/metrics' })).body;
      expect(text).toMatch(/ems_influx_points_total\{state="dropped"\} 5/);
      expect(text).toMatch(/ems_influx_write_errors_total 2/);
      expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    } finally {
      await withExport.close();
    }
  });
});

describe('OpenAPI', () => {
  it('documents the routes with their zod request schemas at /api/docs', async () => {
    const doc = (await api.inject({ method: 'GET', url: '/api/docs/json' })).json();
    const patch = doc.paths['/api/v1/connectors/{chargerId}/{connectorId}/session'].patch;
    const schema = patch.requestBody.content['application/json'].schema;
    expect(Object.keys(schema.properties)).toEqual(['departure', 'energyNeedWh', 'tier', 'paused', 'chargeMode']);
    expect(doc.paths['/api/v1/auth/login'].post).toBeDefined();
    const ui = await api.inject({ method: 'GET', url: '/api/docs' });
    expect([200, 302]).toContain(ui.statusCode);
  });
});

describe('static dashboard', () => {
  it('serves the built pages and the SPA index for unknown non-API paths, JSON 404 for unknown API paths', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ems-dist-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>EMS dashboard</title>');
    writeFileSync(join(dir, 'app.js'), 'console.log(1)');
    const site = await createApiFixture({ deps: { staticDir: dir } });
    try {
      const root = await site.inject({ method: 'GET', url: '/' });
      expect(root.body).toContain('EMS dashboard');
      expect(root.headers['x-frame-options']).toBe('DENY');
      expect((await site.inject({ method: 'GET', url: '/app.js' })).headers['content-type']).toMatch(/javascript/);
      expect((await site.inject({ method: 'GET', url: '/connectors/CP001' })).body).toContain('EMS dashboard');
      const api404 = await site.inject({ method: 'GET', url: '/api/v1/nothing' });
      expect(api404.statusCode).toBe(404);
      expect(api404.json().error).toBe('NOT_FOUND');
    } finally {
      await site.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('events', () => {
  it('lists faults, failsafe and device changes once per change, newest first', async () => {
    const { bus } = api.ctx;
    bus.emit('decision', decision(T0)); // running: a failsafe now is a fault, not the start-up one
    bus.emit('connector.status', { chargerId: 'CP001', connectorId: 1, status: 'Faulted', errorCode: 'GroundFailure', atMs: T0 });
    bus.emit('connector.status', { chargerId: 'CP001', connectorId: 1, status: 'Faulted', errorCode: 'GroundFailure', atMs: T0 + 1000 });
    bus.emit('control.failsafe', { active: true, atMs: T0 + 2000, why: 'site data is stale' });
    bus.emit('device.health', { deviceId: 'grid', role: 'grid-meter', health: 'stale', lastError: 'timeout' });
    bus.emit('device.health', { deviceId: 'grid', role: 'grid-meter', health: 'stale', lastError: 'timeout' });
    bus.emit('connector.status', { chargerId: 'CP001', connectorId: 1, status: 'Available', atMs: T0 + 3000 });
    const events = (await api.inject({ method: 'GET', url: '/api/v1/events', headers: auth() })).json();
    expect(events.map((e: { kind: string; severity: string }) => `${e.kind}:${e.severity}`)).toEqual(['fault:info', 'device:warning', 'failsafe:error', 'fault:error']);
    expect(events[3].text).toContain('GroundFailure');
    const newer = (await api.inject({ method: 'GET', url: `/api/v1/events?since=${events[1].id}`, headers: auth() })).json();
    expect(newer).toHaveLength(1);
  });

  it('reads as sentences: names not tags, energy and why a session ended, local times, kW, no raw JSON or doubled words', async () => {
    const config = testConfig({ idTags: [{ idTag: 'BUS12', tier: 'fleet', name: 'Bus 12' }] });
    const site = await createApiFixture({ config });
    try {
      const { bus } = site.ctx;
      const headers = { authorization: `Bearer ${(await site.login('admin', ADMIN_PASSWORD)).token}` };
      bus.emit('control.failsafe', { active: true, atMs: T0, why: 'no grid meter reading' });
      bus.emit('decision', decision(T0 + 1000));
      bus.emit('control.failsafe', { active: false, atMs: T0 + 1000, why: 'site data is fresh again' });
      bus.emit('control.failsafe', { active: true, atMs: T0 + 2000, why: 'grid meter stale for 12.0 s' });
      bus.emit('session.started', { chargerId: 'CP001', connectorId: 1, transactionId: 1, idTag: 'bus12', tier: 'fleet', startedAtMs: T0, meterStartWh: 1_000 });
      bus.emit('session.ended', { chargerId: 'CP001', connectorId: 1, transactionId: 1, endedAtMs: T0 + 3_600_000, meterStopWh: 13_400, reason: 'EVDisconnected' });
      bus.emit('session.started', { chargerId: 'CP002', connectorId: 1, transactionId: 2, idTag: 'D0000009', tier: 'guest', startedAtMs: T0, meterStartWh: 0 });
      bus.emit('profile.status', { chargerId: 'CP002', connectorId: 1, state: 'rejected', capA: 16, atMs: T0, detail: 'uncontrollable: connector 1 drew 9.0 A for 375 s above the 0.0 A it holds: it ignores charging profiles' });
      bus.emit('device.health', { deviceId: 'grid', role: 'grid-meter', health: 'online' });
      bus.emit('device.health', { deviceId: 'grid', role: 'grid-meter', health: 'offline', lastError: 'timeout', lastReadingAtMs: T0 });
      bus.emit('signals.changed', { source: 'utility', signals: [{ id: 's1', source: 'utility', kind: 'import-limit', startMs: T0, endMs: T0 + 3_600_000, value: 30_000 }] });
      bus.emit('config.changed', { atMs: T0, applied: ['control'], restartRequired: ['ocpp'] });
      const texts = ((await site.inject({ method: 'GET', url: '/api/v1/events', headers })).json() as { text: string; severity: string }[]).map((e) => e.text).reverse();
      expect(texts).toEqual([
        'Failsafe on at start until site data comes: no grid meter reading; sessions held at the failsafe current (6 A)',
        'Failsafe off: site data is fresh again',
        'Failsafe on: grid meter stale for 12.0 s; sessions held at the failsafe current (6 A)',
        'CP001/1 session started: Bus 12, tier fleet',
        'CP001/1 session ended: Bus 12, 12.4 kWh, car unplugged',
        'CP002/1 session started: tag D0000009, tier guest',
        'CP002/1 cannot be capped (connector 1 drew 9.0 A for 375 s above the 0.0 A it holds: it ignores charging profiles); its max 16 A stays reserved',
        'grid is offline: timeout (last reading 24 Nov, 11:00)',
        'utility: import-limit 30 kW 24 Nov, 11:00–24 Nov, 12:00',
        'Config saved: control applied now; ocpp after a restart',
      ]);
      for (const text of texts) {
        expect(text).not.toMatch(/[{}"]|\d{4}-\d{2}-\d{2}T/);
        expect(text).not.toMatch(/\b(\w+) \1\b/i);
      }
    } finally {
      await site.close();
    }
  });
});
