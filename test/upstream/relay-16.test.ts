// Local-controller mode with OCPP 1.6J: a strict charger behind the EMS, an independent strict
// CSMS above it, everything over loopback WebSockets.
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectorCap } from '../../optimizer/types.ts';
import { capturingLogger } from '../ocpp/system.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { relayConfig, startLocalController, T0 } from './local-controller.ts';
import { CHARGER_ANSWERS_16, StrictCharger, TestCsms } from './peers.ts';

type Ems = Awaited<ReturnType<typeof startLocalController>>;

const cap = (connectorId: number, currentA: number): ConnectorCap => ({ chargerId: 'CP16', connectorId, currentA, phases: 3, reason: { kind: 'charger', text: 'test' } });
const at = (offsetS: number) => new Date(T0 + offsetS * 1000).toISOString();

describe('local controller, OCPP 1.6J', () => {
  let csms: TestCsms;
  let ems: Ems;
  let charger: StrictCharger;

  beforeEach(async () => {
    csms = new TestCsms();
    csms.passwords.set('CLOUD-CP16', 'cloud-password-16');
    await csms.start();
  });

  afterEach(async () => {
    await charger?.close().catch(() => undefined);
    await ems?.stop();
    await csms.stop();
  });

  async function connect(options: { csmsFirst?: boolean } = {}): Promise<void> {
    ems = await startLocalController(relayConfig(csms.url));
    charger = new StrictCharger(ems.cs.port, 'CP16', 'ocpp1.6');
    charger.nowMs = () => ems.clock.nowMs();
    const ready = ems.cs.whenReady('CP16');
    await charger.connect();
    if (options.csmsFirst !== false) await waitFor(() => csms.clients.has('CLOUD-CP16'), 'the uplink with the charger identity');
    await charger.boot();
    await ready;
  }

  it("relays every charger message to the CSMS unchanged, under the charger's upstream identity, and answers with the CSMS's answers", async () => {
    await connect();
    const frames: [string, any][] = [
      ['Heartbeat', {}],
      ['StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Preparing', timestamp: at(1) }],
      ['Authorize', { idTag: 'CLOUD01' }],
      ['StartTransaction', { connectorId: 1, idTag: 'CLOUD01', meterStart: 1000, timestamp: at(2) }],
      ['MeterValues', { connectorId: 1, transactionId: 9001, meterValue: [{ timestamp: at(3), sampledValue: [{ value: '1500', measurand: 'Energy.Active.Import.Register', unit: 'Wh' }] }] }],
      ['StopTransaction', { transactionId: 9001, meterStop: 2000, timestamp: at(4), reason: 'Local' }],
      ['DataTransfer', { vendorId: 'com.example', messageId: 'hello', data: 'x' }],
      ['DiagnosticsStatusNotification', { status: 'Uploaded' }],
      ['FirmwareStatusNotification', { status: 'Installed' }],
    ];
    const answers: Record<string, any> = {};
    for (const [action, params] of frames) answers[action] = await charger.call(action, params);

    const seen = csms.from('CLOUD-CP16').map((r) => [r.action, r.params]);
    expect(seen[0]).toEqual(['BootNotification', { chargePointVendor: 'Strict', chargePointModel: 'Relay-16' }]);
    expect(seen.slice(1)).toEqual(frames);
    expect(answers.StartTransaction).toEqual({ transactionId: 9001, idTagInfo: { status: 'Accepted' } });
    expect(answers.Authorize).toEqual({ idTagInfo: { status: 'Accepted' } });
    expect(answers.DataTransfer).toEqual({ status: 'Accepted', data: 'from-csms' });
    // The EMS's own bookkeeping saw the session too, under its own id.
    expect(ems.sessions.map((s) => s.event)).toEqual(['started', 'ended']);
    expect(ems.sessions[1]).toMatchObject({ meterStopWh: 2000 });
  });

  it("a start or a stop the charger was answered is in the EMS's session book already, however slow its disk (the flaky 'relays every charger message')", async () => {
    await connect();
    // A busy disk (another test file writing): every group commit of the session book takes 300 ms.
    const transactions = ems.store.transactions;
    const flushed = transactions.flushed!.bind(transactions);
    transactions.flushed = async () => {
      await flushed();
      await new Promise((resolve) => setTimeout(resolve, 300));
    };
    const started = await charger.start16(1, 'CLOUD01', at(1));
    expect(ems.sessions.map((s) => s.event)).toEqual(['started']);
    await charger.meter16(1, at(2), 1500);
    await charger.stop16(1, at(3), 2000);
    // What the charger was just told, the EMS knows: the session ended, under the EMS's own id.
    expect(ems.sessions.map((s) => s.event)).toEqual(['started', 'ended']);
    expect(ems.sessions[1]).toMatchObject({ meterStopWh: 2000, transactionId: ems.sessions[0].transactionId });
    expect(transactions.open()).toEqual([]);
    expect(started.transactionId).toBe(9001);
  });

  it("answers a start and a stop the CSMS answered once the EMS's records are written (another process reads them, as after kill -9), not after their group commit; the EMS's own answers offline wait for it", async () => {
    await connect();
    // The disk holds every group commit until the test lets it go.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let commitsAsked = 0;
    /** Group commits asked for the id map (the upstream store's), which the session book's may not cover. */
    let mapCommitsAsked = 0;
    for (const store of [ems.store.transactions, ems.store.upstream]) {
      const flushed = store.flushed!.bind(store);
      store.flushed = async () => {
        commitsAsked++;
        if (store === ems.store.upstream) mapCommitsAsked++;
        await held;
        await flushed();
      };
    }
    const onDisk = () => {
      const other = new BetterSqlite3(join(ems.dir, 'ems.sqlite'), { readonly: true });
      try {
        return {
          transactions: other.prepare('SELECT id, stopped_at_ms IS NOT NULL AS stopped FROM transactions ORDER BY id').all(),
          ids: other.prepare('SELECT charger_tx_id AS chargerTxId, local_tx_id AS localTxId, csms_tx_id AS csmsTxId FROM upstream_transactions').all(),
        };
      } finally {
        other.close();
      }
    };
    // Online: answered while every group commit is still held (on the old code the answer waited for it).
    const started = await charger.start16(1, 'CLOUD01', at(1));
    expect(started.transactionId).toBe(9001);
    const localTxId = ems.sessions[0].transactionId;
    expect(onDisk()).toEqual({ transactions: [{ id: localTxId, stopped: 0 }], ids: [{ chargerTxId: '9001', localTxId, csmsTxId: '9001' }] });
    // The id map is written after the session book asked for its commit: it asks for one of its own.
    expect(mapCommitsAsked).toBe(1);
    await charger.stop16(1, at(2), 2000);
    expect(onDisk().transactions).toEqual([{ id: localTxId, stopped: 1 }]);
    expect(commitsAsked).toBeGreaterThan(0);
    // Offline the EMS answers on its own authority: only once its group commit is done.
    await csms.stop();
    await waitFor(() => ems.status('CP16').uplink === 'offline', 'the EMS to see the uplink down');
    const asked = commitsAsked;
    let released = false;
    const offline = charger.start16(2, 'LOCAL01', at(3)).then((answer) => ({ answer, released }));
    await waitFor(() => commitsAsked > asked, 'the offline start to ask for its group commit');
    // Time for an answer that did not wait to reach the charger (none must).
    await new Promise((resolve) => setTimeout(resolve, 200));
    released = true;
    release();
    const { answer, released: releasedFirst } = await offline;
    expect(releasedFirst).toBe(true);
    expect(answer.idTagInfo).toEqual({ status: 'Accepted' });
  });

  it("gives the charger the CSMS's boot interval and refuses what the CSMS refuses", async () => {
    ems = await startLocalController(relayConfig(csms.url));
    charger = new StrictCharger(ems.cs.port, 'CP16', 'ocpp1.6');
    await charger.connect();
    await waitFor(() => csms.clients.has('CLOUD-CP16'), 'uplink');
    expect(await charger.boot()).toMatchObject({ status: 'Accepted', interval: 123 });
    csms.answers.DataTransfer = () => {
      throw Object.assign(new Error('no'), { rpcErrorCode: 'NotSupported' });
    };
    await expect(charger.call('DataTransfer', { vendorId: 'x' })).rejects.toMatchObject({ rpcErrorCode: 'NotSupported' });
  });

  it('forwards every CSMS call to the charger and answers with what the charger answered', async () => {
    await connect();
    await charger.start16(1, 'CLOUD01', at(1));
    const calls: [string, any][] = [
      ['RemoteStartTransaction', { connectorId: 2, idTag: 'CLOUD01' }],
      ['RemoteStopTransaction', { transactionId: 9001 }],
      ['Reset', { type: 'Soft' }],
      ['UnlockConnector', { connectorId: 1 }],
      ['ChangeConfiguration', { key: 'HeartbeatInterval', value: '60' }],
      ['GetConfiguration', { key: ['HeartbeatInterval'] }],
      ['TriggerMessage', { requestedMessage: 'StatusNotification', connectorId: 1 }],
      ['ChangeAvailability', { connectorId: 0, type: 'Operative' }],
      ['ClearCache', {}],
      ['DataTransfer', { vendorId: 'com.example', data: 'ping' }],
      ['GetDiagnostics', { location: 'ftp://127.0.0.1/diag' }],
      ['UpdateFirmware', { location: 'ftp://127.0.0.1/fw.bin', retrieveDate: at(60) }],
      ['SendLocalList', { listVersion: 7, updateType: 'Full', localAuthorizationList: [{ idTag: 'CLOUD01', idTagInfo: { status: 'Accepted' } }] }],
      ['GetLocalListVersion', {}],
      ['ReserveNow', { connectorId: 2, expiryDate: at(600), idTag: 'CLOUD01', reservationId: 5 }],
      ['CancelReservation', { reservationId: 5 }],
    ];
    for (const [action, params] of calls) {
      const before = charger.received.length;
      const answer = await csms.call('CLOUD-CP16', action, params);
      const reached = charger.received.slice(before).find((r) => r.action === action);
      expect(reached?.params, action).toEqual(params);
      if (action !== 'GetConfiguration') expect(answer, action).toEqual(CHARGER_ANSWERS_16[action]);
      else expect(answer.configurationKey).toEqual([{ key: 'HeartbeatInterval', readonly: false, value: '300' }]);
    }
  });

  it('a RemoteStartTransaction from the CSMS reaches the charger, its answer comes back, and the start it causes goes up', async () => {
    await connect();
    charger.received.length = 0;
    const answer = await csms.call('CLOUD-CP16', 'RemoteStartTransaction', { connectorId: 1, idTag: 'CLOUD01' });
    // (The EMS's own GetCompositeSchedule after the setup may cross: it verifies what the charger holds.)
    expect(charger.received.filter((r) => r.action !== 'GetCompositeSchedule')).toEqual([{ action: 'RemoteStartTransaction', params: { connectorId: 1, idTag: 'CLOUD01' } }]);
    expect(answer).toEqual({ status: 'Accepted' });
    const started = await charger.start16(1, 'CLOUD01', at(5));
    expect(started.transactionId).toBe(9001);
    // A stop the CSMS asks for names its own id; the charger knows the transaction by it.
    await csms.call('CLOUD-CP16', 'RemoteStopTransaction', { transactionId: 9001 });
    expect(charger.received.at(-1)).toEqual({ action: 'RemoteStopTransaction', params: { transactionId: 9001 } });
  });

  it('a CSMS profile of 10 A under an EMS cap of 16 A gives 10 A at the charger, and the reverse', async () => {
    await connect();
    await charger.start16(1, 'CLOUD01', at(1));
    await ems.cs.applyCaps([cap(1, 16), cap(2, 16)]);
    const csmsProfile = (limit: number) => ({
      connectorId: 1,
      csChargingProfiles: {
        chargingProfileId: 77,
        transactionId: 9001,
        stackLevel: 0,
        chargingProfilePurpose: 'TxProfile',
        chargingProfileKind: 'Relative',
        chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit }] },
      },
    });
    expect(await csms.call('CLOUD-CP16', 'SetChargingProfile', csmsProfile(10))).toEqual({ status: 'Accepted' });
    const now = () => ems.clock.nowMs();
    expect(charger.limitA(1, now())).toBe(10);
    // The CSMS's profile is kept by the EMS, never installed as the CSMS sent it.
    expect(charger.profiles.some((p) => p.id === 77)).toBe(false);

    // The reverse: the CSMS allows 16 A, the EMS caps at 10 A.
    expect(await csms.call('CLOUD-CP16', 'SetChargingProfile', csmsProfile(16))).toEqual({ status: 'Accepted' });
    ems.clock.advance(1_000);
    await ems.cs.applyCaps([cap(1, 10), cap(2, 16)]);
    expect(charger.limitA(1, now())).toBe(10);

    // The CSMS's composite schedule is what the charger holds: the minimum of both.
    const composite = await csms.call('CLOUD-CP16', 'GetCompositeSchedule', { connectorId: 1, duration: 600, chargingRateUnit: 'A' });
    expect(composite.chargingSchedule.chargingSchedulePeriod[0].limit).toBe(10);

    // The CSMS clears its profile: the EMS's own cap alone applies again.
    expect(await csms.call('CLOUD-CP16', 'ClearChargingProfile', { id: 77 })).toEqual({ status: 'Accepted' });
    expect(await csms.call('CLOUD-CP16', 'ClearChargingProfile', { id: 77 })).toEqual({ status: 'Unknown' });
    ems.clock.advance(1_000);
    await ems.cs.applyCaps([cap(1, 16), cap(2, 16)]);
    expect(charger.limitA(1, now())).toBe(16);
  });

  it('a CSMS that asks for more than the site allows never lifts the charger above the EMS’s caps', async () => {
    await connect();
    await charger.start16(1, 'CLOUD01', at(1));
    // The site is tight: the EMS gives 6 A and 8 A.
    await ems.cs.applyCaps([cap(1, 6), cap(2, 8)]);
    const absolute = (limit: number) => ({ startSchedule: at(-60), chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit }] });
    // The CSMS: 80 A charger-wide at a high stack level, a 63 A TxProfile, a RemoteStart carrying 70 A.
    expect(
      await csms.call('CLOUD-CP16', 'SetChargingProfile', {
        connectorId: 0,
        csChargingProfiles: { chargingProfileId: 901, stackLevel: 9, chargingProfilePurpose: 'ChargePointMaxProfile', chargingProfileKind: 'Absolute', chargingSchedule: absolute(80) },
      }),
    ).toEqual({ status: 'Accepted' });
    expect(
      await csms.call('CLOUD-CP16', 'SetChargingProfile', {
        connectorId: 1,
        csChargingProfiles: { chargingProfileId: 902, transactionId: 9001, stackLevel: 9, chargingProfilePurpose: 'TxProfile', chargingProfileKind: 'Absolute', chargingSchedule: absolute(63) },
      }),
    ).toEqual({ status: 'Accepted' });
    expect(
      await csms.call('CLOUD-CP16', 'RemoteStartTransaction', {
        connectorId: 2,
        idTag: 'CLOUD01',
        chargingProfile: { chargingProfileId: 903, stackLevel: 9, chargingProfilePurpose: 'TxProfile', chargingProfileKind: 'Relative', chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 70 }] } },
      }),
    ).toEqual({ status: 'Accepted' });
    await charger.start16(2, 'CLOUD01', at(2));
    ems.clock.advance(1_000);
    await ems.cs.applyCaps([cap(1, 6), cap(2, 8)]);
    for (const offsetMs of [0, 30_000, 60_000]) {
      expect(charger.limitA(1, ems.clock.nowMs() + offsetMs), `connector 1 at +${offsetMs} ms`).toBeLessThanOrEqual(6);
      expect(charger.limitA(2, ems.clock.nowMs() + offsetMs), `connector 2 at +${offsetMs} ms`).toBeLessThanOrEqual(8);
    }
    // None of the CSMS's profiles is on the charger as sent.
    expect(charger.profiles.filter((p) => [901, 902, 903].includes(p.id))).toEqual([]);
    // Charger-wide: the EMS's own bound (2 connectors × 32 A), not the CSMS's 80 A; per connector: the caps.
    const highest = (filter: (p: { connectorId: number }) => boolean) => Math.max(...charger.profiles.filter(filter).flatMap((p) => p.periods.map((period: { limit: number }) => period.limit)));
    expect(highest((p) => p.connectorId === 0)).toBeLessThanOrEqual(64);
    expect(highest((p) => p.connectorId !== 0)).toBeLessThanOrEqual(8);
  });

  it("a CSMS charger-wide limit of 10 A caps every connector's EMS default of 16 A", async () => {
    await connect();
    await ems.cs.applyCaps([cap(1, 16), cap(2, 16)]);
    const answer = await csms.call('CLOUD-CP16', 'SetChargingProfile', {
      connectorId: 0,
      csChargingProfiles: {
        chargingProfileId: 5,
        stackLevel: 3,
        chargingProfilePurpose: 'ChargePointMaxProfile',
        chargingProfileKind: 'Absolute',
        chargingSchedule: { startSchedule: at(-60), chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 10 }] },
      },
    });
    expect(answer).toEqual({ status: 'Accepted' });
    expect(charger.limitA(1, ems.clock.nowMs())).toBe(10);
    expect(charger.limitA(2, ems.clock.nowMs())).toBe(10);
  });

  it('uplink down for a minute while cars start and stop: the CSMS later gets every Start/MeterValues/Stop once, in order, with original timestamps and its own ids', async () => {
    await connect();
    // A tag the CSMS accepted while online is remembered for offline use.
    await charger.call('Authorize', { idTag: 'CLOUD01' });
    await csms.stop();
    await waitFor(() => ems.status('CP16').uplink !== 'online' && ems.status('CP16').uplink, 'the EMS to see the uplink down');

    // A minute offline (charger timestamps), two sessions on two connectors.
    expect(await charger.call('Authorize', { idTag: 'CLOUD01' })).toEqual({ idTagInfo: { status: 'Accepted' } });
    expect(await charger.call('Authorize', { idTag: 'LOCAL01' })).toEqual({ idTagInfo: { status: 'Accepted' } });
    expect(await charger.call('Authorize', { idTag: 'STRANGER' })).toEqual({ idTagInfo: { status: 'Invalid' } });
    const a = await charger.start16(1, 'CLOUD01', at(10), 100);
    const b = await charger.start16(2, 'LOCAL01', at(15), 500);
    expect(a.idTagInfo.status).toBe('Accepted');
    expect(a.transactionId).not.toBe(b.transactionId);
    // Balancing goes on offline: the EMS's TxProfile names the id the charger was given.
    await ems.cs.applyCaps([cap(1, 13), cap(2, 7)]);
    expect(charger.profiles.find((p) => p.purpose === 'TxProfile' && p.connectorId === 1)).toBeDefined();
    expect(charger.limitA(1, ems.clock.nowMs())).toBe(13);
    await charger.meter16(1, at(20), 300);
    await charger.meter16(2, at(25), 900);
    await charger.stop16(1, at(40), 700);
    await charger.meter16(2, at(50), 1300);
    await charger.stop16(2, at(70), 1500);
    expect(ems.status('CP16').queueLength).toBe(7);
    // Balancing went on: the EMS's bookkeeping has both sessions.
    expect(ems.sessions.filter((s) => s.event === 'ended')).toHaveLength(2);

    await csms.start(csms.port);
    await waitFor(() => ems.status('CP16').uplink === 'online' && ems.status('CP16').queueLength === 0, 'the queue to drain', 10_000);
    const delivered = csms.from('CLOUD-CP16').filter((r) => ['StartTransaction', 'StopTransaction', 'MeterValues'].includes(r.action));
    const startA = delivered.find((r) => r.action === 'StartTransaction' && r.params.connectorId === 1)!;
    const startB = delivered.find((r) => r.action === 'StartTransaction' && r.params.connectorId === 2)!;
    expect(delivered.map((r) => [r.action, r.params.timestamp ?? r.params.meterValue[0].timestamp])).toEqual([
      ['StartTransaction', at(10)],
      ['StartTransaction', at(15)],
      ['MeterValues', at(20)],
      ['MeterValues', at(25)],
      ['StopTransaction', at(40)],
      ['MeterValues', at(50)],
      ['StopTransaction', at(70)],
    ]);
    // Reconciled: the CSMS's ids (9001, 9002), not the ones the charger was given offline.
    expect([startA, startB].map((s) => s.params.meterStart)).toEqual([100, 500]);
    expect(delivered.filter((r) => r.action !== 'StartTransaction').map((r) => r.params.transactionId)).toEqual([9001, 9002, 9001, 9002, 9002]);
    // Once: nothing more arrives after the queue is empty.
    await charger.call('Heartbeat', {});
    expect(csms.from('CLOUD-CP16').filter((r) => ['StartTransaction', 'StopTransaction', 'MeterValues'].includes(r.action))).toHaveLength(7);
  });

  it('offline queue is bounded: the oldest meter values give way, never a start, a stop or the latest status of a connector; delivered in order', async () => {
    ems = await startLocalController(relayConfig(csms.url, { upstream: { url: csms.url, callTimeoutMs: 2_000, reconnectMinMs: 20, reconnectMaxMs: 200, maxQueuedFrames: 10 } }));
    charger = new StrictCharger(ems.cs.port, 'CP16', 'ocpp1.6');
    charger.nowMs = () => ems.clock.nowMs();
    const ready = ems.cs.whenReady('CP16');
    await charger.connect();
    await waitFor(() => csms.clients.has('CLOUD-CP16'), 'uplink');
    await charger.boot();
    await ready;
    await csms.stop();
    await waitFor(() => ems.status('CP16').uplink === 'offline', 'the EMS to see the uplink down');
    const status = (connectorId: number, state: string, offsetS: number) =>
      charger.call('StatusNotification', { connectorId, status: state, errorCode: state === 'Faulted' ? 'OtherError' : 'NoError', timestamp: at(offsetS) });

    await status(1, 'Preparing', 1);
    await charger.start16(1, 'LOCAL01', at(2), 0);
    await status(1, 'Charging', 3);
    for (let i = 1; i <= 15; i++) await charger.meter16(1, at(10 * i), 100 * i);
    await status(2, 'Faulted', 200);
    await charger.stop16(1, at(210), 2000);
    await status(1, 'Finishing', 211);
    expect(ems.status('CP16').queueLength).toBe(10);

    const before = csms.received.length;
    await csms.start(csms.port);
    await waitFor(() => ems.status('CP16').uplink === 'online' && ems.status('CP16').queueLength === 0, 'the queue to drain', 10_000);
    const delivered = csms.received.slice(before).filter((r) => r.identity === 'CLOUD-CP16' && r.action !== 'BootNotification');
    expect(delivered.map((r) => [r.action, r.params.timestamp ?? r.params.meterValue[0].timestamp, r.params.status ?? null])).toEqual([
      ['StartTransaction', at(2), null],
      ...[10, 11, 12, 13, 14, 15].map((i) => ['MeterValues', at(10 * i), null]),
      ['StatusNotification', at(200), 'Faulted'],
      ['StopTransaction', at(210), null],
      ['StatusNotification', at(211), 'Finishing'],
    ]);
  });

  it('a transaction started online and stopped offline is stopped at the CSMS under its id', async () => {
    await connect();
    const started = await charger.start16(1, 'CLOUD01', at(1));
    expect(started.transactionId).toBe(9001);
    await csms.stop();
    await waitFor(() => ems.status('CP16').uplink !== 'online', 'uplink down');
    await charger.stop16(1, at(30), 4000);
    expect(ems.sessions.map((s) => s.event)).toEqual(['started', 'ended']);
    await csms.start(csms.port);
    await waitFor(() => ems.status('CP16').queueLength === 0 && ems.status('CP16').uplink === 'online', 'drain', 10_000);
    expect(csms.from('CLOUD-CP16', 'StopTransaction').map((r) => r.params)).toEqual([{ transactionId: 9001, meterStop: 4000, timestamp: at(30), reason: 'Local' }]);
  });

  it("an upstream that refuses the charger's password is logged and the charger keeps being balanced", async () => {
    csms.passwords.set('CLOUD-CP16', 'another-password');
    const { log, lines } = await capturingLogger();
    ems = await startLocalController(relayConfig(csms.url), { log });
    charger = new StrictCharger(ems.cs.port, 'CP16', 'ocpp1.6');
    const ready = ems.cs.whenReady('CP16');
    await charger.connect();
    await charger.boot();
    await ready;
    await waitFor(() => ems.status('CP16').uplink === 'refused', 'the uplink to be refused');
    expect(lines.some((l) => l.level >= 50 && /refused the charger's identity or upstreamPassword/.test(l.msg))).toBe(true);
    // Logged once while the refusal recurs.
    await waitFor(() => csms.refusedHandshakes.length >= 3, 'retries');
    expect(lines.filter((l) => /refused the charger's identity/.test(l.msg))).toHaveLength(1);
    // Balancing goes on: the EMS's cap reaches the charger.
    await charger.start16(1, 'LOCAL01', at(1));
    await ems.cs.applyCaps([cap(1, 12), cap(2, 6)]);
    expect(charger.limitA(1, ems.clock.nowMs())).toBe(12);
    // The boot the EMS answered and the start wait for the CSMS, durably.
    expect(ems.status('CP16')).toMatchObject({ chargerLink: 'connected', uplink: 'refused', queueLength: 2 });
  });

  it("keeps the CSMS's profiles across an EMS restart: the charger still gets the minimum", async () => {
    await connect();
    const profile = {
      connectorId: 0,
      csChargingProfiles: {
        chargingProfileId: 8,
        stackLevel: 0,
        chargingProfilePurpose: 'TxDefaultProfile',
        chargingProfileKind: 'Absolute',
        chargingSchedule: { startSchedule: at(-60), chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 9 }] },
      },
    };
    expect(await csms.call('CLOUD-CP16', 'SetChargingProfile', profile)).toEqual({ status: 'Accepted' });
    const dir = ems.dir;
    await charger.close();
    await ems.stop({ keepDir: true });
    ems = await startLocalController(relayConfig(csms.url), { dir });
    charger = new StrictCharger(ems.cs.port, 'CP16', 'ocpp1.6');
    charger.nowMs = () => ems.clock.nowMs();
    const ready = ems.cs.whenReady('CP16');
    await charger.connect();
    await charger.boot();
    await ready;
    await ems.cs.applyCaps([cap(1, 16), cap(2, 16)]);
    expect(charger.limitA(1, ems.clock.nowMs())).toBe(9);
    expect(charger.limitA(2, ems.clock.nowMs())).toBe(9);
    expect(ems.status('CP16').csmsProfiles).toBe(1);
  });
});
