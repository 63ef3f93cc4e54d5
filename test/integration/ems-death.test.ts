// A real EMS process (bin/ems.js run) steers three independent strict 1.6 chargers on a 50 A
// circuit: one cannot be capped (NotSupported), one car is paused by the operator over the API,
// one charges. Then the EMS dies with SIGKILL. The chargers keep what they were sent and evaluate
// it on their own clock: from the moment of death to a day later, past every profile duration,
// what they let their cars draw stays within the circuit, the paused car stays at 0 A and the
// charging one falls back to its static share, not to 0.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StackCharger } from '../helpers/stack-charger.ts';
import { startEms, type EmsProcess } from '../helpers/ems-process.ts';
import { waitFor } from '../helpers/wait-for.ts';

const PASSWORD = 'death-test-pass';
const ROW_A = 50;


async function api(port: number, path: string, token?: string, init: RequestInit = {}) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers ?? {}) },
  });
  return { status: res.status, body: res.status === 204 ? undefined : await res.json() };
}

describe('the EMS killed with SIGKILL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ems-death-'));
  let ems: EmsProcess | undefined;
  const chargers: StackCharger[] = [];

  afterAll(async () => {
    await Promise.all(chargers.map((c) => c.close().catch(() => undefined)));
    if (ems && ems.child.exitCode === null && ems.child.signalCode === null) {
      ems.child.kill('SIGTERM');
      await ems.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('leaves every charger holding a safe configuration on its own, a paused car at 0 A', async () => {
    ems = await startEms({
        site: { name: 'Death Test', timezone: 'UTC' },
        grid: { maxCurrent: 100, safetyMargin: 0 },
        control: { profileDurationS: 60, minPauseMs: 0, deadbandA: 0, profileMinIntervalMs: 0 },
        circuits: [{ id: 'row', maxCurrent: ROW_A, chargers: ['DUMB', 'CP1', 'CP2'] }],
        chargers: [{ id: 'DUMB' }, { id: 'CP1' }, { id: 'CP2' }],
        idTags: [{ idTag: 'TAG1' }, { idTag: 'TAG2' }, { idTag: 'TAG3' }],
      }, { EMS_ADMIN_PASSWORD: PASSWORD });
    const endpoint = `ws://127.0.0.1:${ems.ocppPort}/ocpp`;
    const dumb = new StackCharger('DUMB', endpoint, { smartCharging: false });
    dumb.mode = 'not-supported';
    const cp1 = new StackCharger('CP1', endpoint);
    const cp2 = new StackCharger('CP2', endpoint);
    chargers.push(dumb, cp1, cp2);
    for (const c of chargers) await c.connect();
    await dumb.start(1, 'TAG3');
    await cp1.start(1, 'TAG1');
    await cp2.start(1, 'TAG2');
    // CP2's car charges: its MeterValues say so every 2 s (a car that draws nothing would be taken for full and released).
    const metering = setInterval(() => void cp2.meter(1, 8).catch(() => undefined), 2_000);
    const txLimit = (c: StackCharger) => c.setCalls.filter((p) => p.csChargingProfiles.chargingProfilePurpose === 'TxProfile').at(-1)?.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit;
    await waitFor(() => txLimit(cp1) !== undefined && txLimit(cp2) !== undefined, 'both controllable chargers to hold a TxProfile', 20_000);

    const login = await api(ems.httpPort, '/api/v1/auth/login', undefined, { method: 'POST', body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
    const token = login.body.token as string;
    const paused = await api(ems.httpPort, '/api/v1/connectors/CP1/1/session', token, { method: 'PATCH', body: JSON.stringify({ paused: true }) });
    expect(paused.status).toBe(200);
    await waitFor(() => (cp1.connectorA(1) === 0 && cp1.connectorA(1, cp1.nowMs() + 86_400_000) === 0 ? true : undefined), 'the paused car at 0 A now and after every expiry', 20_000);
    // The other's floor shrank around the uncontrollable charger's 32 A: (50 - 32) / 2 = 9 A.
    await waitFor(() => (cp2.totalA(cp2.nowMs() + 86_400_000) <= 9 ? true : undefined), 'the static share of CP2 recomputed around DUMB', 20_000);
    // The capacity CP1's pause frees reaches CP2 once the paused car has had time to slow down (control.carResponseS).
    await waitFor(() => ((txLimit(cp2) ?? 0) > 0 ? true : undefined), 'CP2 charging again after the handover', 20_000);
    const state = await api(ems.httpPort, '/api/v1/state', token);
    const dumbView = state.body.connectors.find((c: { chargerId: string }) => c.chargerId === 'DUMB');
    expect(dumbView.profile).toMatchObject({ uncontrollable: true, reservedA: 32 });

    ems.child.kill('SIGKILL');
    await ems.exited;
    clearInterval(metering);

    // From the moment of death on, every moment a profile ends, and a day later.
    const nowMs = Date.now();
    const times = [...new Set(chargers.flatMap((c) => c.boundaries(nowMs)))].sort((a, b) => a - b);
    expect(times.at(-1)! - nowMs).toBeGreaterThanOrEqual(86_400_000);
    for (const t of times) {
      const sum = chargers.reduce((s, c) => s + c.totalA(t), 0);
      expect(sum, `at +${Math.round((t - nowMs) / 1000)} s`).toBeLessThanOrEqual(ROW_A + 1e-9);
      expect(cp1.connectorA(1, t)).toBe(0);
    }
    expect(dumb.totalA(nowMs + 86_400_000)).toBe(32);
    // After every duration the charging car holds its static share, not 0.
    expect(cp2.connectorA(1, nowMs + 86_400_000)).toBeGreaterThan(0);
    expect(cp2.connectorA(1, nowMs + 86_400_000)).toBeLessThanOrEqual(9);
  }, 90_000);
});
