// Front-end development only: serves dashboard/dist plus a fake /api/v1 with moving numbers, so
// the pages can be worked on without the whole EMS. Tests never use it; they run the real demo.
//   node --import tsx dashboard/dev/stub-server.ts [port]
import { randomUUID } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { WebSocketServer } from 'ws';
import { parseConfigText } from '../../config/parse-config.ts';
import { dashboardDistDir } from '../build.ts';

const port = Number(process.argv[2] ?? 8099);
const users: Record<string, string> = { admin: 'admin', operator: 'operator', viewer: 'viewer' };
const sessions = new Map<string, string>();
let configYaml = readFileSync(new URL('../../config/examples/demo.yaml', import.meta.url), 'utf8');
const audit: unknown[] = [];
const start = Date.now();
const connectors = Array.from({ length: 8 }, (_, i) => ({
  chargerId: `CP00${i + 1}`,
  connectorId: 1,
  departureMs: i % 3 === 0 ? start + (2 + i) * 3_600_000 : null as number | null,
  needWh: i % 2 ? 30_000 : null as number | null,
  paused: false,
  hasCar: i !== 3 && i !== 6,
}));

function state() {
  const t = (Date.now() - start) / 1000;
  const list = connectors.map((c, i) => {
    const capA = c.paused || !c.hasCar ? 0 : c.departureMs && c.departureMs - Date.now() < 3 * 3_600_000 ? 32 : 10 + (i % 3) * 4;
    const drawA = capA ? Math.max(0, capA - 0.4 + Math.sin(t + i) * 0.3) : 0;
    return {
      chargerId: c.chargerId, connectorId: 1, status: !c.hasCar ? (i === 6 ? 'Faulted' : 'Available') : c.paused ? 'SuspendedEVSE' : 'Charging',
      capA, drawA: Math.round(drawA * 10) / 10, powerW: Math.round(drawA * 230 * 3), phases: i === 6 ? 1 : 3,
      reason: !c.hasCar ? 'no car' : c.paused ? 'paused by operator' : capA === 32 ? 'charger max 32 A (leaves soon)' : `circuit row-${i < 4 ? 'a' : 'b'} 40 A shared by 4 cars; priority ${i + 1} of 6`,
      rank: c.hasCar ? i + 1 : null,
      session: c.hasCar ? { idTag: `04A1B2C${i}`, tier: ['fleet', 'staff', 'guest'][i % 3], startedAt: new Date(start - (i + 1) * 1_800_000).toISOString(), departure: c.departureMs ? new Date(c.departureMs).toISOString() : null, energyWh: Math.round(5000 + i * 1300 + t * 20), energyNeedWh: c.needWh, soc: 30 + i * 7, paused: c.paused } : null,
    };
  });
  const ev = list.reduce((s, c) => s + c.powerW, 0);
  const building = 9000 + Math.sin(t / 10) * 1500;
  const pv = 12000 + Math.sin(t / 7) * 2000;
  return {
    at: new Date().toISOString(),
    site: { name: 'Demo Depot', voltage: 230, gridCurrentA: [61 + Math.sin(t) * 2, 55, 58], gridPowerW: Math.round(ev + building - pv - 2000), buildingPowerW: Math.round(building), pvPowerW: Math.round(pv), batteryPowerW: 2000, batterySoc: 64, evPowerW: ev, limitPowerW: 47500, headroomA: [2.5, 9, 14], limitA: [76, 76, 76], failsafe: false },
    connectors: list,
    devices: [{ id: 'grid', role: 'grid-meter', health: 'online', lastReadingAt: new Date().toISOString(), lastError: null }, { id: 'pv', role: 'pv', health: 'online', lastReadingAt: new Date().toISOString(), lastError: null }],
    signals: [],
  };
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const body = (req: IncomingMessage) => new Promise<string>((ok) => { let b = ''; req.on('data', (c) => (b += c)); req.on('end', () => ok(b)); });
const who = (req: IncomingMessage) => sessions.get(/ems_session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1] ?? '');

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const p = url.pathname;
  if (p === '/api/v1/auth/login' && req.method === 'POST') {
    const { username, password } = JSON.parse(await body(req));
    if (users[username] !== password) return json(res, 401, { message: 'invalid credentials' });
    const token = randomUUID();
    sessions.set(token, username);
    return json(res, 200, { token, role: username }, { 'set-cookie': [`ems_session=${token}; HttpOnly; SameSite=Strict; Path=/`, `ems_csrf=c${token}; SameSite=Strict; Path=/`] as unknown as string });
  }
  if (p.startsWith('/api/')) {
    const user = who(req);
    if (!user) return json(res, 401, { message: 'log in first' });
    if (p === '/api/v1/auth/logout') return json(res, 200, {});
    if (p === '/api/v1/auth/me') return json(res, 200, { username: user, role: user });
    if (p === '/api/v1/state') return json(res, 200, state());
    const m = /^\/api\/v1\/connectors\/([^/]+)\/(\d+)\/session$/.exec(p);
    if (m && req.method === 'PATCH') {
      if (user === 'viewer') return json(res, 403, { message: 'operator role required' });
      const c = connectors.find((x) => x.chargerId === m[1])!;
      const patch = JSON.parse(await body(req));
      if ('departure' in patch) c.departureMs = patch.departure ? Date.parse(patch.departure) : null;
      if ('energyNeedWh' in patch) c.needWh = patch.energyNeedWh;
      if ('paused' in patch) c.paused = patch.paused;
      audit.push({ at: new Date().toISOString(), user, action: 'session.update', target: p, after: patch });
      return json(res, 200, { ok: true });
    }
    if (p === '/api/v1/history') {
      const from = Date.parse(url.searchParams.get('from')!);
      const to = Date.parse(url.searchParams.get('to')!);
      const step = Math.max(60_000, (to - from) / 600);
      const points = [];
      for (let t = from; t <= to; t += step) {
        const h = new Date(t).getHours() + new Date(t).getMinutes() / 60;
        const pv = Math.max(0, Math.sin(((h - 6) / 14) * Math.PI)) * 18000;
        const ev = h > 7 && h < 18 ? 25000 + Math.sin(h) * 5000 : 8000;
        points.push({ atMs: t, gridPowerW: ev + 9000 - pv, pvPowerW: pv, batteryPowerW: h > 17 ? 5000 : -2000, evPowerW: ev, limitW: 47500 });
      }
      return json(res, 200, { points });
    }
    if (p === '/api/v1/sessions') return json(res, 200, { sessions: [{ id: '1', chargerId: 'CP001', connectorId: 1, idTag: 'AB12', tier: 'fleet', startedAt: new Date(start - 86_400_000).toISOString(), endedAt: new Date(start - 60_000_000).toISOString(), energyWh: 42_100, cost: 12.63, currency: 'EUR' }] });
    if (p === '/api/v1/kpis')
      return json(res, 200, {
        at: new Date().toISOString(),
        since: new Date(new Date().setHours(0, 0, 0, 0)).toISOString(),
        currency: 'EUR',
        today: { evEnergyWh: 186_400, energyDeliveredWh: 186_400, gridImportWh: 151_200, gridExportWh: 3_100, energyCost: 45.87, costPerKWh: 0.2461, peakW: 47_900, renewableShare: 0.21, utilization: 0.58, sessions: 9, sessionSuccessRate: 1, unmetWh: 0 },
        month: { peakW: 49_200, demandCharge: 492, demandChargePerKW: 10 },
        prices: { importPerKWh: 0.32, exportPerKWh: 0.08, carbonGPerKWh: 0 },
      });
    if (p === '/api/v1/audit') return json(res, 200, audit);
    if (p === '/api/v1/signals') return json(res, 200, []);
    if (p === '/api/v1/devices') return json(res, 200, state().devices);
    if (p === '/api/v1/config' && req.method === 'GET') return json(res, 200, { yaml: configYaml });
    if (p === '/api/v1/config' && req.method === 'PUT') {
      if (user !== 'admin') return json(res, 403, { message: 'admin only' });
      const text = await body(req);
      const parsed = parseConfigText(text, 'site.yaml');
      if (!parsed.config) return json(res, 400, { message: 'invalid config', issues: parsed.problems });
      configYaml = text;
      return json(res, 200, { message: 'Applied.' });
    }
    return json(res, 404, { message: 'no such endpoint' });
  }
  const file = normalize(join(dashboardDistDir, p === '/' ? 'index.html' : p));
  if (!file.startsWith(dashboardDistDir) || !existsSync(file)) return json(res, 404, { message: 'not found' });
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' };
  res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
  res.end(readFileSync(file));
});
const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (req, socket, head) => {
  if (!who(req)) return socket.destroy();
  wss.handleUpgrade(req, socket, head, (ws) => {
    const timer = setInterval(() => ws.send(JSON.stringify({ type: 'state', state: state() })), 1000);
    ws.on('close', () => clearInterval(timer));
  });
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`stub dashboard on http://127.0.0.1:${port}/ (admin/admin, operator/operator, viewer/viewer)\n`));
