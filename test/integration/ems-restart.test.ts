// A real EMS process (bin/ems.js run) steers three independent strict 1.6 chargers on a 40 A
// circuit: two cars charge (first come, first served), one is paused by the operator. The EMS is
// killed with SIGKILL and started again on the same database; the chargers connect again without
// booting, as after a dropped link, keeping their profiles and transactions. What they let their
// cars draw is sampled at every profile change and every 100 ms, from before the kill until the
// new EMS has steered every charger again: no charging car ever falls to 0 A, the paused one never
// rises above 0 A, the first-come car keeps its place, and the limits in force (and those the
// chargers would hold if the EMS died at that moment) stay within the circuit. Run twice: without
// a grid meter, and with Debian's pymodbus as the grid meter (building + the cars' draws), where
// the restarted EMS must not start in the failsafe before its first reading (no car at the
// failsafe current, no "failsafe on").
import { afterAll, describe, expect, it } from 'vitest';
import { sunSpecImage } from '../../adapters/modbus/sunspec-image.ts';
import { PymodbusPeer } from '../fixtures/pymodbus/pymodbus-peer.ts';
import { describeWithPeer, hasPythonModule } from '../helpers/peers.ts';
import { StackCharger } from '../helpers/stack-charger.ts';
import { EmsUnderTest, rowConfig } from '../helpers/ems-site.ts';
import { waitFor } from '../helpers/wait-for.ts';

const ROW_A = 40;
const BUILDING_A = 10;
const CONFIG = rowConfig({ name: 'Restart Test', rowA: ROW_A, chargers: ['CP1', 'CP2', 'CP3'] });

interface Sample {
  atMs: number;
  phase: 'before' | 'down' | 'after';
  heldA: number[];
  sumA: number;
  /** The most the circuit would see from this moment on if the EMS died now (every duration expiring). */
  worstIfDeadA: number;
  /** The most the paused car could draw from this moment on if the EMS died now. */
  pausedIfDeadA: number;
}

/** What the grid meter reads: the building and the cars, A per phase (SunSpec model 203). */
function meterImage(carsA: number): number[] {
  const a = BUILDING_A + carsA;
  return sunSpecImage([{ id: 1 }, { id: 203, values: { W: Math.round(a * 230 * 3), AphA: a, AphB: a, AphC: a }, scaleFactors: { 6: 0, 22: 0 } }]);
}

function restartSuite(meter: PymodbusPeer | undefined) {
  const site = new EmsUnderTest('restart-test-pass');
  const chargers: StackCharger[] = [];

  afterAll(async () => {
    await Promise.all(chargers.map((c) => c.close().catch(() => undefined)));
    await site.cleanup();
    await meter?.stop();
  });

  it('restores every charging car in priority order without a moment at 0 A, keeps the paused one at 0 A and the circuit within its limit', async () => {
    let config = CONFIG;
    if (meter) {
      await meter.start();
      config = {
        ...CONFIG,
        grid: { ...CONFIG.grid, meter: 'grid' },
        control: { ...CONFIG.control, staleAfterMs: 10_000 },
        devices: [{ id: 'grid', role: 'grid-meter', driver: 'modbus', host: '127.0.0.1', port: meter.port, unitId: 1, pollIntervalMs: 500, timeoutMs: 1_000 }],
      };
    }
    await site.start(config);
    const endpoint = site.ocppEndpoint;
    const [cp1, cp2, cp3] = ['CP1', 'CP2', 'CP3'].map((id) => new StackCharger(id, endpoint));
    chargers.push(cp1!, cp2!, cp3!);
    for (const c of chargers) await c.connect();
    await cp1!.start(1, 'TAG1');
    await cp2!.start(1, 'TAG2');
    await cp3!.start(1, 'TAG3');
    // The cars draw what their chargers let them (up to 32 A) and say so every 2 s, as chargers do;
    // the grid meter sees them at once (every 200 ms here), with the building.
    const metering = setInterval(() => {
      for (const c of chargers) if (c.client.state === 1) void c.meter(1, Math.min(32, c.connectorA(1))).catch(() => undefined);
    }, 2_000);
    const gridMetering = meter
      ? setInterval(() => void meter.set(1, 'hr', 40000, meterImage(chargers.reduce((sum, c) => sum + Math.min(32, c.connectorA(1)), 0))).catch(() => undefined), 200)
      : undefined;

    expect(await site.pause('CP3', 1, true)).toBe(200);
    const txLimit = (c: StackCharger) => c.setCalls.filter((p) => p.csChargingProfiles.chargingProfilePurpose === 'TxProfile').at(-1)?.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit;
    // Steady state: CP1 (first come) filled first, CP2 the rest, CP3 paused.
    await waitFor(() => (cp1!.connectorA(1) >= 20 && cp2!.connectorA(1) >= 6 && cp3!.connectorA(1) === 0 && txLimit(cp3!) === 0 ? true : undefined), 'the steady state before the kill', 30_000);

    const samples: Sample[] = [];
    let phase: Sample['phase'] = 'before';
    const sample = () => {
      const atMs = Date.now();
      const times = [...new Set(chargers.flatMap((c) => c.boundaries(atMs)))];
      samples.push({
        atMs,
        phase,
        heldA: chargers.map((c) => c.connectorA(1)),
        sumA: chargers.reduce((s, c) => s + c.totalA(atMs), 0),
        worstIfDeadA: Math.max(...times.map((t) => chargers.reduce((s, c) => s + c.totalA(t), 0))),
        pausedIfDeadA: Math.max(...times.map((t) => cp3!.connectorA(1, t))),
      });
    };
    for (const c of chargers) c.onChange.push(sample);
    const sampling = setInterval(sample, 100);
    sample();
    const before = chargers.map((c) => c.connectorA(1));

    const killMs = Date.now();
    await site.kill('SIGKILL');
    phase = 'down';
    sample();
    const setCallsAtKill = chargers.map((c) => c.setCalls.length);

    const ems = await site.start(config);
    for (const c of chargers) await c.reconnect();
    phase = 'after';
    // The new EMS has steered every charger again: a TxProfile for each running transaction.
    await waitFor(
      () => (chargers.every((c, i) => c.setCalls.slice(setCallsAtKill[i]).some((p) => p.csChargingProfiles.chargingProfilePurpose === 'TxProfile')) ? true : undefined),
      'every charger holding a TxProfile from the restarted EMS',
      30_000,
    );
    // ...and keeps steering them for a while (a pause would last control.minPauseMs, 2 min).
    const untilMs = Date.now() + 8_000;
    await waitFor(() => (Date.now() >= untilMs ? true : undefined), 'eight more seconds of control', 20_000);
    clearInterval(sampling);
    clearInterval(metering);
    clearInterval(gridMetering);
    sample();

    const after = chargers.map((c) => c.connectorA(1));
    const lowest = (i: number) => Math.min(...samples.map((s) => s.heldA[i]!));
    const report = JSON.stringify({ before, after, lowestCP1: lowest(0), lowestCP2: lowest(1), samples: samples.length });
    // No charging car ever saw 0 A; the paused one never more than 0 A.
    expect(lowest(0), report).toBeGreaterThan(0);
    expect(lowest(1), report).toBeGreaterThan(0);
    expect(Math.max(...samples.map((s) => s.heldA[2]!)), report).toBe(0);
    // ...nor would it have resumed had the EMS died at any moment, before, during or after the restart.
    const resumedIfDead = samples.filter((s) => s.pausedIfDeadA > 0).map((s) => `${s.phase} ${s.atMs - killMs} ms: ${s.pausedIfDeadA} A`);
    // On failure: what the paused charger was sent (ms after the kill) and what the EMS said about it.
    const cp3Calls = cp3!.setCallLog.map((c) => `${c.atMs - killMs} ms ${c.params.connectorId} ${c.params.csChargingProfiles.chargingProfilePurpose} lvl ${c.params.csChargingProfiles.stackLevel} ${c.params.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit} A dur ${c.params.csChargingProfiles.chargingSchedule.duration ?? '-'}`);
    const cp3Log = (ems.stdout() + ems.stderr()).split('\n').filter((l) => l.includes('CP3')).slice(-40);
    expect(resumedIfDead, `${report}\n${cp3Calls.join('\n')}\n${cp3Log.join('\n')}`).toEqual([]);
    // The circuit held, now and for every moment the EMS could have died.
    for (const s of samples) {
      expect(s.sumA, `${s.phase} at ${s.atMs}`).toBeLessThanOrEqual(ROW_A + 1e-9);
      expect(s.worstIfDeadA, `${s.phase} at ${s.atMs}`).toBeLessThanOrEqual(ROW_A + 1e-9);
    }
    // Priority order kept: the first-come car is filled first again, as before the kill.
    expect(after[0], report).toBeGreaterThanOrEqual(after[1]!);
    expect(after[0], report).toBeGreaterThanOrEqual(before[0]! - 0.1);
    // The stored pause is in force again, and the API says so.
    const state = await site.api('/api/v1/state');
    expect(state.body.connectors.find((c: { chargerId: string }) => c.chargerId === 'CP3').session).toMatchObject({ paused: true });
    if (meter) {
      // With a meter that answers, the restarted EMS never went into the failsafe: the charging
      // cars were never held at the failsafe current (6 A) or below, and it never said so.
      expect(lowest(0), report).toBeGreaterThan(6);
      expect(lowest(1), report).toBeGreaterThan(0);
      expect(ems.stdout() + ems.stderr()).not.toMatch(/failsafe on/);
    }
  }, 180_000);
}

describe('the EMS restarted after SIGKILL', () => restartSuite(undefined));

describeWithPeer('python3-pymodbus', hasPythonModule('pymodbus'), 'the EMS restarted after SIGKILL with a grid meter', () =>
  restartSuite(new PymodbusPeer({ units: { 1: { hr: { 40000: meterImage(0) } } } })),
);
