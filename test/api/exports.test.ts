// Billing exports (sessions, bills and history as CSV) and the refused past departure, through
// the real HTTP service, real SQLite and the real tariff service fed on the bus.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTariffService, type TariffService } from '../../src/tariffs/index.ts';
import { ADMIN_PASSWORD, T0, createApiFixture, startSession, testConfig, type ApiFixture } from './api-fixture.ts';
import { RESOLUTION_MS, summarizeHistory } from '../../dashboard/src/history-summary.ts';
import { historyPoints } from '../../dashboard/src/normalize.ts';

const scratch = mkdtempSync(join(tmpdir(), 'ems-api-exports-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const MIN = 60_000;

let api: ApiFixture;
let tariffs: TariffService;
let token: string;
let n = 0;

beforeEach(async () => {
  const dir = join(scratch, `case-${++n}`);
  api = await createApiFixture({
    config: testConfig({
      tariffs: { currency: 'EUR', import: { default: 0.3, periods: [] } },
      idTags: [
        { idTag: 'BUS12', tier: 'fleet', name: 'Bus 12' },
        { idTag: '=cmd|calc', tier: 'guest', name: 'Mallory, "the tester"' },
      ],
      control: { tiers: { guest: 1, staff: 2, fleet: 3 } },
    }),
    depsFor: async (ctx, store) => {
      tariffs = createTariffService(ctx, { peakSource: store.peaks, kpiStore: store.kpiDays, billsFilePath: join(dir, 'bills.jsonl') });
      await tariffs.start();
      return { economics: tariffs };
    },
  });
  token = (await api.login('admin', ADMIN_PASSWORD)).token;
});
afterEach(async () => {
  await tariffs.stop();
  await api.close();
});

const get = (url: string) => api.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });

/** A whole session as the OCPP side records it: transaction row first, then the bus events. */
function session(chargerId: string, connectorId: number, idTag: string, startMs: number, minutes: number, chargeMinutes: number, kW: number) {
  const id = api.store.transactions.start({ chargerId, connectorId, idTag, startedAtMs: startMs, meterStartWh: 10_000 });
  const { bus } = api.ctx;
  bus.emit('session.started', { chargerId, connectorId, transactionId: id, idTag, tier: 'guest', startedAtMs: startMs, meterStartWh: 10_000 });
  let wh = 10_000;
  for (let m = 1; m <= minutes; m++) {
    if (m <= chargeMinutes) wh += (kW * 1000) / 60;
    bus.emit('connector.meter', { chargerId, connectorId, atMs: startMs + m * MIN, energyWh: wh });
  }
  const endMs = startMs + minutes * MIN;
  api.store.transactions.stop(id, { stoppedAtMs: endMs, meterStopWh: wh, reason: 'EVDisconnected' });
  bus.emit('session.ended', { chargerId, connectorId, transactionId: id, endedAtMs: endMs, meterStopWh: wh });
  return { id, wh };
}

/** Minimal RFC 4180 reader for the checks (quoted fields, doubled quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field), rows.push(row), (row = []), (field = ''), i++;
    } else field += c;
  }
  return rows;
}

describe('GET /api/v1/sessions?format=csv', () => {
  it('lists every session started in the range with name, tier, meter readings, kWh, cost and idle time', async () => {
    const a = session('CP001', 1, 'BUS12', T0 - 120 * MIN, 90, 60, 11); // 11 kWh, 30 min idle
    session('CP002', 1, '=cmd|calc', T0 - 60 * MIN, 30, 30, 3.6);
    session('CP001', 2, 'BUS12', T0 - 3 * 24 * 60 * MIN, 10, 10, 6); // before the range
    const from = new Date(T0 - 24 * 60 * MIN).toISOString();
    const to = new Date(T0).toISOString();
    const res = await get(`/api/v1/sessions?format=csv&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toMatch(/attachment; filename="sessions-.*\.csv"/);
    const [header, ...rows] = parseCsv(res.body);
    expect(header).toEqual(['transactionId', 'idTag', 'name', 'tier', 'chargerId', 'connectorId', 'start', 'stop', 'meterStartWh', 'meterStopWh', 'energyKWh', 'cost', 'currency', 'idleMinutes', 'stopReason']);
    expect(rows).toHaveLength(2);
    const col = (row: string[], name: string) => row[header.indexOf(name)];
    const bus = rows[0];
    expect(col(bus, 'transactionId')).toBe(String(a.id));
    expect(col(bus, 'name')).toBe('Bus 12');
    expect(col(bus, 'chargerId')).toBe('CP001');
    expect(col(bus, 'start')).toBe(new Date(T0 - 120 * MIN).toISOString());
    expect(col(bus, 'stop')).toBe(new Date(T0 - 30 * MIN).toISOString());
    expect(Number(col(bus, 'meterStartWh'))).toBe(10_000);
    expect(Number(col(bus, 'energyKWh'))).toBeCloseTo(11, 3);
    expect(Number(col(bus, 'cost'))).toBeCloseTo(11 * 0.3, 3);
    expect(col(bus, 'currency')).toBe('EUR');
    expect(Number(col(bus, 'idleMinutes'))).toBe(30);
    expect(col(bus, 'stopReason')).toBe('EVDisconnected');
    // A tag that looks like a formula is defused; commas and quotes survive the round trip.
    expect(col(rows[1], 'idTag')).toBe("'=cmd|calc");
    expect(col(rows[1], 'name')).toBe('Mallory, "the tester"');
  });

  it('refuses a range that ends before it starts, and a viewer may export', async () => {
    const bad = await get('/api/v1/sessions?format=csv&from=2026-11-24T10:00:00Z&to=2026-11-23T10:00:00Z');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toContain('from');
    token = await api.userToken('viewer');
    expect((await get('/api/v1/sessions?format=csv')).statusCode).toBe(200);
  });
});

describe('GET /api/v1/bills?format=csv', () => {
  it('bills sessions that ended in the range, with the same columns', async () => {
    session('CP001', 1, 'BUS12', T0 - 120 * MIN, 90, 60, 11);
    const res = await get(`/api/v1/bills?format=csv&from=${new Date(T0 - 60 * MIN).toISOString()}&to=${new Date(T0).toISOString()}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    const [header, ...rows] = parseCsv(res.body);
    expect(rows).toHaveLength(1);
    expect(rows[0][header.indexOf('name')]).toBe('Bus 12');
    expect(Number(rows[0][header.indexOf('cost')])).toBeCloseTo(3.3, 3);
    expect(Number(rows[0][header.indexOf('meterStopWh')])).toBeCloseTo(21_000, 0);
    const none = await get(`/api/v1/bills?format=csv&from=${new Date(T0 - 20 * MIN).toISOString()}&to=${new Date(T0 - 10 * MIN).toISOString()}`);
    expect(parseCsv(none.body)).toHaveLength(1); // the header only
  });
});

describe('GET /api/v1/history?format=csv', () => {
  it('answers a header row and one row per point', async () => {
    api.store.history.record({ atMs: T0 - 2000, gridPowerW: 1234.4, evPowerW: 1000 });
    api.store.history.record({ atMs: T0 - 1000, gridPowerW: 2000, evPowerW: 1500 });
    const res = await get(`/api/v1/history?format=csv&resolution=1s&from=${T0 - 60_000}&to=${T0}`);
    expect(res.statusCode, res.body).toBe(200);
    const rows = parseCsv(res.body);
    expect(rows[0]).toEqual(['time', 'resolution', 'gridPowerW', 'pvPowerW', 'batteryPowerW', 'evPowerW', 'buildingPowerW', 'limitPowerW', 'gridL1A', 'gridL2A', 'gridL3A', 'gridImportW', 'gridExportW', 'gridImportWh', 'gridExportWh', 'gridNettedSamples']);
    expect(rows.slice(1).map((r) => [r[0], r[2], r[5]])).toEqual([
      [new Date(T0 - 2000).toISOString(), '1234', '1000'],
      [new Date(T0 - 1000).toISOString(), '2000', '1500'],
    ]);
  });

  it('has the grid current of every phase', async () => {
    api.store.history.record({ atMs: T0 - 1000, gridPowerW: 9_000, evPowerW: 0, gridL1A: 31.234, gridL2A: 8, gridL3A: 0.5 });
    const rows = parseCsv((await get(`/api/v1/history?format=csv&resolution=1s&from=${T0 - 60_000}&to=${T0}`)).body);
    expect(rows[1].slice(8, 11)).toEqual(['31.23', '8', '0.5']);
  });
});

describe('GET /api/v1/history totals', () => {
  it('gives the same energy at 1 s, 1 min and 15 min, with a first minute run in part and the minute and quarter in progress', async () => {
    // 27 minutes of one sample a second, starting 50 s into a minute and 12 min 50 s into a quarter,
    // up to the second before now: the minute and the quarter in progress are not rolled up yet.
    const start = T0 - 27 * MIN + 10_000;
    const expected = { importWh: 0, exportWh: 0, evWh: 0, pvWh: 0 };
    for (let atMs = start; atMs < T0; atMs += 1000) {
      const i = (atMs - start) / 1000;
      // A 60 kW first (part) minute, then a grid that swings between import and export within
      // each minute (import and export are split per sample, so no minute nets them).
      const gridPowerW = atMs < start + 50_000 ? 60_000 : -4_000 + ((i * 37) % 97) * 100;
      const evPowerW = 5_000 + (i % 60) * 50;
      const pvPowerW = 3_000 + (i % 17) * 20;
      api.store.history.record({ atMs, gridPowerW, evPowerW, pvPowerW });
      expected.importWh += Math.max(0, gridPowerW) / 3600;
      expected.exportWh += Math.max(0, -gridPowerW) / 3600;
      expected.evWh += evPowerW / 3600;
      expected.pvWh += pvPowerW / 3600;
    }
    api.clock.set(T0);
    const from = T0 - 30 * MIN;
    for (const resolution of ['1s', '1m', '15m']) {
      const res = await get(`/api/v1/history?resolution=${resolution}&from=${from}&to=${T0}`);
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json() as { sampleMs: number; resolution: string };
      expect(body.sampleMs).toBe(1000);
      // What the History page shows under the chart, from the same answer.
      const totals = summarizeHistory(historyPoints(body), undefined, RESOLUTION_MS[resolution], body.sampleMs);
      expect(totals.importEnergyWh, `${resolution} import`).toBeCloseTo(expected.importWh, 6);
      expect(totals.exportEnergyWh, `${resolution} export`).toBeCloseTo(expected.exportWh, 6);
      expect(totals.evEnergyWh, `${resolution} EV`).toBeCloseTo(expected.evWh, 6);
      expect(totals.pvEnergyWh, `${resolution} PV`).toBeCloseTo(expected.pvWh, 6);
      // The CSV export has the same points (its means × the samples the JSON counts).
      const csv = parseCsv((await get(`/api/v1/history?format=csv&resolution=${resolution}&from=${from}&to=${T0}`)).body);
      expect(csv.length - 1, `${resolution} CSV rows`).toBe(historyPoints(body).length);
    }
  });
});

describe('GET /api/v1/history/connectors', () => {
  const minute = (chargerId: string, connectorId: number, energyWh: number, l1A: number) => ({ chargerId, connectorId, energyWh, currentSumA: [l1A * 60, 0, 0] as [number, number, number], capSumA: 16 * 60, samples: 60 });
  const seed = () => {
    // Quarter-aligned start: 20 minutes of CP001/1 at 0.2 kWh a minute, and CP001/2 for 5 of them.
    const start = Math.floor((T0 - 3 * 3_600_000) / (15 * MIN)) * 15 * MIN;
    for (let m = 0; m < 20; m++) api.store.connectorHistory.recordMinute(start + m * MIN, [minute('CP001', 1, 200, 16), ...(m < 5 ? [minute('CP001', 2, 50, 4)] : [])]);
    api.store.connectorHistory.recordMinute(start + 20 * MIN, []);
    return start;
  };

  it('answers per connector the energy, mean power, current per phase and cap, with the same energy per connector at 1 min and 15 min', async () => {
    const start = seed();
    const q = `from=${start}&to=${start + 15 * MIN}`;
    const minutes = (await get(`/api/v1/history/connectors?${q}&resolution=1m`)).json();
    const quarters = (await get(`/api/v1/history/connectors?${q}&resolution=15m`)).json();
    expect(minutes.connectors.map((c: { chargerId: string; connectorId: number; energyWh: number }) => [c.chargerId, c.connectorId, c.energyWh])).toEqual([
      ['CP001', 1, 3_000],
      ['CP001', 2, 250],
    ]);
    expect(quarters.connectors.map((c: { energyWh: number }) => c.energyWh)).toEqual([3_000, 250]);
    expect(minutes.connectors[0].points[0]).toEqual({ atMs: start, energyWh: 200, powerW: 12_000, currentA: [16, 0, 0], capA: 16 });
    expect(quarters.connectors[1].points[0]).toMatchObject({ energyWh: 250, powerW: 1_000, currentA: [4, 0, 0] });
    const one = (await get(`/api/v1/history/connectors?${q}&resolution=1m&chargerId=CP001&connectorId=2`)).json();
    expect(one.connectors).toHaveLength(1);
    expect(one.connectors[0].points).toHaveLength(5);
  });

  it('exports CSV and refuses an unknown charger or a connector without its charger', async () => {
    const start = seed();
    const res = await get(`/api/v1/history/connectors?format=csv&resolution=1m&from=${start}&to=${start + 2 * MIN}&chargerId=CP001&connectorId=1`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/csv');
    const rows = parseCsv(res.body);
    expect(rows[0]).toEqual(['time', 'resolution', 'chargerId', 'connectorId', 'energyWh', 'powerW', 'l1A', 'l2A', 'l3A', 'capA']);
    expect(rows.slice(1)).toEqual([
      [new Date(start).toISOString(), '1m', 'CP001', '1', '200', '12000', '16', '0', '0', '16'],
      [new Date(start + MIN).toISOString(), '1m', 'CP001', '1', '200', '12000', '16', '0', '0', '16'],
    ]);
    expect((await get('/api/v1/history/connectors?chargerId=NOPE')).statusCode).toBe(404);
    expect((await get('/api/v1/history/connectors?connectorId=1')).statusCode).toBe(400);
    expect((await get('/api/v1/history/connectors?resolution=1s')).statusCode).toBe(400);
  });
});

describe('PATCH session: departure', () => {
  const url = '/api/v1/connectors/CP001/1/session';
  const patch = (payload: unknown) => api.inject({ method: 'PATCH', url, headers: { authorization: `Bearer ${token}` }, payload: payload as object });

  it('refuses a departure in the past with 400 and a message, and steers nothing', async () => {
    startSession(api.ctx, 'CP001', 1, 41);
    const updates: unknown[] = [];
    api.ctx.bus.on('session.update', (u) => updates.push(u));
    const res = await patch({ departure: '2020-01-01T00:00:00Z' });
    expect(res.statusCode).toBe(400);
    expect(res.json().issues.map((i: { path: string }) => i.path)).toEqual(['departure']);
    // In the site's time and words, not UTC ISO strings (T0 is 10:00 UTC, 11:00 in Berlin).
    expect(res.json().issues[0].message).toBe('1 Jan 2020, 01:00 (now 24 Nov 2026, 11:00, site time Europe/Berlin) is in the past; give a later time, or null to clear it');
    // A year typed as 9999 is a typo, not a plan.
    const far = await patch({ departure: '9999-12-31T23:59:00Z' });
    expect(far.statusCode).toBe(400);
    expect(far.json().issues[0].message).toContain('is more than a year ahead; check the year');
    expect(updates).toEqual([]);
    expect(api.store.audit.list({ action: 'session.update' })).toEqual([]);
    const now = await patch({ departure: new Date(T0).toISOString() });
    expect(now.statusCode).toBe(400);
  });

  it('takes a future departure, the charge mode, and shows the tag name', async () => {
    api.ctx.bus.emit('session.started', { chargerId: 'CP001', connectorId: 1, transactionId: 7, idTag: 'bus12', tier: 'fleet', startedAtMs: T0, meterStartWh: 0 });
    const res = await patch({ departure: new Date(T0 + 60 * MIN).toISOString(), chargeMode: 'pv' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().session).toMatchObject({ name: 'Bus 12', departure: new Date(T0 + 60 * MIN).toISOString() });
    expect((await patch({ chargeMode: 'turbo' })).statusCode).toBe(400);
  });
});

describe('a session energy, one definition for the table, the exports and the cost', () => {
  it('is the meter difference, unless the bill followed the register further (a stop reading that is not the session own)', async () => {
    const { sessionEnergyWh } = await import('../../src/api/session-rows.ts');
    expect(sessionEnergyWh({ meterStartWh: 1_000, meterStopWh: 13_400 }, { energyWh: 12_400 })).toBe(12_400);
    expect(sessionEnergyWh({ meterStartWh: 1_000, meterStopWh: 13_400 }, undefined)).toBe(12_400);
    // Closed when a new session started on a charger whose register restarted at 0: the meter says
    // nothing (0 - 1,000), the bill counted 1,130 Wh from the MeterValues, and charged for them.
    expect(sessionEnergyWh({ meterStartWh: 1_000, meterStopWh: 0 }, { energyWh: 1_130 })).toBe(1_130);
    expect(sessionEnergyWh({ meterStartWh: 1_000 }, undefined)).toBeNull();
    expect(sessionEnergyWh({ meterStartWh: 1_000 }, { energyWh: 450 })).toBe(450);
  });
});
