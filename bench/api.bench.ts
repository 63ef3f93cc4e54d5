// API latency under a bounded open-loop load (200 req/s for 10 s) against a real demo EMS in its
// own process, and the control loop's cycle time with and without that load.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchTable } from './types.ts';

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

export default async function apiBench(): Promise<BenchTable[]> {
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
