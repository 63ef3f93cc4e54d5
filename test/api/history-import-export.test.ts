// Grid import and export are the same energy at every resolution of the history, on a site that
// swings between them inside a minute: +20 kW for 20 s, then −10 kW for 40 s, every minute. Each
// minute's net mean is 0 W, so history that averages the net grid power (session 8's) answers no
// import and no export at 1 min and 15 min, while 1 s has 111.1 Wh of each per minute.
//
// The EMS's own services on the bus, over a SQLite file: the grid meter's readings as its driver
// emits them, the control loop's cycles (once a second), the history recorder, the tariff service
// (today's KPIs) and the HTTP service, all on one manual clock. Asked at the boundary: GET
// /api/v1/history (JSON and CSV) at 1 s, 1 min and 15 min, and GET /api/v1/kpis. The EMS is
// stopped and started again on the same file in the middle of a minute and of a quarter hour.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { createHttpService, type HttpService } from '../../src/api/http-service.ts';
import { Bus } from '../../src/bus.ts';
import { ManualClock } from '../../src/clock.ts';
import { createControlLoop, type ControlLoop } from '../../src/control/control-loop.ts';
import { silentLogger } from '../../src/log.ts';
import type { Service, ServiceContext } from '../../src/service.ts';
import { SiteState } from '../../src/state/site-state.ts';
import { createHistoryRecorder } from '../../src/storage/history-recorder.ts';
import { migrate, migrations } from '../../src/storage/migrations.ts';
import { openStorage } from '../../src/storage/open-storage.ts';
import type { Storage } from '../../src/storage/types.ts';
import { createTariffService } from '../../src/tariffs/tariff-service.ts';
import { RESOLUTION_MS, summarizeHistory } from '../../dashboard/src/history-summary.ts';
import { historyPoints } from '../../dashboard/src/normalize.ts';

const PASSWORD = 'history-split-pass-1';
const MIN = 60_000;
// 10:00:30 UTC (11:00:30 in Berlin): the run starts half way through a minute and two minutes into
// no quarter, so its first minute and first quarter are partly recorded.
const START = Date.parse('2026-11-24T10:00:30Z');
const dir = mkdtempSync(join(tmpdir(), 'ems-history-split-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The grid meter: +20 kW for the first 20 s of every minute, −10 kW (export) for the other 40 s. */
const gridPowerW = (atMs: number) => (Math.floor(atMs / 1000) % 60 < 20 ? 20_000 : -10_000);

class Ems {
  readonly bus = new Bus(silentLogger);
  readonly store: Storage;
  readonly http: HttpService;
  readonly control: ControlLoop;
  private readonly services: Service[];
  private token = '';

  private constructor(readonly clock: ManualClock, dbPath: string) {
    const config = configSchema.parse({
      site: { name: 'Swing Depot', timezone: 'Europe/Berlin' },
      grid: { maxCurrent: 100, meter: 'grid' },
      control: { intervalMs: 1000 },
      chargers: [{ id: 'CP1', maxCurrent: 32 }],
      devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
      storage: { path: dbPath },
      tariffs: { import: { default: 0.3 }, export: { default: 0.1 } },
      http: { host: '127.0.0.1', port: 0 },
    });
    const ctx: ServiceContext = { config, bus: this.bus, log: silentLogger, clock, state: new SiteState(config, this.bus) };
    this.store = openStorage(dbPath, clock);
    const tariffs = createTariffService(ctx, { peakSource: this.store.peaks, kpiStore: this.store.kpiDays, billsFilePath: join(dir, 'bills.jsonl') });
    this.control = createControlLoop(ctx, { applyCaps: async (caps) => ({ sent: caps.length, unconfirmedDecreases: 0 }) });
    this.services = [tariffs, createHistoryRecorder(ctx, this.store)];
    this.http = createHttpService(ctx, { store: this.store, economics: tariffs, processMetrics: false, auth: { env: { EMS_ADMIN_PASSWORD: PASSWORD }, print: () => {}, scryptN: 1 << 10 } });
  }

  static async start(clock: ManualClock, dbPath: string): Promise<Ems> {
    const ems = new Ems(clock, dbPath);
    for (const s of ems.services) await s.start();
    await ems.http.ready();
    await ems.http.auth.bootstrap();
    const login = await ems.http.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin', password: PASSWORD } });
    ems.token = login.json().token;
    return ems;
  }

  /** One reading a second from the grid meter and a control cycle after it, for [fromMs, toMs). */
  async run(fromMs: number, toMs: number, onSample: (atMs: number, powerW: number) => void): Promise<void> {
    for (let atMs = fromMs; atMs < toMs; atMs += 1000) {
      this.clock.set(atMs);
      const powerW = gridPowerW(atMs);
      const a = powerW / 690;
      this.bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs, powerW, currentA: [a, a, a] });
      const decision = await this.control.runCycle();
      expect(decision?.atMs).toBe(atMs);
      onSample(atMs, powerW);
    }
  }

  get(url: string) {
    return this.http.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${this.token}` } });
  }

  async stop(): Promise<void> {
    await this.control.stop();
    for (const s of [...this.services].reverse()) await s.stop();
    await this.http.stop();
    this.store.close();
  }
}

const parseCsv = (text: string) =>
  text
    .trim()
    .split(/\r?\n/)
    .map((line) => line.split(','));

describe('grid import and export in the history', () => {
  it('are the same kWh at 1 s, 1 min and 15 min (JSON, CSV and the History page figures) on a grid that swings within each minute, across a restart', async () => {
    const clock = new ManualClock(START);
    const dbPath = join(dir, 'swing.sqlite');
    // The integral of the 1 s samples the recorder took: each holds for its second.
    const integral = { importWh: 0, exportWh: 0, samples: 0 };
    const onSample = (_atMs: number, powerW: number) => {
      integral.importWh += Math.max(0, powerW) / 3600;
      integral.exportWh += Math.max(0, -powerW) / 3600;
      integral.samples++;
    };
    // 16 min 7 s, a stop and a start on the same database in the middle of a minute and of the
    // second quarter hour, then 17 min more: two whole quarters, parts of two others, the minute
    // and the quarter in progress not rolled up yet.
    const restartAtMs = START + 16 * MIN + 7_000;
    const endMs = restartAtMs + 17 * MIN;
    const first = await Ems.start(clock, dbPath);
    await first.run(START, restartAtMs, onSample);
    await first.stop();
    const ems = await Ems.start(clock, dbPath);
    await ems.run(restartAtMs, endMs, onSample);
    expect(integral.samples).toBe((endMs - START) / 1000);
    // The swing really nets out: 33 min at 111.1 Wh of import and of export each.
    expect(integral.importWh).toBeGreaterThan(3_500);
    expect(integral.exportWh).toBeGreaterThan(3_500);

    const nowMs = endMs - 1000;
    const from = START - 30 * MIN;
    const to = nowMs + 1;
    for (const resolution of ['1s', '1m', '15m'] as const) {
      const res = await ems.get(`/api/v1/history?resolution=${resolution}&from=${from}&to=${to}`);
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json() as { sampleMs: number; totals: { gridImportWh: number; gridExportWh: number; gridNettedSamples: number }; points: { gridImportWh: number; gridExportWh: number }[] };
      // The answer's own totals and the sum of its points.
      expect(body.totals.gridImportWh, `${resolution} import total`).toBeCloseTo(integral.importWh, 6);
      expect(body.totals.gridExportWh, `${resolution} export total`).toBeCloseTo(integral.exportWh, 6);
      expect(body.totals.gridNettedSamples, `${resolution} netted`).toBe(0);
      expect(body.points.reduce((s, p) => s + p.gridImportWh, 0), `${resolution} import points`).toBeCloseTo(integral.importWh, 6);
      expect(body.points.reduce((s, p) => s + p.gridExportWh, 0), `${resolution} export points`).toBeCloseTo(integral.exportWh, 6);
      // What the History page shows under the chart, from the same answer.
      const page = summarizeHistory(historyPoints(body), undefined, RESOLUTION_MS[resolution], body.sampleMs);
      expect(page.importEnergyWh, `${resolution} Grid import on the page`).toBeCloseTo(integral.importWh, 6);
      expect(page.exportEnergyWh, `${resolution} Grid export on the page`).toBeCloseTo(integral.exportWh, 6);
      // The CSV export: its Wh columns summed (rounded to 0.1 mWh per row).
      const csv = await ems.get(`/api/v1/history?format=csv&resolution=${resolution}&from=${from}&to=${to}`);
      expect(csv.statusCode).toBe(200);
      const [header, ...rows] = parseCsv(csv.body);
      const col = (name: string) => header.indexOf(name);
      const sum = (name: string) => rows.reduce((s, r) => s + Number(r[col(name)]), 0);
      expect(rows.length, `${resolution} CSV rows`).toBe(body.points.length);
      expect(sum('gridImportWh'), `${resolution} CSV import`).toBeCloseTo(integral.importWh, 1);
      expect(sum('gridExportWh'), `${resolution} CSV export`).toBeCloseTo(integral.exportWh, 1);
      expect(sum('gridNettedSamples')).toBe(0);
    }
    // A whole minute at 1 min: 111.1 Wh each way, mean import 6.67 kW and export 6.67 kW, net 0.
    const minute = (await ems.get(`/api/v1/history?resolution=1m&from=${START + 5 * MIN - 30_000}&to=${START + 6 * MIN - 30_000}`)).json().points[0];
    expect(minute).toMatchObject({ samples: 60, gridSamples: 60, gridNettedSamples: 0 });
    expect(minute.gridPowerW).toBeCloseTo(0, 6);
    expect(minute.gridImportW).toBeCloseTo(20_000 / 3, 6);
    expect(minute.gridExportW).toBeCloseTo(20_000 / 3, 6);
    expect(minute.gridImportWh).toBeCloseTo(1000 / 9, 6);

    // Today's KPIs (the Today strip, the cost) split import and export per reading too. They hold a
    // reading until the next one, so they lack the second in progress and the one before the stop:
    // at most two samples (20 kW for 1 s is 5.6 Wh), never a minute's netting (111 Wh).
    const kpis = (await ems.get('/api/v1/kpis')).json();
    const twoSamplesWh = (2 * 20_000) / 3600 + 0.1;
    expect(Math.abs(kpis.today.gridImportWh - integral.importWh)).toBeLessThanOrEqual(twoSamplesWh);
    expect(Math.abs(kpis.today.gridExportWh - integral.exportWh)).toBeLessThanOrEqual(twoSamplesWh);
    await ems.stop();
  }, 120_000);
});

/**
 * A database as session 8's EMS left it (schema 13): 1 s rows, and every finished minute and
 * quarter hour rolled up the way it rolled them, as net means with their counts.
 */
function oldDatabase(path: string, fromMs: number, toMs: number): { importWh: number; exportWh: number } {
  const db = new Database(path);
  migrate(db, fromMs, migrations.filter((m) => m.version <= 13));
  const insert = db.prepare('INSERT INTO history_1s (at_ms, grid_power_w, pv_power_w, ev_power_w, limit_power_w, grid_l1_a, grid_l2_a, grid_l3_a, samples) VALUES (?, ?, 2000, 5000, 69000, ?, ?, ?, 1)');
  const exact = { importWh: 0, exportWh: 0 };
  db.transaction(() => {
    for (let atMs = fromMs; atMs < toMs; atMs += 1000) {
      const powerW = gridPowerW(atMs);
      insert.run(atMs, powerW, powerW / 690, powerW / 690, powerW / 690);
      exact.importWh += Math.max(0, powerW) / 3600;
      exact.exportWh += Math.max(0, -powerW) / 3600;
    }
  })();
  const columns = ['grid_power_w', 'pv_power_w', 'battery_power_w', 'ev_power_w', 'building_power_w', 'limit_power_w', 'grid_l1_a', 'grid_l2_a', 'grid_l3_a'];
  const rollup = (from: string, to: string, stepMs: number, count: (c: string) => string, untilMs: number) =>
    db.exec(`INSERT INTO ${to} (at_ms, ${columns.join(', ')}, ${columns.map((c) => `${c}_n`).join(', ')}, samples)
      SELECT (at_ms / ${stepMs}) * ${stepMs}, ${columns.map((c) => `SUM(${c} * ${count(c)}) / NULLIF(SUM(${count(c)}), 0)`).join(', ')},
        ${columns.map((c) => `SUM(${count(c)})`).join(', ')}, SUM(samples)
      FROM ${from} WHERE at_ms < ${untilMs} GROUP BY at_ms / ${stepMs}`);
  rollup('history_1s', 'history_1m', MIN, (c) => `(CASE WHEN ${c} IS NULL THEN 0 ELSE 1 END)`, Math.floor(toMs / MIN) * MIN);
  rollup('history_1m', 'history_15m', 15 * MIN, (c) => `${c}_n`, Math.floor(toMs / (15 * MIN)) * 15 * MIN);
  db.close();
  return exact;
}

describe('a database from before import and export were kept apart', () => {
  it('is upgraded with nothing lost: 1 s rows split exactly, older minutes keep their net mean and are marked netted, newer ones are exact', async () => {
    const dbPath = join(dir, 'schema-13.sqlite');
    const upgradeAtMs = START + 20 * MIN;
    const old = oldDatabase(dbPath, START, upgradeAtMs);
    const columns = 'at_ms, grid_power_w, pv_power_w, battery_power_w, ev_power_w, building_power_w, limit_power_w, grid_l1_a, grid_l2_a, grid_l3_a, samples';
    const snapshot = () => {
      const db = new Database(dbPath, { readonly: true });
      const rows = Object.fromEntries(['history_1s', 'history_1m', 'history_15m'].map((t) => [t, db.prepare(`SELECT ${columns} FROM ${t} ORDER BY at_ms`).all()]));
      db.close();
      return rows;
    };
    const before = snapshot();
    expect(before.history_1m).toHaveLength(20);
    expect(before.history_15m).toHaveLength(1);

    const clock = new ManualClock(upgradeAtMs);
    const ems = await Ems.start(clock, dbPath);
    const db = new Database(dbPath, { readonly: true });
    expect(db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get()).toEqual({ v: migrations.at(-1)!.version });
    db.close();
    // Every value the old EMS recorded is still there, unchanged.
    expect(snapshot()).toEqual(before);

    const range = `from=${START - 30 * MIN}&to=${upgradeAtMs}`;
    type Answer = { totals: { gridImportWh: number; gridExportWh: number; gridNettedSamples: number }; points: { samples: number; gridNettedSamples: number }[] };
    const at = async (resolution: string, q: string) => (await ems.get(`/api/v1/history?resolution=${resolution}&${q}`)).json() as Answer;
    // 1 s rows are single readings: their split is exact.
    const seconds = await at('1s', range);
    expect(seconds.totals.gridImportWh).toBeCloseTo(old.importWh, 6);
    expect(seconds.totals.gridExportWh).toBeCloseTo(old.exportWh, 6);
    expect(seconds.totals.gridNettedSamples).toBe(0);
    // The old minutes keep what they read before (import = the net mean when positive) and say that
    // every one of their samples was netted; the minute in progress at the upgrade is made from its
    // 1 s rows, so it is exact.
    const minutes = await at('1m', range);
    const rolledSamples = (Math.floor(upgradeAtMs / MIN) * MIN - START) / 1000;
    expect(minutes.totals.gridNettedSamples).toBe(rolledSamples);
    expect(minutes.points.filter((p) => p.gridNettedSamples > 0).every((p) => p.gridNettedSamples === p.samples)).toBe(true);
    const netRead = (before.history_1m as { grid_power_w: number; samples: number }[]).reduce((s, r) => s + (Math.max(0, r.grid_power_w) * r.samples) / 3600, 0);
    expect(minutes.totals.gridImportWh).toBeCloseTo(netRead + gridWhOf(Math.floor(upgradeAtMs / MIN) * MIN, upgradeAtMs).importWh, 6);

    // After the upgrade: 20 min of the same swing, rolled by this EMS. The quarter that holds old and
    // new minutes counts only the old samples as netted; the new minutes are exact at every level.
    let newImportWh = 0;
    await ems.run(upgradeAtMs, upgradeAtMs + 20 * MIN, (_t, w) => (newImportWh += Math.max(0, w) / 3600));
    const newRange = `from=${Math.ceil(upgradeAtMs / MIN) * MIN}&to=${upgradeAtMs + 20 * MIN}`;
    const exactNew = gridWhOf(Math.ceil(upgradeAtMs / MIN) * MIN, upgradeAtMs + 20 * MIN);
    for (const resolution of ['1s', '1m']) {
      const answer = await at(resolution, newRange);
      expect(answer.totals.gridImportWh, resolution).toBeCloseTo(exactNew.importWh, 6);
      expect(answer.totals.gridExportWh, resolution).toBeCloseTo(exactNew.exportWh, 6);
      expect(answer.totals.gridNettedSamples, resolution).toBe(0);
    }
    // (The EMS re-rolls the last rolled minute from its 1 s rows when it starts, so that one is now
    // exact too: a minute fewer is netted.)
    const quarters = await at('15m', `from=${START - 30 * MIN}&to=${upgradeAtMs + 20 * MIN}`);
    expect(quarters.totals.gridNettedSamples).toBe(rolledSamples - 60);
    expect(newImportWh).toBeGreaterThan(0);
    await ems.stop();
  }, 120_000);
});

/** The exact import and export of the swing over [fromMs, toMs), one sample a second. */
function gridWhOf(fromMs: number, toMs: number) {
  const out = { importWh: 0, exportWh: 0 };
  for (let atMs = fromMs; atMs < toMs; atMs += 1000) {
    out.importWh += Math.max(0, gridPowerW(atMs)) / 3600;
    out.exportWh += Math.max(0, -gridPowerW(atMs)) / 3600;
  }
  return out;
}
