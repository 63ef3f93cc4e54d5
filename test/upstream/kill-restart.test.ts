// A real EMS process (bin/ems.js run) in local-controller mode is killed with SIGKILL while its
// uplink is down and it holds transaction frames for the CSMS; the restarted EMS still has them
// and delivers them, in order, once, when the CSMS comes back: 1.6J and 2.0.1, with the boot the EMS
// answered while offline.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { waitFor } from '../helpers/wait-for.ts';
import { StrictCharger, TestCsms } from './peers.ts';

const BIN = fileURLToPath(new URL('../../bin/ems.js', import.meta.url));

interface Ems {
  child: ChildProcess;
  ocppPort: number;
  exited: Promise<number | null>;
  lines: Record<string, any>[];
}

/** Starts `ems run` and resolves once it logged its OCPP port (bounded). */
function startEms(configPath: string, cwd: string): Promise<Ems> {
  const child = spawn(process.execPath, [BIN, 'run', '--config', configPath], {
    cwd,
    env: { ...process.env, EMS_ADMIN_PASSWORD: 'upstream-kill-test', EMS_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines: Record<string, any>[] = [];
  return new Promise((resolve, reject) => {
    let output = '';
    let pending = '';
    const timer = setTimeout(() => {
      // Not left running behind a failed test.
      child.kill('SIGKILL');
      reject(new Error(`EMS did not start within 60 s:\n${output}`));
    }, 60_000);
    child.stderr!.on('data', (d) => (output += d));
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop()!;
      for (const line of parts) {
        try {
          const entry = JSON.parse(line);
          lines.push(entry);
          if (entry.ocppPort) {
            clearTimeout(timer);
            resolve({ child, ocppPort: entry.ocppPort, exited, lines });
          }
        } catch {
          // not a log line
        }
      }
    });
    void exited.then((code) => reject(new Error(`EMS exited with ${code} before it was ready:\n${output}`)));
  });
}

describe('local controller: kill -9 while the uplink is down', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ems-upstream-kill-'));
  let ems: Ems | undefined;
  const csms = new TestCsms();
  const chargers: StrictCharger[] = [];

  // Each test ends the EMS it started (a later test must not leave an earlier one running).
  afterEach(async () => {
    for (const c of chargers.splice(0)) await c.close().catch(() => undefined);
    if (ems && ems.child.exitCode === null && ems.child.signalCode === null) {
      ems.child.kill('SIGTERM');
      await ems.exited;
    }
    ems = undefined;
  });

  afterAll(async () => {
    await csms.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every queued frame across the crash and delivers them in order, once, with the CSMS ids', async () => {
    // A port for the CSMS, which is down while the EMS runs.
    await csms.start();
    const port = csms.port;
    await csms.stop();
    const configPath = join(dir, 'site.yaml');
    writeFileSync(
      configPath,
      stringify({
        site: { name: 'Upstream kill test' },
        grid: { maxCurrent: 63 },
        chargers: [{ id: 'CP001', connectors: 2, upstreamId: 'GW-CP001' }],
        idTags: [{ idTag: 'TAG1', tier: 'staff' }],
        ocpp: { host: '127.0.0.1', port: 0 },
        http: { host: '127.0.0.1', port: 0 },
        storage: { path: join(dir, 'data', 'ems.sqlite') },
        upstream: { url: `ws://127.0.0.1:${port}/cloud`, reconnectMinMs: 50, reconnectMaxMs: 300, callTimeoutMs: 2000 },
      }),
    );
    ems = await startEms(configPath, dir);
    const first = new StrictCharger(ems.ocppPort, 'CP001', 'ocpp1.6');
    chargers.push(first);
    await first.connect();
    await first.boot();
    const t = (offsetS: number) => new Date(Date.UTC(2026, 11, 6, 5, 0, offsetS)).toISOString();
    const started = await first.start16(1, 'TAG1', t(0), 100);
    expect(started.idTagInfo.status).toBe('Accepted');
    await first.meter16(1, t(10), 400);

    ems.child.kill('SIGKILL');
    await ems.exited;
    await first.close().catch(() => undefined);

    ems = await startEms(configPath, dir);
    const back = new StrictCharger(ems.ocppPort, 'CP001', 'ocpp1.6');
    chargers.push(back);
    await back.connect();
    back.activeTx.set(1, started.transactionId);
    await back.meter16(1, t(20), 800);
    await back.stop16(1, t(30), 1200);

    await csms.start(port);
    await waitFor(() => csms.from('GW-CP001', 'StopTransaction').length > 0, 'the held-back frames at the CSMS', 15_000);
    await waitFor(() => ems!.lines.some((l) => l.msg === 'every held-back frame delivered to the CSMS'), 'the queue to drain', 15_000);
    const delivered = csms.from('GW-CP001').filter((r) => ['BootNotification', 'StartTransaction', 'MeterValues', 'StopTransaction'].includes(r.action));
    expect(delivered.map((r) => [r.action, r.params.timestamp ?? r.params.meterValue?.[0].timestamp, r.params.transactionId])).toEqual([
      // The boot the EMS answered before the crash, first.
      ['BootNotification', undefined, undefined],
      ['StartTransaction', t(0), undefined],
      ['MeterValues', t(10), 9001],
      ['MeterValues', t(20), 9001],
      ['StopTransaction', t(30), 9001],
    ]);
  }, 120_000);

  it('a CSMS that goes away and comes back, with a kill -9 in between: every record and the latest status reach it once, in order', async () => {
    const cloud = new TestCsms();
    await cloud.start();
    const port = cloud.port;
    const configPath = join(dir, 'site-away.yaml');
    writeFileSync(
      configPath,
      stringify({
        site: { name: 'Upstream away test' },
        grid: { maxCurrent: 63 },
        chargers: [{ id: 'CP002', connectors: 1, upstreamId: 'GW-CP002' }],
        idTags: [{ idTag: 'TAG1', tier: 'staff' }],
        ocpp: { host: '127.0.0.1', port: 0 },
        http: { host: '127.0.0.1', port: 0 },
        storage: { path: join(dir, 'data-away', 'ems.sqlite') },
        upstream: { url: `ws://127.0.0.1:${port}/cloud`, reconnectMinMs: 50, reconnectMaxMs: 300, callTimeoutMs: 2000 },
      }),
    );
    try {
      ems = await startEms(configPath, dir);
      const first = new StrictCharger(ems.ocppPort, 'CP002', 'ocpp1.6');
      chargers.push(first);
      await first.connect();
      await waitFor(() => cloud.clients.has('GW-CP002'), 'the uplink');
      await first.boot();
      const t = (offsetS: number) => new Date(Date.UTC(2026, 11, 6, 6, 0, offsetS)).toISOString();
      const status = (charger: StrictCharger, state: string, offsetS: number) => charger.call('StatusNotification', { connectorId: 1, status: state, errorCode: 'NoError', timestamp: t(offsetS) });
      // Online: the CSMS names the transaction.
      const started = await first.start16(1, 'TAG1', t(0), 100);
      expect(started.transactionId).toBe(9001);
      await status(first, 'Charging', 1);

      // The CSMS goes away; the car goes on charging.
      const wentAway = ems.lines.length;
      await cloud.stop();
      await waitFor(() => ems!.lines.slice(wentAway).some((l) => /uplink to the CSMS lost/.test(l.msg)), 'the EMS to see the uplink down');
      await first.meter16(1, t(10), 400);
      await status(first, 'SuspendedEV', 12);
      await first.meter16(1, t(20), 600);

      ems.child.kill('SIGKILL');
      await ems.exited;
      await first.close().catch(() => undefined);

      ems = await startEms(configPath, dir);
      const back = new StrictCharger(ems.ocppPort, 'CP002', 'ocpp1.6');
      chargers.push(back);
      await back.connect();
      back.activeTx.set(1, started.transactionId);
      await back.meter16(1, t(30), 800);
      await back.stop16(1, t(40), 1200);
      await status(back, 'Available', 41);

      const before = cloud.received.length;
      await cloud.start(port);
      await waitFor(() => ems!.lines.some((l) => l.msg === 'every held-back frame delivered to the CSMS'), 'the queue to drain', 15_000);
      const delivered = cloud.received.slice(before).filter((r) => r.identity === 'GW-CP002');
      expect(delivered.map((r) => [r.action, r.params.timestamp ?? r.params.meterValue[0].timestamp, r.params.transactionId ?? r.params.status])).toEqual([
        ['MeterValues', t(10), 9001],
        ['MeterValues', t(20), 9001],
        ['MeterValues', t(30), 9001],
        ['StopTransaction', t(40), 9001],
        // SuspendedEV (t 12) was replaced by the newer status of the same connector.
        ['StatusNotification', t(41), 'Available'],
      ]);
    } finally {
      await cloud.stop();
    }
  }, 120_000);
  it('2.0.1 behind the EMS and a 2.0.1 CSMS: the boot and every TransactionEvent answered before a kill -9 reach the CSMS after it, in order, once', async () => {
    const cloud = new TestCsms();
    await cloud.start();
    const port = cloud.port;
    await cloud.stop();
    const configPath = join(dir, 'site-201.yaml');
    writeFileSync(
      configPath,
      stringify({
        site: { name: 'Upstream kill test 2.0.1' },
        grid: { maxCurrent: 63 },
        chargers: [{ id: 'CS201', connectors: 1, upstreamId: 'GW-CS201' }],
        idTags: [{ idTag: 'TAG1', tier: 'staff' }],
        ocpp: { host: '127.0.0.1', port: 0 },
        http: { host: '127.0.0.1', port: 0 },
        storage: { path: join(dir, 'data-201', 'ems.sqlite') },
        upstream: { url: `ws://127.0.0.1:${port}/cloud`, reconnectMinMs: 50, reconnectMaxMs: 300, callTimeoutMs: 2000 },
      }),
    );
    try {
      ems = await startEms(configPath, dir);
      const first = new StrictCharger(ems.ocppPort, 'CS201', 'ocpp2.0.1');
      chargers.push(first);
      await first.connect();
      // The CSMS is down from the start: the EMS answers the boot and holds it (on disk).
      expect((await first.boot()).status).toBe('Accepted');
      const t = (offsetS: number) => new Date(Date.UTC(2026, 11, 6, 7, 0, offsetS)).toISOString();
      const energy = (wh: number) => [{ timestamp: t(0), sampledValue: [{ value: wh, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' } }] }];
      const started = await first.transactionEvent('Started', 'TX-201-A', t(0), {
        evse: { id: 1, connectorId: 1 },
        idToken: { idToken: 'TAG1', type: 'ISO14443' },
        meterValue: energy(100),
        transactionInfo: { transactionId: 'TX-201-A', chargingState: 'Charging' },
      });
      expect(started.idTokenInfo.status).toBe('Accepted');
      await first.transactionEvent('Updated', 'TX-201-A', t(10), { meterValue: energy(400) });

      ems.child.kill('SIGKILL');
      await ems.exited;
      await first.close().catch(() => undefined);

      ems = await startEms(configPath, dir);
      const back = new StrictCharger(ems.ocppPort, 'CS201', 'ocpp2.0.1');
      chargers.push(back);
      await back.connect();
      await back.transactionEvent('Updated', 'TX-201-A', t(20), { meterValue: energy(800) });
      await back.transactionEvent('Ended', 'TX-201-A', t(30), { meterValue: energy(1200), transactionInfo: { transactionId: 'TX-201-A', stoppedReason: 'Local' } });

      await cloud.start(port);
      await waitFor(() => ems!.lines.some((l) => l.msg === 'every held-back frame delivered to the CSMS'), 'the queue to drain', 15_000);
      const delivered = cloud.from('GW-CS201').filter((r) => r.action === 'BootNotification' || r.action === 'TransactionEvent');
      expect(delivered.map((r) => [r.action, r.params.eventType, r.params.timestamp, r.params.transactionInfo?.transactionId])).toEqual([
        ['BootNotification', undefined, undefined, undefined],
        ['TransactionEvent', 'Started', t(0), 'TX-201-A'],
        ['TransactionEvent', 'Updated', t(10), 'TX-201-A'],
        ['TransactionEvent', 'Updated', t(20), 'TX-201-A'],
        ['TransactionEvent', 'Ended', t(30), 'TX-201-A'],
      ]);
      // The charger's own sequence numbers, as it sent them.
      expect(delivered.slice(1).map((r) => r.params.seqNo)).toEqual([0, 1, 0, 1]);
    } finally {
      await cloud.stop();
    }
  }, 120_000);
  it('2.0.1 behind the EMS and a 1.6 CSMS: after a kill -9 while offline, the events reach the CSMS as MeterValues and StopTransaction under the id it gave before the crash, the start once', async () => {
    const cloud = new TestCsms();
    await cloud.start();
    const port = cloud.port;
    const configPath = join(dir, 'site-201-16.yaml');
    writeFileSync(
      configPath,
      stringify({
        site: { name: 'Upstream kill test 2.0.1 to 1.6' },
        grid: { maxCurrent: 63 },
        chargers: [{ id: 'CS201', connectors: 1, upstreamId: 'GW-CS201-16' }],
        idTags: [{ idTag: 'TAG1', tier: 'staff' }],
        ocpp: { host: '127.0.0.1', port: 0 },
        http: { host: '127.0.0.1', port: 0 },
        storage: { path: join(dir, 'data-201-16', 'ems.sqlite') },
        upstream: { url: `ws://127.0.0.1:${port}/cloud`, protocol: 'ocpp1.6', reconnectMinMs: 50, reconnectMaxMs: 300, callTimeoutMs: 5000 },
      }),
    );
    try {
      ems = await startEms(configPath, dir);
      const first = new StrictCharger(ems.ocppPort, 'CS201', 'ocpp2.0.1');
      chargers.push(first);
      await first.connect();
      expect((await first.boot()).status).toBe('Accepted');
      const t = (offsetS: number) => new Date(Date.UTC(2026, 11, 6, 7, 0, offsetS)).toISOString();
      const energy = (wh: number, offsetS: number) => [{ timestamp: t(offsetS), sampledValue: [{ value: wh, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' } }] }];
      await first.transactionEvent('Started', 'TX-201-B', t(0), { evse: { id: 1, connectorId: 1 }, idToken: { idToken: 'TAG1', type: 'ISO14443' }, meterValue: energy(100, 0) });
      await waitFor(() => ems!.lines.some((l) => l.msg === 'station transaction known to the 1.6 CSMS'), 'the CSMS to name the transaction');
      await cloud.stop();
      await waitFor(() => ems!.lines.some((l) => /uplink to the CSMS lost/.test(l.msg)), 'the uplink down');
      await first.transactionEvent('Updated', 'TX-201-B', t(10), { meterValue: energy(400, 10) });

      ems.child.kill('SIGKILL');
      await ems.exited;
      await first.close().catch(() => undefined);

      ems = await startEms(configPath, dir);
      const back = new StrictCharger(ems.ocppPort, 'CS201', 'ocpp2.0.1');
      chargers.push(back);
      await back.connect();
      await back.transactionEvent('Updated', 'TX-201-B', t(20), { meterValue: energy(800, 20) });
      await back.transactionEvent('Ended', 'TX-201-B', t(30), { meterValue: energy(1200, 30), transactionInfo: { transactionId: 'TX-201-B', stoppedReason: 'Local' } });

      await cloud.start(port);
      await waitFor(() => cloud.from('GW-CS201-16', 'StopTransaction').length === 1, 'the stop at the CSMS', 15_000);
      const records = cloud.from('GW-CS201-16').filter((r) => ['StartTransaction', 'MeterValues', 'StopTransaction'].includes(r.action));
      expect(records.map((r) => [r.action, r.params.timestamp ?? r.params.meterValue?.[0]?.timestamp, r.params.transactionId])).toEqual([
        ['StartTransaction', t(0), undefined],
        // The Started event's register (no Transaction.Begin context) is meterStart and a meter value.
        ['MeterValues', t(0), 9001],
        ['MeterValues', t(10), 9001],
        ['MeterValues', t(20), 9001],
        ['StopTransaction', t(30), 9001],
      ]);
      expect(records.at(-1)!.params).toMatchObject({ meterStop: 1200, reason: 'Local' });
    } finally {
      await cloud.stop();
    }
  }, 120_000);

  it('kill -9 in the middle of a burst from 5 chargers while offline: every frame a charger got an answer for reaches the CSMS after the restart', async () => {
    const cloud = new TestCsms();
    await cloud.start();
    const port = cloud.port;
    await cloud.stop();
    const ids = ['B1', 'B2', 'B3', 'B4', 'B5'];
    const configPath = join(dir, 'site-burst.yaml');
    writeFileSync(
      configPath,
      stringify({
        site: { name: 'Upstream burst kill test' },
        grid: { maxCurrent: 400 },
        chargers: ids.map((id) => ({ id, connectors: 1, upstreamId: `GW-${id}` })),
        idTags: [{ idTag: 'TAG1', tier: 'staff' }],
        ocpp: { host: '127.0.0.1', port: 0 },
        http: { host: '127.0.0.1', port: 0 },
        storage: { path: join(dir, 'data-burst', 'ems.sqlite') },
        upstream: { url: `ws://127.0.0.1:${port}/cloud`, reconnectMinMs: 50, reconnectMaxMs: 300, callTimeoutMs: 2000 },
      }),
    );
    try {
      ems = await startEms(configPath, dir);
      const t = (offsetS: number) => new Date(Date.UTC(2026, 11, 6, 8, 0, 0) + offsetS * 1000).toISOString();
      /** What each charger was answered: [identity, action, timestamp]. */
      const acknowledged: string[] = [];
      let killed = false;
      const burst = async (id: string) => {
        const charger = new StrictCharger(ems!.ocppPort, id, 'ocpp1.6');
        chargers.push(charger);
        await charger.connect();
        let second = 0;
        const sent = async (action: string, run: () => Promise<unknown>, at: string) => {
          await run();
          acknowledged.push(`GW-${id} ${action} ${at}`);
        };
        try {
          // Sessions back to back (a start, meter values, a stop) until the EMS dies under them.
          for (let session = 0; session < 50 && !killed; session++) {
            const start = t(second++);
            await sent('StartTransaction', () => charger.start16(1, 'TAG1', start, second * 10), start);
            for (let i = 0; i < 5 && !killed; i++) {
              const at = t(second++);
              await sent('MeterValues', () => charger.meter16(1, at, second * 10), at);
            }
            const stop = t(second++);
            await sent('StopTransaction', () => charger.stop16(1, stop, second * 10), stop);
          }
        } catch {
          // The EMS was killed with this frame in flight: unanswered, so the charger still has it.
        }
      };
      const bursts = ids.map((id) => burst(id));
      await waitFor(() => acknowledged.length >= 120, '120 acknowledged frames', 60_000);
      ems.child.kill('SIGKILL');
      killed = true;
      await ems.exited;
      await Promise.all(bursts);
      const answered = [...acknowledged];
      for (const c of chargers.splice(0)) await c.close().catch(() => undefined);

      ems = await startEms(configPath, dir);
      for (const id of ids) {
        const back = new StrictCharger(ems.ocppPort, id, 'ocpp1.6');
        chargers.push(back);
        await back.connect();
      }
      await cloud.start(port);
      await waitFor(() => ems!.lines.filter((l) => l.msg === 'every held-back frame delivered to the CSMS').length >= ids.length, 'every queue to drain', 30_000);
      const delivered = new Set(
        cloud.received
          .filter((r) => ['StartTransaction', 'MeterValues', 'StopTransaction'].includes(r.action))
          .map((r) => `${r.identity} ${r.action} ${r.params.timestamp ?? r.params.meterValue[0].timestamp}`),
      );
      expect(answered.length).toBeGreaterThanOrEqual(120);
      expect(answered.filter((frame) => !delivered.has(frame))).toEqual([]);
    } finally {
      await cloud.stop();
    }
  }, 180_000);
});
