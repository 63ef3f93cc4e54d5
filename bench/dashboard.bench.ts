// Dashboard: bundle size (raw and gzip; what the first page load fetches vs lazy chunks) and
// first load time in headless Chromium against the demo EMS on loopback.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { buildDashboard, dashboardDistDir } from '../dashboard/build.ts';
import { loadConfigFile } from '../src/config-file.ts';
import { ScaledClock } from '../src/demo/scaled-clock.ts';
import { startDemoSite } from '../src/demo/demo-site.ts';
import { silentLogger } from '../src/log.ts';
import type { BenchTable } from './types.ts';
import { percentile } from './measure.ts';

const RUNS = 10;

/** Files the first load fetches: index.html, app.css, app.js and the chunks it imports statically. */
function initialFiles(dir: string): string[] {
  const seen = new Set<string>(['index.html', 'app.css']);
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(join(dir, file), 'utf8');
    const base = file.includes('/') ? file.slice(0, file.lastIndexOf('/') + 1) : '';
    for (const m of text.matchAll(/(?:from|import)\s*"(\.\/[^"]+\.js)"/g)) visit(join(base, m[1]).replace(/^\.\//, ''));
  };
  visit('app.js');
  return [...seen];
}

export default async function bench(): Promise<BenchTable[]> {
  const { files } = await buildDashboard();
  const initial = new Set(initialFiles(dashboardDistDir));
  const shipped = files.filter((f) => /\.(js|css|html)$/.test(f.path));
  const rows = shipped
    .map((f) => {
      const raw = readFileSync(join(dashboardDistDir, f.path));
      return { path: f.path, bytes: raw.length, gzip: gzipSync(raw, { level: 9 }).length, first: initial.has(f.path) };
    })
    .sort((a, b) => Number(b.first) - Number(a.first) || b.bytes - a.bytes);
  const sum = (list: typeof rows, key: 'bytes' | 'gzip') => list.reduce((s, r) => s + r[key], 0);
  const firstRows = rows.filter((r) => r.first);
  const lazyRows = rows.filter((r) => !r.first);
  const sizeTable: BenchTable = {
    title: 'Dashboard bundle size',
    columns: ['file', 'loaded', 'bytes', 'gzip bytes'],
    rows: [
      ...rows.map((r) => [r.path, r.first ? 'first load' : 'on demand', r.bytes, r.gzip]),
      ['total, first load', '', sum(firstRows, 'bytes'), sum(firstRows, 'gzip')],
      ['total, on demand (history chart, settings editor)', '', sum(lazyRows, 'bytes'), sum(lazyRows, 'gzip')],
    ],
    notes: ['The history chart (uPlot) loads when History is opened; the YAML editor and the config schema when an admin opens Settings.'],
  };

  const dataDir = mkdtempSync(join(tmpdir(), 'ems-dash-bench-'));
  const savedPassword = process.env.EMS_ADMIN_PASSWORD;
  process.env.EMS_ADMIN_PASSWORD = 'bench-admin-pass';
  const example = loadConfigFile(join(process.cwd(), 'config/examples/demo.yaml'));
  const config = {
    ...example,
    http: { ...example.http, host: '127.0.0.1', port: 0 },
    ocpp: { ...example.ocpp, host: '127.0.0.1', port: 0 },
    storage: { path: join(dataDir, 'ems.sqlite') },
  };
  const demo = await startDemoSite({ config, log: silentLogger, clock: new ScaledClock(1), initialOccupancy: 1 });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const loginMs: number[] = [];
  const dclMs: number[] = [];
  const overviewMs: number[] = [];
  const loginRequestMs: number[] = [];
  const transferred: number[] = [];
  try {
    if (demo.app.httpPort === undefined) throw new Error('the demo EMS has no HTTP service (src/app.ts wires createHttpService)');
    const base = `http://127.0.0.1:${demo.app.httpPort}`;
    for (let i = 0; i < RUNS + 1; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      let bytes = 0;
      page.on('response', async (response) => {
        const length = Number((await response.allHeaders())['content-length'] ?? 0);
        if (!response.url().includes('/api/')) bytes += length;
      });
      const started = performance.now();
      await page.goto(`${base}/`, { waitUntil: 'domcontentloaded' });
      const dcl = performance.now() - started;
      await page.getByRole('button', { name: 'Log in' }).waitFor();
      const login = performance.now() - started;
      await page.getByLabel('Username').fill('admin');
      await page.getByLabel('Password').fill('bench-admin-pass');
      const clicked = performance.now();
      const loginAnswer = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/login')).then(() => performance.now() - clicked);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.locator('[data-connector] [data-testid="cap"]').first().waitFor();
      const overview = performance.now() - clicked;
      const loginRequest = await loginAnswer;
      await context.close();
      if (i === 0) continue; // warm-up: Chromium's own first start
      dclMs.push(dcl);
      loginMs.push(login);
      overviewMs.push(overview);
      loginRequestMs.push(loginRequest);
      transferred.push(bytes);
    }
  } finally {
    await browser.close();
    await demo.stop();
    if (savedPassword === undefined) delete process.env.EMS_ADMIN_PASSWORD;
    else process.env.EMS_ADMIN_PASSWORD = savedPassword;
    rmSync(dataDir, { recursive: true, force: true });
  }
  const row = (name: string, values: number[]) => [name, RUNS, Math.round(percentile(values, 50)), Math.round(percentile(values, 95)), Math.round(Math.max(...values))];
  const loadTable: BenchTable = {
    title: 'Dashboard first load on loopback (headless Chromium, empty cache per run, demo EMS with 8 chargers)',
    columns: ['step', 'runs', 'median ms', 'p95 ms', 'max ms'],
    rows: [
      row('navigation to DOMContentLoaded', dclMs),
      row('navigation to login form ready', loginMs),
      row('"Log in" click to overview with connector caps', overviewMs),
      row('  of which the login request (password hash check on the EMS)', loginRequestMs),
    ],
    notes: [`static bytes transferred per first load (uncompressed, as served): ${Math.round(percentile(transferred, 50))}`],
  };
  return [sizeTable, loadTable];
}
