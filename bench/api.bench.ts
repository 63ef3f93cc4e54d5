// API latency under a bounded open-loop load (200 req/s for 10 s) against a real demo EMS in its
// own process, and the control loop's cycle time with and without that load.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configSchema } from '../config/schema.ts';
import { startApp } from '../src/app.ts';
import { silentLogger } from '../src/log.ts';
import { TestCharger } from '../test/helpers/test-charger.ts';
import type { BenchTable } from './types.ts';
import { until } from './measure.ts';

const BIN = fileURLToPath(new URL('../bin/ems.js', import.meta.url));
const RATE_PER_S = 200;
const DURATION_S = 10;
const PASSWORD = 'bench-password-1';

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

async function startDemo(cwd: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [BIN, 'demo', '--http-port', '0', '--ocpp-port', '0', '--quiet'], {
    cwd,
    env: { ...process.env, EMS_ADMIN_PASSWORD: PASSWORD, EMS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`demo did not start:\n${out}`)), 30_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = out.match(/Dashboard: http:\/\/[^:]+:(\d+)\//);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  return {
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

async function metric(base: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = text.match(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm'));
  return m ? Number(m[1]) : undefined;
}

/** Samples the last control cycle duration once a second for `ms`. */
async function sampleCycles(base: string, ms: number): Promise<number[]> {
  const values: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const v = await metric(base, 'ems_control_cycle_duration_seconds');
    if (v !== undefined) values.push(v * 1000);
    await new Promise((r) => setTimeout(r, 1000));
  }
  return values.sort((a, b) => a - b);
}

// A loader in its own process, so its work does not share the EMS's event loop: open-loop GETs
// at RATE per second until `count` are sent; prints {failed, sent} every second.
const LOADER = `
const [base, token, rate, count] = process.argv.slice(1);
const paths = ['/api/v1/state', '/api/v1/connectors', '/api/v1/circuits', '/api/v1/devices'];
let failed = 0; let sent = 0; const pending = []; const t0 = performance.now();
setInterval(() => console.log(JSON.stringify({ failed, sent })), 1000);
for (let i = 0; i < Number(count); i++) {
  const wait = t0 + (i * 1000) / Number(rate) - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  pending.push(fetch(base + paths[i % paths.length], { headers: { authorization: 'Bearer ' + token }, signal: AbortSignal.timeout(5000) })
    .then((r) => r.arrayBuffer().then(() => { if (!r.ok) failed++; })).catch(() => { failed++; }));
  sent++;
}
await Promise.all(pending);
console.log(JSON.stringify({ failed, sent }));
process.exit(0);
`;

const REACTION_STEPS = 16;

/** Grid-meter step → every charger holds its new profile, with or without API load alongside. */
async function reaction(chargerCount: number, withLoad: boolean): Promise<{ samples: number[]; loader?: { failed: number; sent: number } }> {
  const ids = Array.from({ length: chargerCount }, (_, i) => `CP${String(i + 1).padStart(4, '0')}`);
  const gridA = chargerCount * 20;
  const config = configSchema.parse({
    grid: { maxCurrent: gridA, meter: 'grid', safetyMargin: 0 },
    // Equal sharing: every charger's cap moves with every step.
    control: { intervalMs: 1000, priority: 'equal', profileMinIntervalMs: 0, minPauseMs: 0, unusedHoldMs: 3_600_000 },
    chargers: ids.map((id) => ({ id, connectors: 1, maxCurrent: 32, minCurrent: 6 })),
    idTags: ids.map((id) => ({ idTag: `TAG-${id}`, tier: 'staff' })),
    devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
    ocpp: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    storage: { path: ':memory:' },
  });
  const savedPassword = process.env.EMS_ADMIN_PASSWORD;
  process.env.EMS_ADMIN_PASSWORD = PASSWORD;
  const app = await startApp({ config, log: silentLogger });
  let buildingA = 0;
  const meter = () =>
    app.ctx.bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs: Date.now(), currentA: [buildingA, buildingA, buildingA], powerW: buildingA * 690 });
  meter();
  const keepFresh = setInterval(meter, 500);
  const chargers = ids.map((id) => new TestCharger(id, `ws://127.0.0.1:${app.ocppPort}/ocpp`));
  let loader: ReturnType<typeof spawn> | undefined;
  try {
    await Promise.all(chargers.map((c) => c.connect()));
    for (const c of chargers) await c.startTransaction(1, `TAG-${c.id}`);
    await until(() => chargers.every((c) => c.txLimitA(1) !== undefined), 20_000);
    let loaderOut = '';
    if (withLoad) {
      const base = `http://127.0.0.1:${app.httpPort}`;
      const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
      const { token } = (await login.json()) as { token: string };
      loader = spawn(process.execPath, ['--input-type=module', '-e', LOADER, base, token, String(RATE_PER_S), String(RATE_PER_S * 30)], { stdio: ['ignore', 'pipe', 'ignore'] });
      loader.stdout!.on('data', (d) => (loaderOut += d));
      await new Promise((r) => setTimeout(r, 1000)); // the load is running before the first step
    }
    const samples: number[] = [];
    for (let step = 0; step < REACTION_STEPS; step++) {
      const before = chargers.map((c) => c.txLimitA(1));
      buildingA = step % 2 === 0 ? gridA * 0.5 : 0;
      const t0 = performance.now();
      meter();
      if (!(await until(() => chargers.every((c, i) => c.txLimitA(1) !== before[i]), 3000))) continue;
      samples.push(Math.max(...chargers.map((c) => c.received.filter((r) => r.method === 'SetChargingProfile').at(-1)!.atMs)) - t0);
      await new Promise((r) => setTimeout(r, 300));
    }
    const last = loaderOut.trim().split('\n').at(-1);
    return { samples: samples.sort((a, b) => a - b), loader: last ? (JSON.parse(last) as { failed: number; sent: number }) : undefined };
  } finally {
    loader?.kill('SIGKILL');
    clearInterval(keepFresh);
    await Promise.all(chargers.map((c) => c.close().catch(() => undefined)));
    await app.stop();
    if (savedPassword === undefined) delete process.env.EMS_ADMIN_PASSWORD;
    else process.env.EMS_ADMIN_PASSWORD = savedPassword;
  }
}

export async function reactionTable(): Promise<BenchTable> {
  const idle = await reaction(50, false);
  const loaded = await reaction(50, true);
  const row = (name: string, r: { samples: number[] }) => [name, r.samples.length, quantile(r.samples, 0.5), quantile(r.samples, 0.99), r.samples.at(-1) ?? NaN];
  return {
    title: `Control reaction with the API idle and under ${RATE_PER_S} req/s from another process (50 chargers, ms)`,
    columns: ['API', 'steps', 'p50', 'p99', 'max'],
    rows: [row('idle', idle), row(`${RATE_PER_S} req/s`, loaded)],
    notes: [
      'reaction: a grid-meter step until every charger holds its new profile (strict OCPP clients on loopback)',
      loaded.loader ? `API requests sent during the run: ${loaded.loader.sent}, failed: ${loaded.loader.failed}` : 'the loader did not report',
    ],
  };
}

export default async function apiBench(): Promise<BenchTable[]> {
  return [...(await latencyTables()), await reactionTable()];
}

async function latencyTables(): Promise<BenchTable[]> {
  const cwd = mkdtempSync(join(tmpdir(), 'ems-api-bench-'));
  const demo = await startDemo(cwd);
  const base = `http://127.0.0.1:${demo.port}`;
  try {
    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: PASSWORD }),
    });
    const { token } = (await login.json()) as { token: string };
    const headers = { authorization: `Bearer ${token}` };
    // Let the simulated chargers connect (bounded), so the load meets a running site.
    const readyBy = performance.now() + 30_000;
    while (performance.now() < readyBy) {
      const state = (await (await fetch(`${base}/api/v1/state`, { headers })).json()) as { connectors: { online: boolean }[] };
      if (state.connectors.length && state.connectors.every((c) => c.online)) break;
      await new Promise((r) => setTimeout(r, 500));
    }

    const idleCycles = await sampleCycles(base, 5000);
    // What dashboards and API clients ask; /metrics is scraped separately (once a second), as Prometheus would.
    const paths = ['/api/v1/state', '/api/v1/state', '/api/v1/connectors', '/api/v1/devices', '/api/v1/circuits', '/api/v1/sessions', '/api/v1/history?resolution=1m'];
    const latencies: Record<string, number[]> = {};
    let errors = 0;
    const errorKinds: Record<string, number> = {};
    const fail = (kind: string) => {
      errors++;
      errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
    };
    const total = RATE_PER_S * DURATION_S;
    const started = performance.now();
    const inFlight: Promise<void>[] = [];
    const loadCycles = sampleCycles(base, DURATION_S * 1000);
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / RATE_PER_S;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const path = paths[i % paths.length];
      const t0 = performance.now();
      inFlight.push(
        fetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(5000) })
          .then(async (res) => {
            await res.arrayBuffer();
            if (!res.ok) fail(`HTTP ${res.status}`);
            (latencies[path.split('?')[0]] ??= []).push(performance.now() - t0);
          })
          .catch((error: Error & { cause?: { code?: string } }) => fail(error.cause?.code ?? error.name)),
      );
    }
    await Promise.all(inFlight);
    const elapsedS = (performance.now() - started) / 1000;
    const busyCycles = await loadCycles;

    const all = Object.values(latencies).flat().sort((a, b) => a - b);
    const rows: (string | number)[][] = Object.entries(latencies).map(([path, values]) => {
      const s = values.sort((a, b) => a - b);
      return [path, s.length, quantile(s, 0.5), quantile(s, 0.95), quantile(s, 0.99), s.at(-1)!];
    });
    rows.push(['all', all.length, quantile(all, 0.5), quantile(all, 0.95), quantile(all, 0.99), all.at(-1)!]);
    const p99 = quantile(all, 0.99);
    return [
      {
        title: `API latency under ${RATE_PER_S} req/s for ${DURATION_S} s (demo EMS in its own process, loopback, ms)`,
        columns: ['route', 'requests', 'p50', 'p95', 'p99', 'max'],
        rows,
        notes: [
          `achieved rate: ${(all.length / elapsedS).toFixed(0)} req/s; errors: ${errors}${errors ? ` (${JSON.stringify(errorKinds)})` : ''}`,
          `target: p99 < 50 ms — ${p99 < 50 ? 'met' : 'NOT met'} (p99 ${p99.toFixed(1)} ms)`,
        ],
      },
      {
        title: 'Control cycle duration (decide + send), sampled from /metrics once a second (ms)',
        columns: ['phase', 'samples', 'median', 'p95', 'max'],
        rows: [
          ['idle', idleCycles.length, quantile(idleCycles, 0.5), quantile(idleCycles, 0.95), idleCycles.at(-1) ?? NaN],
          [`under ${RATE_PER_S} req/s`, busyCycles.length, quantile(busyCycles, 0.5), quantile(busyCycles, 0.95), busyCycles.at(-1) ?? NaN],
        ],
        notes: ['the cycle includes sending profiles and waiting for the chargers to confirm decreases'],
      },
    ];
  } finally {
    await demo.stop();
    rmSync(cwd, { recursive: true, force: true });
  }
}
