// The events list of a running EMS (startApp) holds the failsafe every start begins in, said as
// the start-up one, and then its end once the grid meter reads: never a "Failsafe off" alone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { startApp, type App } from '../../src/app.ts';
import { silentLogger } from '../../src/log.ts';
import { waitFor } from '../helpers/wait-for.ts';

const scratch = mkdtempSync(join(tmpdir(), 'ems-start-failsafe-'));
let app: App | undefined;
afterAll(async () => {
  await app?.stop();
  vi.unstubAllEnvs();
  rmSync(scratch, { recursive: true, force: true });
});

it('lists the start-up failsafe and its end, in that order', async () => {
  vi.stubEnv('EMS_ADMIN_PASSWORD', 'admin-password-1');
  const config = configSchema.parse({
    site: { name: 'Depot' },
    grid: { maxCurrent: 63, meter: 'grid' },
    chargers: [{ id: 'CP1', connectors: 1, maxCurrent: 32 }],
    devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
    ocpp: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    storage: { path: join(scratch, 'ems.sqlite') },
  });
  app = await startApp({ config, log: silentLogger });
  const base = `http://127.0.0.1:${app.httpPort}`;
  const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'admin-password-1' }) });
  const token = ((await login.json()) as { token: string }).token;
  const events = async () => ((await (await fetch(`${base}/api/v1/events`, { headers: { authorization: `Bearer ${token}` } })).json()) as { kind: string; severity: string; text: string }[]).filter((e) => e.kind === 'failsafe').reverse();
  const a = app;
  await waitFor(async () => (await events()).length >= 1, 'the first failsafe in the events list', 20_000);
  await waitFor(async () => {
    a.ctx.bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs: a.ctx.clock.nowMs(), powerW: 1000, currentA: [2, 2, 2] });
    return (await events()).length >= 2;
  }, 'the failsafe ends once the meter reads', 20_000);
  const [first, second] = await events();
  expect(first).toMatchObject({ severity: 'warning', text: expect.stringMatching(/^Failsafe on at start until site data comes: no grid meter reading/) });
  expect(second).toMatchObject({ severity: 'info', text: expect.stringMatching(/^Failsafe off/) });
}, 60_000);
