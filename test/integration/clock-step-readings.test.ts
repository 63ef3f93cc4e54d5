// Readings taken between a step of the wall clock and the control cycle that finds it. The whole
// EMS runs on loopback with its own producers: Debian's pymodbus as the grid meter, polled by the
// device service, and an independent strict 1.6 charger whose car charges and reports MeterValues
// and StatusNotifications. The EMS's wall clock steps an hour; the meter answers once more; then
// it dies. The reading it gave after the step must count as fresh at the next cycle (no failsafe
// from the step) and go stale after staleAfterMs of silence, not an hour later (a forward step) nor
// at once (a backward one). The charger's reports keep their true age, and no limit rises.
import { afterEach, expect, it } from 'vitest';
import { sunSpecImage } from '../../adapters/modbus/sunspec-image.ts';
import { configSchema } from '../../config/schema.ts';
import { startApp, type App } from '../../src/app.ts';
import { silentLogger } from '../../src/log.ts';
import { PymodbusPeer } from '../fixtures/pymodbus/pymodbus-peer.ts';
import { FlowingClock } from '../helpers/flowing-clock.ts';
import { describeWithPeer, hasPythonModule } from '../helpers/peers.ts';
import { StackCharger } from '../helpers/stack-charger.ts';
import { waitFor } from '../helpers/wait-for.ts';

const STALE_AFTER_MS = 10_000;
// 20 A per phase at the connection point: the building (4 A) and a car that takes 16 A.
const meterImage = sunSpecImage([{ id: 1 }, { id: 203, values: { W: 13_800, AphA: 20, AphB: 20, AphC: 20 }, scaleFactors: { 6: 0, 22: 0 } }]);

const carA = (charger: StackCharger) => Math.min(16, charger.connectorA(1));

function siteConfig(meterPort: number) {
  return configSchema.parse({
    site: { name: 'Clock steps', voltage: 230, timezone: 'UTC' },
    grid: { maxCurrent: 63, meter: 'grid', safetyMargin: 0 },
    control: { intervalMs: 60_000, staleAfterMs: STALE_AFTER_MS, deadbandA: 0, minPauseMs: 0, profileMinIntervalMs: 0, profileDurationS: 120, failsafeCurrent: 6 },
    circuits: [{ id: 'row', maxCurrent: 32, chargers: ['CP1'] }],
    chargers: [{ id: 'CP1', connectors: 1, maxCurrent: 32, minCurrent: 6, phases: 3 }],
    idTags: [{ idTag: 'GOOD1' }],
    devices: [{ id: 'grid', role: 'grid-meter', driver: 'modbus', host: '127.0.0.1', port: meterPort, unitId: 1, pollIntervalMs: 100, timeoutMs: 8_000 }],
    ocpp: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    storage: { path: ':memory:' },
  });
}

describeWithPeer('python3-pymodbus', hasPythonModule('pymodbus'), 'readings between a wall-clock step and the cycle that finds it', () => {
  let peer: PymodbusPeer | undefined;
  let app: App | undefined;
  let charger: StackCharger | undefined;

  afterEach(async () => {
    await charger?.close().catch(() => undefined);
    charger = undefined;
    await app?.stop();
    app = undefined;
    await peer?.stop();
  });

  /** The EMS with its meter and a charging car, steady, no failsafe; `quiet()` lets every pending cycle finish. */
  async function steadySite() {
    peer = new PymodbusPeer({ units: { 1: { hr: { 40000: meterImage } } } });
    await peer.start();
    const clock = new FlowingClock();
    app = await startApp({ config: siteConfig(peer.port), log: silentLogger, clock });
    const running = app;
    const site = { clock, readings: 0, lastReadingMono: 0, lastReadingRealMs: 0, order: [] as string[], failsafes: [] as boolean[] };
    running.ctx.bus.on('device.reading', (r) => {
      if (r.deviceId !== 'grid') return;
      site.readings++;
      site.lastReadingMono = clock.monotonicMs();
      site.lastReadingRealMs = performance.now();
      site.order.push('reading');
    });
    running.ctx.bus.on('connector.meter', () => site.order.push('draw'));
    running.ctx.bus.on('clock.stepped', () => site.order.push('found'));
    const cp = new StackCharger('CP1', `ws://127.0.0.1:${running.ocppPort}/ocpp`);
    charger = cp;
    await cp.connect();
    await waitFor(() => running.ctx.state.connector('CP1', 1)?.profile, 'CP1 set up');
    await cp.start(1, 'GOOD1');
    await waitFor(() => site.readings > 0, 'a grid reading', 15_000);
    await running.control.runCycle();
    await cp.meter(1, carA(cp));
    await running.control.runCycle();
    expect(running.control.stats.failsafe).toBe(false);
    running.ctx.bus.on('control.failsafe', ({ active }) => site.failsafes.push(active));
    /**
     * The meter's next answer comes `lateMs` late; once its last answer is 300 ms old every cycle
     * it triggered has started, and the one awaited here has finished: nothing runs until the next event.
     */
    const quietMeter = async (lateMs: number) => {
      await peer!.delay(lateMs, true);
      await waitFor(() => performance.now() - site.lastReadingRealMs > 300, 'the meter quiet');
      await running.control.runCycle();
      site.order.length = 0;
    };
    return { app: running, charger: cp, site, clock, quietMeter, heldBeforeA: cp.connectorA(1) };
  }

  for (const stepMs of [3_600_000, -3_600_000]) {
    const label = `${stepMs > 0 ? '+' : '−'}1 h`;

    it(`a step of ${label}: the meter's reading taken after it goes stale after ${STALE_AFTER_MS / 1000} s of silence, no sooner and no later`, async () => {
      const { app: running, charger: cp, site, clock, quietMeter, heldBeforeA } = await steadySite();
      // The wall clock steps while the meter is being read: its answer comes 4 s late, after the
      // step and before the cycle that finds it (nothing else happens meanwhile). Then the meter dies.
      // The step must come before that answer: 300 ms of quiet and a cycle come first, which on a
      // machine at load 30 can take most of a second or two (1.5 s was too little room); the answer
      // stays well inside staleAfterMs (10 s) and the line's 8 s timeout.
      await quietMeter(4_000);
      const count = site.readings;
      clock.stepWall(stepMs);
      await waitFor(() => site.readings > count, 'a grid reading after the step');
      await peer!.stop();
      await waitFor(() => running.ctx.state.devices.get('grid')?.health === 'error' || undefined, 'the meter marked dead');
      await running.control.runCycle();
      expect(site.order.slice(0, 2), 'the reading was taken between the step and the cycle that found it').toEqual(['reading', 'found']);
      // The reading from after the step is as old as it is, not an hour older or younger.
      const ageMs = running.ctx.clock.nowMs() - running.ctx.state.devices.get('grid')!.reading!.atMs;
      expect(Math.abs(ageMs - (clock.monotonicMs() - site.lastReadingMono))).toBeLessThan(100);
      expect(site.failsafes, `no failsafe from a ${label} step`).toEqual([]);
      expect(cp.connectorA(1)).toBeLessThanOrEqual(heldBeforeA);

      // Silence: still fresh just before staleAfterMs, stale just after, on the monotonic clock.
      clock.advance(site.lastReadingMono + STALE_AFTER_MS - 1_000 - clock.monotonicMs());
      await running.control.runCycle();
      expect(site.failsafes, `no failsafe ${STALE_AFTER_MS / 1000 - 1} s after the last reading`).toEqual([]);
      clock.advance(2_000);
      await running.control.runCycle();
      expect(site.failsafes, `the dead meter seen ${STALE_AFTER_MS / 1000 + 1} s after its last reading`).toEqual([true]);
      // The failsafe only lowers: the car is held at the failsafe current, never above what it had,
      // now or after any of its profiles expires.
      expect(cp.connectorA(1)).toBeLessThanOrEqual(heldBeforeA);
      for (const t of cp.boundaries()) expect(cp.totalA(t)).toBeLessThanOrEqual(32);
    });

    it(`a step of ${label}: what the charger reports right after it keeps its true age, and no limit rises`, async () => {
      const { app: running, charger: cp, site, clock, quietMeter, heldBeforeA } = await steadySite();
      // The late answer (5 s: room for the quiet wait, a cycle and two charger calls on a loaded
      // machine) must not land among the charger's reports.
      await quietMeter(5_000);
      clock.stepWall(stepMs);
      // MeterValues, then a StatusNotification, stamped on the charger's own (unstepped) clock: each
      // stamp is taken between these two instants, however slow the machine is.
      const beforeReportsMono = clock.monotonicMs();
      await cp.meter(1, carA(cp));
      await cp.status(1, 'Charging');
      const afterReportsMono = clock.monotonicMs();
      await running.control.runCycle();
      expect(site.order.slice(0, 2), 'the draw arrived between the step and the cycle that found it').toEqual(['draw', 'found']);
      const nowMs = running.ctx.clock.nowMs();
      expect(Math.abs(nowMs - clock.nowMs())).toBeLessThan(1_000);
      const connector = running.ctx.state.connector('CP1', 1)!;
      const nowMono = clock.monotonicMs();
      for (const atMs of [connector.drawAtMs!, connector.statusAtMs!]) {
        // As old as it is (50 ms for the charger's Date.now against the monotonic clock), not an hour off.
        expect(nowMs - atMs).toBeGreaterThanOrEqual(nowMono - afterReportsMono - 50);
        expect(nowMs - atMs).toBeLessThanOrEqual(nowMono - beforeReportsMono + 50);
      }
      expect(site.failsafes).toEqual([]);
      expect(cp.connectorA(1)).toBeLessThanOrEqual(heldBeforeA);
      for (const t of cp.boundaries()) expect(cp.totalA(t)).toBeLessThanOrEqual(32);
    });
  }
});
