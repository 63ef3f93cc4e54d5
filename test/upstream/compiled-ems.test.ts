// The compiled EMS (`npm run build` → dist/, what `npm start` and deploy/ run, #14: no TypeScript
// loader in production) as a user starts it: its own process, no tsx. It must find every file the
// sources find beside them (src/package-root.ts): the database migrations run, the dashboard's
// pages are served, OCPP's strict schemas validate a real charger's frames, the planner's worker
// loads its compiled code, and a build older than its sources refuses to start.
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEms, type EmsProcess } from '../helpers/ems-process.ts';
import { TestCharger } from '../helpers/test-charger.ts';
import { waitFor } from '../helpers/wait-for.ts';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
// Inside the package (the built code finds the package's files by walking up to package.json).
const OUT = join(ROOT, 'test-artifacts', `dist-compiled-ems-${process.pid}`);
const ENTRY = join(OUT, 'bin', 'ems.js');
const PASSWORD = 'compiled-test-password-1';

let ems: EmsProcess | undefined;
let charger: TestCharger | undefined;

beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, 'scripts/build-dist.mjs'), '--out', OUT], { cwd: ROOT, stdio: 'pipe', timeout: 180_000 });
}, 200_000);

afterAll(async () => {
  await charger?.client.close({ force: true }).catch(() => undefined);
  if (ems?.alive()) {
    ems.kill('SIGTERM');
    await ems.exited;
  }
  rmSync(OUT, { recursive: true, force: true });
}, 60_000);

async function api(path: string, token?: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${ems!.httpPort}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
}

describe('the compiled EMS (dist/bin/ems.js)', () => {
  it('runs without a TypeScript loader: migrations, dashboard, strict OCPP schemas and the planner worker all work from dist/', async () => {
    ems = await startEms(
      {
        site: { name: 'Compiled', timezone: 'Europe/Berlin' },
        grid: { maxCurrent: 63 },
        chargers: [{ id: 'CP1', maxCurrent: 32 }],
        idTags: [{ idTag: 'TAG1', tier: 'staff' }],
      },
      { EMS_ADMIN_PASSWORD: PASSWORD },
      { entry: ENTRY },
    );
    // Nothing of the sources is loaded: the process runs dist/ (a .ts import would fail without tsx).
    expect(ems.child.spawnargs[1]).toBe(ENTRY);

    // Migrations ran from the compiled storage code: the schema is at the last migration.
    const db = new Database(join(ems.dir, 'ems.sqlite'), { readonly: true, fileMustExist: true });
    try {
      const { v } = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number };
      expect(v).toBe(14);
    } finally {
      db.close();
    }

    // The dashboard (dashboard/dist, found from the package root) and its script.
    const page = await api('/');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toMatch(/<!doctype html>/i);
    const script = /src="\/?([^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    expect((await api(`/${script}`)).status).toBe(200);

    // A strict 1.6 charger: its frames and the EMS's answers and profiles are checked against the
    // OCPP schemas on both sides; a session started gets its TxProfile from the compiled dispatcher.
    charger = new TestCharger('CP1', `ws://127.0.0.1:${ems.ocppPort}/ocpp`);
    await charger.connect();
    const transactionId = await charger.startTransaction(1, 'TAG1');
    await waitFor(
      () => charger!.received.some((c) => c.method === 'SetChargingProfile' && c.params.csChargingProfiles?.transactionId === transactionId),
      'a TxProfile for the transaction',
      120_000,
    );

    // The planner's worker thread loads its compiled code (src/planner/plan-worker-boot.mjs, rewritten by the build).
    const login = await fetch(`http://127.0.0.1:${ems.httpPort}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: PASSWORD }),
    });
    expect(login.status).toBe(200);
    const { token } = (await login.json()) as { token: string };
    const plan = await waitFor(
      async () => {
        const view = (await (await api('/api/v1/plan', token)).json()) as { plans?: number; failures?: number; lastError?: string | null };
        return (view.plans ?? 0) > 0 || (view.failures ?? 0) > 0 ? view : undefined;
      },
      'the planner to finish its first plan',
      180_000,
    );
    expect(plan.failures ?? 0, plan.lastError ?? '').toBe(0);
    expect(ems.stderr()).not.toMatch(/ERR_MODULE_NOT_FOUND|ERR_UNKNOWN_FILE_EXTENSION/);
  }, 400_000);

  it('refuses to start from a build older than its sources', () => {
    writeFileSync(join(OUT, 'source-stamp.txt'), 'a build of other sources\n');
    const run = spawnSync(process.execPath, [ENTRY, 'check-config', join(ROOT, 'config/examples/demo.yaml')], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('older than its sources: run `npm run build`');
  }, 150_000);
});
