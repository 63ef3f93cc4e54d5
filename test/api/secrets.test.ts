// Secrets are write-only: no API answer and no audit entry shows a charger password, MQTT/InfluxDB
// credentials (also inside URLs) or the VTN client secret, for any role; a PUT that keeps the mask
// keeps the stored value; viewers see who changed the config, not what.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../config/parse-config.ts';
import { ADMIN_PASSWORD, createApiFixture, type ApiFixture } from './api-fixture.ts';

const SECRETS = ['cp-secret-pass-1', 'mqtt-url-pw-2', 'mqtt-field-pw-3', 'influx-url-pw-4', 'influx-field-pw-5', 'vtn-client-secret-6'];

const YAML = `# site config with every kind of secret
site: { name: Secret Depot, voltage: 230, timezone: Europe/Berlin }
grid: { maxCurrent: 63, meter: grid }
circuits:
  - id: main
    maxCurrent: 63
    children: [{ id: row-a, maxCurrent: 32, chargers: [CP001, CP002] }]
chargers:
  - { id: CP001, connectors: 2, maxCurrent: 32 }
  - { id: CP002, connectors: 1, maxCurrent: 16, phases: 1, password: cp-secret-pass-1 }
devices:
  - { id: grid, role: grid-meter, driver: simulated }
mqtt:
  url: mqtt://ems:mqtt-url-pw-2@127.0.0.1:1883
  username: ems
  password: mqtt-field-pw-3
influx:
  url: http://writer:influx-url-pw-4@127.0.0.1:8086
  database: ems
  username: writer
  password: influx-field-pw-5
openadr:
  - id: vtn
    version: '3.1'
    vtnUrl: http://127.0.0.1:8080/openadr3
    venName: ven-1
    client: { id: ven-client, secret: vtn-client-secret-6 }
http: { host: 127.0.0.1, port: 0 }
`;

const leaks = (text: string) => SECRETS.filter((s) => text.includes(s));

describe('secrets in the API', () => {
  let dir: string;
  let path: string;
  let api: ApiFixture;
  let tokens: Record<'viewer' | 'operator' | 'admin', string>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ems-secrets-'));
    path = join(dir, 'site.yaml');
    writeFileSync(path, YAML);
    const { config, problems } = parseConfigText(YAML, 'site.yaml');
    expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
    api = await createApiFixture({ config: config!, deps: { configPath: path } });
    tokens = { viewer: await api.userToken('viewer'), operator: await api.userToken('operator'), admin: (await api.login('admin', ADMIN_PASSWORD)).token };
  });
  afterAll(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (url: string, token: string) => api.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });

  it('GET /api/v1/config masks every secret in the YAML text and in the parsed values', async () => {
    const res = await get('/api/v1/config', tokens.admin);
    expect(res.statusCode).toBe(200);
    expect(leaks(res.body)).toEqual([]);
    const body = res.json();
    expect(body.config.chargers[1].password).toBe('********');
    expect(body.config.mqtt.url).toBe('mqtt://ems:********@127.0.0.1:1883');
    expect(body.config.openadr[0].client.secret).toBe('********');
    expect(body.yaml).toContain('# site config with every kind of secret');
    expect(body.yaml).toContain('password: "********"'.replace(/"/g, '"'));
  });

  it('a PUT that keeps the masks keeps the stored secrets, and the audit shows none of them', async () => {
    const { yaml } = (await get('/api/v1/config', tokens.admin)).json();
    const edited = yaml.replace('maxCurrent: 63 }', 'maxCurrent: 63 } # edited').replace('name: Secret Depot', 'name: Secret Depot 2');
    const put = await api.inject({ method: 'PUT', url: '/api/v1/config', headers: { authorization: `Bearer ${tokens.admin}` }, payload: { yaml: edited } });
    expect(put.statusCode, put.body).toBe(200);
    const saved = readFileSync(path, 'utf8');
    expect(leaks(saved).sort()).toEqual([...SECRETS].sort());
    expect(saved).not.toContain('********');
    expect(saved).toContain('Secret Depot 2');
    // A changed secret is saved as typed; the audit still shows only masks.
    const changed = (await get('/api/v1/config', tokens.admin)).json().yaml.replace('mqtt://ems:********@', 'mqtt://ems:mqtt-url-pw-2@');
    expect((await api.inject({ method: 'PUT', url: '/api/v1/config', headers: { authorization: `Bearer ${tokens.admin}` }, payload: { yaml: changed } })).statusCode).toBe(200);
  });

  it('a mask where nothing is stored is refused', async () => {
    const { yaml } = (await get('/api/v1/config', tokens.admin)).json();
    const masked = yaml.replace('- { id: CP001, connectors: 2, maxCurrent: 32 }', '- { id: CP001, connectors: 2, maxCurrent: 32, password: "********" }');
    const res = await api.inject({ method: 'PUT', url: '/api/v1/config', headers: { authorization: `Bearer ${tokens.admin}` }, payload: { yaml: masked } });
    expect(res.statusCode).toBe(400);
  });

  it('no GET answer shows a secret, for any role; viewers see no details of config changes', async () => {
    const routes = api.http.routes.filter((r) => r.method === 'GET' && !r.url.includes(':') && !r.url.includes('*') && r.url !== '/api/v1/live');
    expect(routes.length).toBeGreaterThan(10);
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      for (const route of routes) {
        const res = await get(route.url, tokens[role]);
        expect(leaks(res.body), `${role} GET ${route.url}`).toEqual([]);
      }
    }
    const audit = (await get('/api/v1/audit?action=config.update', tokens.viewer)).json();
    expect(audit.length).toBeGreaterThan(0);
    expect(audit.every((e: any) => e.before === undefined && e.after === undefined)).toBe(true);
    const adminAudit = (await get('/api/v1/audit?action=config.update', tokens.admin)).json();
    expect(adminAudit.some((e: any) => e.after !== undefined)).toBe(true);
  });
});
