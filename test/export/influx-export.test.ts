import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDB, type IPoint } from 'influx';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema, influxSchema, type Config } from '../../config/schema.ts';
import type { Decision } from '../../optimizer/types.ts';
import { Bus } from '../../src/bus.ts';
import { ManualClock } from '../../src/clock.ts';
import { createInfluxExport, type InfluxExport } from '../../src/export/influx-export.ts';
import { silentLogger } from '../../src/log.ts';
import type { ServiceContext } from '../../src/service.ts';
import { SiteState } from '../../src/state/site-state.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';

const T0 = Date.UTC(2026, 10, 24, 12, 0, 0);

function makeCtx(): ServiceContext {
  const config: Config = configSchema.parse({
    site: { name: 'Influx Depot' },
    grid: { maxCurrent: 63, meter: 'grid' },
    chargers: [{ id: 'CP001' }, { id: 'CP002' }],
    devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
  });
  const bus = new Bus(silentLogger);
  return { config, bus, log: silentLogger, clock: new ManualClock(T0), state: new SiteState(config, bus) };
}

function decision(atMs: number): Decision {
  return {
    atMs,
    failsafe: false,
    nextState: { connectors: {} },
    headroom: { limitA: [60, 60, 60], headroomA: [10, 11, 12], buildingA: [5, 5, 5], binding: { kind: 'grid-current', phase: 'L1', text: 'grid connection 60 A on L1' } },
    caps: [
      { chargerId: 'CP001', connectorId: 1, currentA: 16, phases: 3, reason: { kind: 'charger', text: 'charger max' } },
      { chargerId: 'CP002', connectorId: 1, currentA: 0, phases: 3, reason: { kind: 'idle', text: 'no car' } },
    ],
  };
}
// One sample = 1 site + 2 connectors + 1 device point.
const POINTS_PER_SAMPLE = 4;

const options = (extra: Record<string, unknown> = {}) =>
  influxSchema.parse({ url: 'http://127.0.0.1:1', database: 'ems', sampleIntervalMs: 1000, flushIntervalMs: 60_000, ...extra });

describe('influx export buffering', () => {
  let ctx: ServiceContext;
  let exporter: InfluxExport | undefined;
  beforeEach(() => {
    ctx = makeCtx();
  });
  afterEach(async () => {
    await exporter?.stop();
    exporter = undefined;
  });

  it('keeps at most maxBufferPoints while InfluxDB is down, drops the oldest and counts them, then sends the rest in order', async () => {
    let up = false;
    const received: IPoint[] = [];
    exporter = createInfluxExport(ctx, options({ maxBufferPoints: 100, batchSize: 1000 }), {
      writer: async (points) => {
        if (!up) throw new Error('connection refused');
        received.push(...points);
      },
    });
    await exporter.start();
    for (let s = 0; s < 50; s++) ctx.bus.emit('decision', decision(T0 + s * 1000));
    expect(exporter.stats.buffered).toBe(100);
    expect(exporter.stats.dropped).toBe(50 * POINTS_PER_SAMPLE - 100);
    await exporter.flush();
    expect(exporter.stats.failedWrites).toBe(1);
    expect(exporter.stats.lastError).toMatch(/connection refused/);
    expect(exporter.stats.buffered).toBe(100);
    up = true;
    await exporter.stop(); // stop() makes a last attempt regardless of backoff
    exporter = undefined;
    expect(received).toHaveLength(100);
    expect(received[0].timestamp).toBe(T0 + 25 * 1000); // the 25 newest samples survived, oldest first
    expect(received.at(-1)!.timestamp).toBe(T0 + 49 * 1000);
  });

  it('takes one sample per interval, not one per decision', async () => {
    exporter = createInfluxExport(ctx, options({ sampleIntervalMs: 10_000 }), { writer: async () => {} });
    await exporter.start();
    for (let s = 0; s < 30; s++) ctx.bus.emit('decision', decision(T0 + s * 1000));
    expect(exporter.stats.buffered).toBe(3 * POINTS_PER_SAMPLE);
  });

  it('gives up on a write that hangs after the timeout and keeps its points, while decisions keep flowing', async () => {
    exporter = createInfluxExport(ctx, options({ timeoutMs: 100 }), { writer: () => new Promise<void>(() => {}) });
    await exporter.start();
    ctx.bus.emit('decision', decision(T0));
    const flushing = exporter.flush();
    // The control side is not blocked: more decisions are taken in while the write hangs.
    ctx.bus.emit('decision', decision(T0 + 1000));
    expect(exporter.stats.buffered).toBe(2 * POINTS_PER_SAMPLE); // the hanging batch counts as not written
    await flushing;
    expect(exporter.stats.lastError).toMatch(/did not answer within 100 ms/);
    expect(exporter.stats.buffered).toBe(2 * POINTS_PER_SAMPLE);
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describeWithPeer('influxd', hasCommand('influxd'), 'influx export to a real InfluxDB 1.x', () => {
  let dir: string;
  let influxd: ChildProcess;
  let httpPort: number;
  let client: InfluxDB;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ems-influxd-'));
    httpPort = await freePort();
    const rpcPort = await freePort();
    writeFileSync(
      join(dir, 'influxdb.conf'),
      [
        'reporting-disabled = true',
        `bind-address = "127.0.0.1:${rpcPort}"`,
        '[meta]',
        `  dir = "${dir}/meta"`,
        '[data]',
        `  dir = "${dir}/data"`,
        `  wal-dir = "${dir}/wal"`,
        '  query-log-enabled = false',
        '[http]',
        `  bind-address = "127.0.0.1:${httpPort}"`,
        '  log-enabled = false',
        '[monitor]',
        '  store-enabled = false',
        '[continuous_queries]',
        '  enabled = false',
      ].join('\n'),
    );
    influxd = spawn('influxd', ['-config', join(dir, 'influxdb.conf')], { stdio: 'ignore' });
    client = new InfluxDB({ host: '127.0.0.1', port: httpPort, database: 'ems' });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const [ping] = await client.ping(500).catch(() => [{ online: false }]);
      if (ping?.online) break;
      if (Date.now() > deadline) throw new Error('influxd did not start within 30 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    await client.createDatabase('ems');
  });

  afterAll(() => {
    influxd?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes site, connector and device points that InfluxDB answers back', async () => {
    const ctx = makeCtx();
    ctx.bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs: T0, powerW: 12_345, currentA: [18, 18, 18] });
    ctx.bus.emit('connector.meter', { chargerId: 'CP001', connectorId: 1, atMs: T0, currentA: [15, 15.5, 15.2], powerW: 10_500 });
    const exporter = createInfluxExport(ctx, options({ url: `http://127.0.0.1:${httpPort}` }));
    await exporter.start();
    for (let s = 0; s < 5; s++) ctx.bus.emit('decision', decision(T0 + s * 1000));
    await exporter.stop();
    expect(exporter.stats).toMatchObject({ written: 5 * POINTS_PER_SAMPLE, buffered: 0, dropped: 0 });

    const site = await client.query<{ grid_power_w: number; grid_import_w: number; grid_export_w: number; ev_power_w: number; headroom_l2_a: number; failsafe: boolean }>(
      'SELECT * FROM ems_site ORDER BY time',
    );
    expect(site).toHaveLength(5);
    expect(site[0]).toMatchObject({ grid_power_w: 12_345, grid_import_w: 12_345, grid_export_w: 0, ev_power_w: 10_500, headroom_l2_a: 11, failsafe: false });
    expect(site[0].time.getTime()).toBe(T0);
    const caps = await client.query<{ cap_a: number; draw_a: number; charger: string; reason: string }>(
      `SELECT cap_a, draw_a, charger, reason FROM ems_connector WHERE charger = 'CP001'`,
    );
    expect(caps[0]).toMatchObject({ cap_a: 16, draw_a: 15.5, charger: 'CP001', reason: 'charger' });
  });

  it('buffers while InfluxDB is unreachable and delivers once it is back', async () => {
    const ctx = makeCtx();
    const deadPort = await freePort();
    let url = `http://127.0.0.1:${deadPort}`;
    const live = new InfluxDB({ host: '127.0.0.1', port: httpPort, database: 'ems' });
    const dead = new InfluxDB({ host: '127.0.0.1', port: deadPort, database: 'ems', pool: { maxRetries: 0, requestTimeout: 1000 } });
    const exporter = createInfluxExport(ctx, options({ measurementPrefix: 'outage_' }), {
      writer: (points) => (url.endsWith(String(httpPort)) ? live : dead).writePoints(points, { precision: 'ms' }),
    });
    await exporter.start();
    for (let s = 0; s < 3; s++) ctx.bus.emit('decision', decision(T0 + s * 1000));
    await exporter.flush();
    expect(exporter.stats.failedWrites).toBe(1);
    expect(exporter.stats.buffered).toBe(3 * POINTS_PER_SAMPLE);
    url = `http://127.0.0.1:${httpPort}`;
    await exporter.stop();
    const rows = await client.query('SELECT * FROM outage_site');
    expect(rows).toHaveLength(3);
  });
});
