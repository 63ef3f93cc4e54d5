// #9 measured case: a lower grid limit arrives while four cars charge on a 64 A site (building
// 10 A/phase). The new limit (48 A per phase = 33,120 W at 230 V) less the 5 % margin leaves
// 35.6 A for four cars: 8.9 A each, above their 6 A minimum, so NO car may be paused, and after
// the reaction window the TRUE grid current stays within the new limit. Once through the
// operator API (POST /api/v1/signals, then ended with DELETE), then through the MQTT site limit
// (real Mosquitto), on one site.
import mqtt from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MosquittoBroker } from '../fixtures/mosquitto.ts';
import { describeWithPeer, hasCommand, hasPythonModule } from '../helpers/peers.ts';
import { Ev } from '../fixtures/independent/ev.ts';
import { until } from '../fixtures/independent/ems-runner.ts';
import { Rig } from '../fixtures/independent/rig.ts';
import { elapse, figures, round1, type Sample } from '../fixtures/independent/site.ts';
import { REACTION_WINDOW_MS, report } from './acceptance-report.ts';

const FUSE_A = 64;
const LIMIT_A = 48;
const LIMIT_W = LIMIT_A * 230 * 3;
const HOLD_MS = 22_000;

async function chargingSite(rig: Rig, extra?: Record<string, unknown>): Promise<void> {
  await rig.start({ gridMaxA: FUSE_A, chargers: ['CP1', 'CP2', 'CP3', 'CP4'].map((id) => ({ id })), buildingA: [10, 10, 10], extra });
  const delays = [1, 2, 3, 4];
  await Promise.all(rig.site.chargers.map((cp, i) => cp.plugIn(new Ev({ name: `car${i + 1}`, maxA: 32, phases: 3, responseDelayS: delays[i]! }), `TAG${i + 1}`)));
  await until(() => rig.site.chargers.every((cp) => (cp.ev?.drawA ?? 0) >= 6), 'all four cars charging', 45_000);
  await elapse(10_000);
}

/** Figures after a limit set at `fromMs`: the lowest pilot and draw per car, the grid after the window. */
function assess(rig: Rig, name: string, fromMs: number) {
  const all = rig.site.window(fromMs, Date.now());
  const after = rig.site.window(fromMs + REACTION_WINDOW_MS, Date.now());
  const lowestPilot = Object.fromEntries(rig.site.chargers.map((cp) => [cp.id, round1(Math.min(...all.map((s: Sample) => s.pilotA[cp.id]!)))]));
  const lowestDraw = Object.fromEntries(rig.site.chargers.map((cp) => [cp.id, round1(Math.min(...after.map((s: Sample) => s.drawA[cp.id]!)))]));
  const grid = figures(after, (s) => s.gridA, LIMIT_A);
  const zeroCaps = rig.site.chargers.flatMap((cp) => cp.received.filter((r) => r.atMs >= fromMs && r.purpose === 'TxProfile' && r.limit < 6).map(() => cp.id));
  report(name, { lowestPilot, lowestDraw, grid, capsBelow6A: zeroCaps });
  return { lowestPilot, lowestDraw, grid };
}

describeWithPeer('mosquitto', hasCommand('mosquitto') && hasPythonModule('pymodbus'), 'acceptance #9: a lower grid limit', () => {
  const rig = new Rig();
  const broker = new MosquittoBroker();
  beforeAll(async () => {
    await broker.start();
    await chargingSite(rig, { mqtt: { url: broker.url, prefix: 'ems' } });
  }, 120_000);
  afterAll(async () => {
    await rig.stop();
    await broker.stop();
  });

  it('POST /api/v1/signals import-limit: no car paused, the grid within the new limit', async () => {
    const fromMs = Date.now();
    const posted = await rig.ems.request('POST', '/api/v1/signals', { kind: 'import-limit', valueW: LIMIT_W, durationS: 600, source: 'acceptance' });
    expect(posted.status).toBe(201);
    await elapse(HOLD_MS);
    const { lowestPilot, grid } = assess(rig, 'lower-limit-api', fromMs);
    expect(grid.maxA, 'true grid after the window').toBeLessThanOrEqual(LIMIT_A);
    for (const [id, a] of Object.entries(lowestPilot)) expect(a, `${id} offered at least 6 A`).toBeGreaterThanOrEqual(6);
    // The limit ends; the cars go back up before the MQTT case.
    const ended = await rig.ems.request('DELETE', `/api/v1/signals/${posted.body.id}`);
    expect(ended.status).toBe(200);
    await until(() => rig.site.chargers.every((cp) => (cp.ev?.drawA ?? 0) >= 12), 'the cars back at their full share', 30_000);
  }, 90_000);

  it('ems/site/limit/set over MQTT: no car paused, the grid within the new limit', async () => {
    const client = await mqtt.connectAsync(broker.url);
    const fromMs = Date.now();
    await client.publishAsync('ems/site/limit/set', String(LIMIT_W));
    await client.endAsync();
    await elapse(HOLD_MS);
    const signals = await rig.ems.request('GET', '/api/v1/signals');
    const { lowestPilot, grid } = assess(rig, 'lower-limit-mqtt', fromMs);
    expect(JSON.stringify(signals.body)).toContain('mqtt-site-limit');
    expect(grid.maxA, 'true grid after the window').toBeLessThanOrEqual(LIMIT_A);
    for (const [id, a] of Object.entries(lowestPilot)) expect(a, `${id} offered at least 6 A`).toBeGreaterThanOrEqual(6);
  }, 60_000);
});
