// A stalled InfluxDB (accepts the connection, never answers) while the whole EMS runs: the control
// loop keeps deciding, the export times out, buffers, and says so in /metrics.
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { startApp, type App } from '../../src/app.ts';
import { silentLogger } from '../../src/log.ts';

let app: App | undefined;
let stalled: Server | undefined;
const sockets = new Set<Socket>();

afterEach(async () => {
  await app?.stop();
  app = undefined;
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => (stalled ? stalled.close(() => r()) : r()));
});

async function until(probe: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe('a stalled InfluxDB', () => {
  it('never holds up control decisions', async () => {
    stalled = createServer((socket) => {
      sockets.add(socket); // read nothing, answer nothing
    });
    await new Promise<void>((r) => stalled!.listen(0, '127.0.0.1', () => r()));
    const port = (stalled.address() as { port: number }).port;
    const config = configSchema.parse({
      grid: { maxCurrent: 63 },
      chargers: [{ id: 'CP001' }],
      control: { intervalMs: 100 },
      ocpp: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      storage: { path: ':memory:' },
      influx: { url: `http://127.0.0.1:${port}`, database: 'ems', sampleIntervalMs: 1000, flushIntervalMs: 100, timeoutMs: 300 },
    });
    const saved = process.env.EMS_ADMIN_PASSWORD;
    process.env.EMS_ADMIN_PASSWORD = 'stall-test-password'; // no setup token printed
    try {
      app = await startApp({ config, log: silentLogger });
    } finally {
      if (saved === undefined) delete process.env.EMS_ADMIN_PASSWORD;
      else process.env.EMS_ADMIN_PASSWORD = saved;
    }
    const metrics = async () => (await fetch(`http://127.0.0.1:${app!.httpPort}/metrics`)).text();
    expect(await until(async () => /ems_influx_write_errors_total [1-9]/.test(await metrics()), 10_000)).toBe(true);
    const cyclesAtFailure = app.control.stats.cycles;
    // While every write hangs until its timeout, cycles keep coming at the control interval.
    expect(await until(() => app!.control.stats.cycles >= cyclesAtFailure + 10, 10_000)).toBe(true);
    expect(await metrics()).toMatch(/ems_influx_points_buffered [1-9]/);
  }, 90_000);
});
