// #10: the system clock of a real `ems run` process steps −1 h and then +1 h (an NTP correction
// each way) while it steers three strict OCPP 1.6J chargers under load. Debian's libfaketime is
// preloaded into the EMS process only; the test writes its offset into FAKETIME_TIMESTAMP_FILE and
// the EMS sees its wall clock jump at once (FAKETIME_NO_CACHE=1). The chargers (in this process)
// and the pymodbus grid meter (its own process) keep the true time, like the rest of the world
// during an NTP step of one machine.
//
// libfaketime 0.9.10 also fakes CLOCK_MONOTONIC by default, and Node's event loop (libuv timers),
// performance.now() and process.hrtime() all read it: with the default, stepping the offset back an
// hour stops every timer of the process for an hour, which no NTP step does (the kernel never steps
// CLOCK_MONOTONIC). FAKETIME_DONT_FAKE_MONOTONIC=1 fakes only the wall clock (Date.now(),
// gettimeofday, CLOCK_REALTIME): the step an NTP correction makes.
//
// What the chargers hold is sampled every 100 ms and at every profile they take, on their own
// clocks: every TxProfile of a running transaction and every lifted charger-wide profile stays in
// force (none arrives already expired or lapses for want of a refresh), the EMS keeps refreshing
// them through both steps, the paused car stays at 0 A (also if the EMS died at that moment), the
// limits in force stay within the 40 A row and, with the building's rise, the true grid current
// within 63 A once the cars had a response time to follow; no failsafe on either step.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { sunSpecImage } from '../../adapters/modbus/sunspec-image.ts';
import type { InstalledProfile } from '../../src/demo/profile-stack.ts';
import { PymodbusPeer } from '../fixtures/pymodbus/pymodbus-peer.ts';
import { startEms, type EmsProcess } from '../helpers/ems-process.ts';
import { describeWithPeer, hasPythonModule } from '../helpers/peers.ts';
import { StackCharger } from '../helpers/stack-charger.ts';
import { waitFor } from '../helpers/wait-for.ts';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const PASSWORD = 'faketime-test-pass';
const GRID_A = 63;
const ROW_A = 40;
const PROFILE_DURATION_S = 60;
/** How long a car takes to follow a lower limit, plus a meter period and a control cycle, s. */
const RESPONSE_S = 8;
const HOUR_MS = 3_600_000;

const CONFIG: Record<string, any> = {
  site: { name: 'Clock step under libfaketime', timezone: 'UTC' },
  grid: { maxCurrent: GRID_A, safetyMargin: 0, meter: 'grid' },
  control: { profileDurationS: PROFILE_DURATION_S, deadbandA: 0, staleAfterMs: 10_000 },
  circuits: [{ id: 'row', maxCurrent: ROW_A, chargers: ['CP1', 'CP2', 'CP3'] }],
  chargers: [{ id: 'CP1' }, { id: 'CP2' }, { id: 'CP3' }],
  idTags: [{ idTag: 'TAG1' }, { idTag: 'TAG2' }, { idTag: 'TAG3' }],
};

/** What the grid meter reads: the building and the cars, A per phase (SunSpec model 203). */
function meterImage(amps: number): number[] {
  const a = Math.round(amps * 10) / 10;
  return sunSpecImage([{ id: 1 }, { id: 203, values: { W: Math.round(a * 230 * 3), AphA: a, AphB: a, AphC: a }, scaleFactors: { 6: -1, 22: 0 } }]);
}

async function api(port: number, path: string, token?: string, init: RequestInit = {}) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers ?? {}) },
  });
  return { status: res.status, body: res.status === 204 ? undefined : await res.json() };
}

/** Whether a profile with a duration is in force at `atMs` on the charger's clock (start ≤ t < start + duration). */
function inForce(p: InstalledProfile, atMs: number, txStartMs?: number): boolean {
  const startMs = p.kind === 'Relative' ? (txStartMs ?? p.receivedAtMs) : (p.startScheduleMs ?? p.receivedAtMs);
  return atMs >= startMs && (p.durationS === undefined || atMs < startMs + p.durationS * 1000);
}

type Phase = 'steady' | 'back' | 'forward';

interface Sample {
  atMs: number;
  phase: Phase;
  buildingA: number;
  heldA: number[];
  rowA: number;
  gridA: number;
  /** The most the row would see from now on if the EMS died at this moment (every duration expiring). */
  worstIfDeadA: number;
  pausedIfDeadA: number;
  /** Profiles with a duration the charger holds that are not in force now (expired, or starting in its future). */
  lapsed: string[];
}

describeWithPeer('libfaketime (Debian faketime)', existsSync(LIBFAKETIME), 'the EMS process with its wall clock stepped by libfaketime', () => {
  describeWithPeer('python3-pymodbus', hasPythonModule('pymodbus'), 'under load, with a grid meter and strict chargers on their own clocks', () => {
    const meter = new PymodbusPeer({ units: { 1: { hr: { 40000: meterImage(0) } } } });
    const chargers: StackCharger[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'ems-faketime-'));
    const offsetFile = join(dir, 'faketime.rc');
    let ems: EmsProcess | undefined;

    afterAll(async () => {
      await Promise.all(chargers.map((c) => c.close().catch(() => undefined)));
      if (ems?.alive()) {
        ems.kill('SIGTERM');
        await ems.exited;
      }
      await meter.stop();
      rmSync(dir, { recursive: true, force: true });
      if (ems) rmSync(ems.dir, { recursive: true, force: true });
    });

    it('keeps every profile in force and refreshed, the paused car at 0 A, the row and the grid within their limits, and no failsafe, through a −1 h and a +1 h step', async () => {
      await meter.start();
      writeFileSync(offsetFile, '+0\n');
      const config = {
        ...CONFIG,
        devices: [{ id: 'grid', role: 'grid-meter', driver: 'modbus', host: '127.0.0.1', port: meter.port, unitId: 1, pollIntervalMs: 250, timeoutMs: 1_000 }],
      };
      ems = await startEms(config, {
        EMS_ADMIN_PASSWORD: PASSWORD,
        LD_PRELOAD: LIBFAKETIME,
        FAKETIME_TIMESTAMP_FILE: offsetFile,
        FAKETIME_NO_CACHE: '1',
        FAKETIME_DONT_FAKE_MONOTONIC: '1',
      });
      const running = ems;
      const endpoint = `ws://127.0.0.1:${running.ocppPort}/ocpp`;
      const [cp1, cp2, cp3] = ['CP1', 'CP2', 'CP3'].map((id) => new StackCharger(id, endpoint));
      chargers.push(cp1!, cp2!, cp3!);
      for (const c of chargers) await c.connect();
      await cp1!.start(1, 'TAG1');
      await cp2!.start(1, 'TAG2');
      await cp3!.start(1, 'TAG3');

      // The cars take what their chargers let them (up to 32 A) and the chargers say so every 2 s;
      // the grid meter sees the building and the cars every 100 ms.
      let buildingA = 15;
      const carsA = () => chargers.reduce((sum, c) => sum + Math.min(32, c.connectorA(1)), 0);
      const metering = setInterval(() => {
        for (const c of chargers) if (c.client.state === 1) void c.meter(1, Math.min(32, c.connectorA(1))).catch(() => undefined);
      }, 2_000);
      const gridMetering = setInterval(() => void meter.set(1, 'hr', 40000, meterImage(buildingA + carsA())).catch(() => undefined), 100);

      const token = (await api(running.httpPort, '/api/v1/auth/login', undefined, { method: 'POST', body: JSON.stringify({ username: 'admin', password: PASSWORD }) })).body.token as string;
      expect((await api(running.httpPort, '/api/v1/connectors/CP3/1/session', token, { method: 'PATCH', body: JSON.stringify({ paused: true }) })).status).toBe(200);
      const txLimit = (c: StackCharger) => c.setCalls.filter((p) => p.csChargingProfiles.chargingProfilePurpose === 'TxProfile').at(-1)?.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit;
      await waitFor(() => (cp1!.connectorA(1) >= 20 && cp2!.connectorA(1) >= 6 && cp3!.connectorA(1) === 0 && txLimit(cp3!) === 0 ? true : undefined), 'the steady state before the step', 30_000);

      const samples: Sample[] = [];
      let phase: Phase = 'steady';
      const sample = () => {
        const atMs = Date.now();
        const times = [...new Set(chargers.flatMap((c) => c.boundaries(atMs)))];
        const lapsed = chargers.flatMap((c) => {
          const tx = c.tx.get(1);
          return c.profiles
            .filter((p) => p.durationS !== undefined && (p.purpose === 'ChargePointMaxProfile' || (p.purpose === 'TxProfile' && p.transactionId === tx?.transactionId)))
            .filter((p) => !inForce(p, atMs, tx?.startMs))
            .map((p) => `${c.id} ${p.purpose} #${p.id} start ${p.startScheduleMs === undefined ? '-' : new Date(p.startScheduleMs).toISOString()} ${p.durationS} s`);
        });
        samples.push({
          atMs,
          phase,
          buildingA,
          heldA: chargers.map((c) => c.connectorA(1)),
          rowA: carsA(),
          gridA: buildingA + carsA(),
          worstIfDeadA: Math.max(...times.map((t) => chargers.reduce((s, c) => s + c.totalA(t), 0))),
          pausedIfDeadA: Math.max(...times.map((t) => cp3!.connectorA(1, t))),
          lapsed,
        });
      };
      for (const c of chargers) c.onChange.push(sample);
      const sampling = setInterval(sample, 100);
      const runFor = async (ms: number) => {
        const untilMs = Date.now() + ms;
        await waitFor(() => (Date.now() >= untilMs ? true : undefined), `${ms} ms of control`, ms + 10_000);
      };
      const callsSince = (from: number[], purpose: string) => chargers.map((c, i) => c.setCalls.slice(from[i]).filter((p) => p.csChargingProfiles.chargingProfilePurpose === purpose).length);

      sample();
      await runFor(3_000);

      // NTP steps the EMS's clock back an hour. Under load: the building rises 15 → 35 A 20 s later
      // (the cars must give 7 A back on the 63 A grid), and falls again 25 s after that.
      phase = 'back';
      const backAtMs = Date.now();
      // What the EMS logs from here on (a start-up failsafe before the first readings is not the step's).
      const stdoutAtStep = running.stdout().length;
      const stderrAtStep = running.stderr().length;
      const callsAtBack = chargers.map((c) => c.setCalls.length);
      writeFileSync(offsetFile, '-3600\n');
      await runFor(20_000);
      buildingA = 35;
      const riseAtMs = Date.now();
      await runFor(25_000);
      buildingA = 15;
      // Past a whole profile duration from the step: any profile confirmed before it must have been refreshed.
      await runFor(PROFILE_DURATION_S * 1000 - 45_000 + 5_000);
      const txAfterBack = callsSince(callsAtBack, 'TxProfile');
      const liftAfterBack = callsSince(callsAtBack, 'ChargePointMaxProfile');

      // ...and forward again by the hour.
      phase = 'forward';
      const forwardAtMs = Date.now();
      const callsAtForward = chargers.map((c) => c.setCalls.length);
      writeFileSync(offsetFile, '+0\n');
      await runFor((PROFILE_DURATION_S / 2) * 1000 + 10_000);
      const txAfterForward = callsSince(callsAtForward, 'TxProfile');
      clearInterval(sampling);
      clearInterval(metering);
      clearInterval(gridMetering);
      sample();

      const out = running.stdout() + running.stderr();
      const during = samples.filter((s) => s.phase !== 'steady');
      const lowest = (i: number) => Math.min(...during.map((s) => s.heldA[i]!));
      const settledRise = during.filter((s) => s.atMs >= riseAtMs + RESPONSE_S * 1000 && s.buildingA === 35);
      const report = JSON.stringify({
        samples: samples.length,
        lowestCP1: lowest(0),
        lowestCP2: lowest(1),
        maxRowA: Math.max(...samples.map((s) => s.rowA)),
        maxWorstIfDeadA: Math.max(...samples.map((s) => s.worstIfDeadA)),
        maxGridSettledA: Math.max(...settledRise.map((s) => s.gridA)),
        txAfterBack,
        liftAfterBack,
        txAfterForward,
        lapsed: [...new Set(samples.flatMap((s) => s.lapsed))].slice(0, 6),
        stepsLogged: out.match(/the wall clock stepped[^\n]*/g)?.length ?? 0,
        backAtMs,
        forwardAtMs,
      });
      console.log(`clock-step-faketime: ${report}`);

      // The EMS saw both steps (libfaketime did reach its wall clock), and said so.
      expect(out.match(/"stepS":-3600/g)?.length ?? 0, report).toBe(1);
      expect(out.match(/"stepS":3600/g)?.length ?? 0, report).toBe(1);
      // No profile the chargers hold arrived expired or lapsed: every TxProfile of a running
      // transaction and every lift above the floor stayed in force, on the chargers' own clocks.
      for (const s of samples) expect(s.lapsed, `${s.phase} at +${s.atMs - backAtMs} ms ${report}`).toEqual([]);
      // The EMS kept refreshing them through both steps (a refresh is due at half a duration).
      for (const n of txAfterBack.slice(0, 2)) expect(n, report).toBeGreaterThanOrEqual(2);
      for (const n of liftAfterBack) expect(n, report).toBeGreaterThanOrEqual(2);
      for (const n of txAfterForward.slice(0, 2)) expect(n, report).toBeGreaterThanOrEqual(1);
      // The charging cars kept charging; the paused one stayed paused, and would have had the EMS died.
      expect(lowest(0), report).toBeGreaterThanOrEqual(6);
      expect(lowest(1), report).toBeGreaterThanOrEqual(6);
      for (const s of samples) {
        expect(s.heldA[2], `paused CP3 ${s.phase} at ${s.atMs}`).toBe(0);
        expect(s.pausedIfDeadA, `paused CP3 if dead, ${s.phase} at ${s.atMs}`).toBe(0);
        // The row held, now and for every moment the EMS could have died.
        expect(s.rowA, `${s.phase} at ${s.atMs} ${report}`).toBeLessThanOrEqual(ROW_A + 1e-9);
        expect(s.worstIfDeadA, `${s.phase} at ${s.atMs} ${report}`).toBeLessThanOrEqual(ROW_A + 1e-9);
      }
      // The grid held once the cars had time to follow the building's rise.
      expect(settledRise.length, report).toBeGreaterThan(50);
      for (const s of settledRise) expect(s.gridA, `grid at +${s.atMs - riseAtMs} ms after the rise ${report}`).toBeLessThanOrEqual(GRID_A + 1e-9);
      // Neither step started a failsafe.
      expect(running.stdout().slice(stdoutAtStep) + running.stderr().slice(stderrAtStep), report).not.toMatch(/failsafe on/);
      // The paused session is still paused, by the API too.
      const state = await api(running.httpPort, '/api/v1/state', token);
      expect(state.body.connectors.find((c: { chargerId: string }) => c.chargerId === 'CP3').session).toMatchObject({ paused: true });
    }, 240_000);
  });
});
