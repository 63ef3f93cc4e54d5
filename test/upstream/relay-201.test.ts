// Local-controller mode with OCPP 2.0.1: a strict station behind the EMS, an independent strict
// CSMS above it, over loopback.
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectorCap } from '../../optimizer/types.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { capturingLogger } from '../ocpp/system.ts';
import { relayConfig, startLocalController, T0 } from './local-controller.ts';
import { CHARGER_ANSWERS_201, StrictCharger, TestCsms } from './peers.ts';

type Ems = Awaited<ReturnType<typeof startLocalController>>;

const cap = (currentA: number): ConnectorCap => ({ chargerId: 'CS201', connectorId: 1, currentA, phases: 3, reason: { kind: 'charger', text: 'test' } });
const at = (offsetS: number) => new Date(T0 + offsetS * 1000).toISOString();
const token = (idToken: string) => ({ idToken, type: 'ISO14443' });
const energy = (wh: number, offsetS: number) => [{ timestamp: at(offsetS), sampledValue: [{ value: wh, measurand: 'Energy.Active.Import.Register' }] }];

describe('local controller, OCPP 2.0.1', () => {
  let csms: TestCsms;
  let ems: Ems;
  let station: StrictCharger;

  beforeEach(async () => {
    csms = new TestCsms();
    csms.passwords.set('CS201', 'cloud-password-201');
    await csms.start();
    ems = await startLocalController(relayConfig(csms.url));
    station = new StrictCharger(ems.cs.port, 'CS201', 'ocpp2.0.1');
    station.nowMs = () => ems.clock.nowMs();
    const ready = ems.cs.whenReady('CS201');
    await station.connect();
    await waitFor(() => csms.clients.has('CS201'), 'the uplink with the station identity');
    await station.boot();
    await ready;
  });

  afterEach(async () => {
    await station?.close().catch(() => undefined);
    await ems?.stop();
    await csms.stop();
  });

  it("a Started or Ended TransactionEvent the station was answered is in the EMS's session book already, however slow its disk", async () => {
    // A busy disk: every group commit of the session book takes 300 ms.
    const transactions = ems.store.transactions;
    const flushed = transactions.flushed!.bind(transactions);
    transactions.flushed = async () => {
      await flushed();
      await new Promise((resolve) => setTimeout(resolve, 300));
    };
    await station.transactionEvent('Started', 'tx-slow', at(1), { evse: { id: 1, connectorId: 1 }, idToken: token('CLOUD01'), meterValue: energy(1000, 1) });
    expect(ems.sessions.map((s) => s.event)).toEqual(['started']);
    await station.transactionEvent('Updated', 'tx-slow', at(2), { meterValue: energy(1200, 2) });
    await station.transactionEvent('Ended', 'tx-slow', at(3), { transactionInfo: { transactionId: 'tx-slow', stoppedReason: 'Local' }, meterValue: energy(1500, 3) });
    expect(ems.sessions.map((s) => s.event)).toEqual(['started', 'ended']);
    expect(transactions.open()).toEqual([]);
    expect(csms.from('CS201', 'TransactionEvent').map((r) => r.params.eventType)).toEqual(['Started', 'Updated', 'Ended']);
  });

  it("answers a Started and an Ended the CSMS answered once the EMS's records are written (another process reads them, as after kill -9), not after their group commit", async () => {
    // The disk holds every group commit (until the EMS stops).
    const held = new Promise<void>(() => undefined);
    const transactions = ems.store.transactions;
    transactions.flushed = () => held;
    const onDisk = () => {
      const other = new BetterSqlite3(join(ems.dir, 'ems.sqlite'), { readonly: true });
      try {
        return {
          transactions: other.prepare('SELECT id, stopped_at_ms IS NOT NULL AS stopped FROM transactions ORDER BY id').all(),
          stationIds: other.prepare('SELECT station_tx_id AS stationTxId, transaction_id AS transactionId FROM station_transactions').all(),
        };
      } finally {
        other.close();
      }
    };
    // On the old code these answers waited for the held commit (the station's call timed out).
    await station.transactionEvent('Started', 'tx-held', at(1), { evse: { id: 1, connectorId: 1 }, idToken: token('CLOUD01'), meterValue: energy(1000, 1) });
    const transactionId = ems.sessions[0].transactionId;
    expect(onDisk()).toEqual({ transactions: [{ id: transactionId, stopped: 0 }], stationIds: [{ stationTxId: 'tx-held', transactionId }] });
    await station.transactionEvent('Ended', 'tx-held', at(2), { transactionInfo: { transactionId: 'tx-held', stoppedReason: 'Local' }, meterValue: energy(1500, 2) });
    expect(onDisk()).toEqual({ transactions: [{ id: transactionId, stopped: 1 }], stationIds: [] });
    expect(csms.from('CS201', 'TransactionEvent').map((r) => r.params.eventType)).toEqual(['Started', 'Ended']);
  });

  it("relays every station message to the CSMS unchanged (also those the EMS has no handler for) and answers with the CSMS's answers", async () => {
    const frames: [string, any][] = [
      ['Heartbeat', {}],
      ['StatusNotification', { timestamp: at(1), connectorStatus: 'Occupied', evseId: 1, connectorId: 1 }],
      ['Authorize', { idToken: token('CLOUD01') }],
      ['TransactionEvent', { eventType: 'Started', timestamp: at(2), triggerReason: 'Authorized', seqNo: 0, transactionInfo: { transactionId: 'tx-1' }, evse: { id: 1, connectorId: 1 }, idToken: token('CLOUD01') }],
      ['MeterValues', { evseId: 1, meterValue: energy(1500, 3) }],
      ['TransactionEvent', { eventType: 'Updated', timestamp: at(4), triggerReason: 'MeterValuePeriodic', seqNo: 1, transactionInfo: { transactionId: 'tx-1' }, meterValue: energy(1700, 4) }],
      ['TransactionEvent', { eventType: 'Ended', timestamp: at(5), triggerReason: 'StopAuthorized', seqNo: 2, transactionInfo: { transactionId: 'tx-1', stoppedReason: 'Local' }, meterValue: energy(2000, 5) }],
      ['DataTransfer', { vendorId: 'com.example', messageId: 'hello' }],
      ['FirmwareStatusNotification', { status: 'Installed' }],
      ['LogStatusNotification', { status: 'Uploaded' }],
      ['SecurityEventNotification', { type: 'SettingSystemTime', timestamp: at(6) }],
      ['NotifyReport', { requestId: 1, generatedAt: at(7), seqNo: 0 }],
      ['NotifyChargingLimit', { chargingLimit: { chargingLimitSource: 'EMS' } }],
    ];
    const answers: Record<string, any> = {};
    for (const [action, params] of frames) answers[action] = await station.call(action, params);
    const seen = csms.from('CS201').map((r) => [r.action, r.params]);
    expect(seen[0]![0]).toBe('BootNotification');
    expect(seen.slice(1)).toEqual(frames);
    expect(answers.Authorize).toEqual({ idTokenInfo: { status: 'Accepted' } });
    expect(answers.DataTransfer).toEqual({ status: 'Accepted', data: 'from-csms' });
    expect(ems.sessions.map((s) => s.event)).toEqual(['started', 'ended']);
  });

  it('forwards every CSMS call to the station and answers with what the station answered', async () => {
    const calls: [string, any][] = [
      ['RequestStartTransaction', { idToken: token('CLOUD01'), remoteStartId: 1, evseId: 1 }],
      ['RequestStopTransaction', { transactionId: 'tx-9' }],
      ['Reset', { type: 'Immediate' }],
      ['UnlockConnector', { evseId: 1, connectorId: 1 }],
      ['ChangeAvailability', { operationalStatus: 'Operative' }],
      ['ClearCache', {}],
      ['TriggerMessage', { requestedMessage: 'StatusNotification' }],
      ['DataTransfer', { vendorId: 'com.example' }],
      ['GetLocalListVersion', {}],
      ['SendLocalList', { versionNumber: 7, updateType: 'Full' }],
      ['ReserveNow', { id: 5, expiryDateTime: at(600), idToken: token('CLOUD01') }],
      ['CancelReservation', { reservationId: 5 }],
      ['UpdateFirmware', { requestId: 3, firmware: { location: 'https://127.0.0.1/fw.bin', retrieveDateTime: at(60) } }],
      ['GetLog', { logType: 'DiagnosticsLog', requestId: 4, log: { remoteLocation: 'https://127.0.0.1/logs' } }],
      ['GetBaseReport', { requestId: 6, reportBase: 'FullInventory' }],
    ];
    for (const [action, params] of calls) {
      const before = station.received.length;
      const answer = await csms.call('CS201', action, params);
      expect(station.received.slice(before).find((r) => r.action === action)?.params, action).toEqual(params);
      expect(answer, action).toEqual(CHARGER_ANSWERS_201[action]);
    }
    const variables = await csms.call('CS201', 'GetVariables', { getVariableData: [{ component: { name: 'SmartChargingCtrlr' }, variable: { name: 'RateUnit' } }] });
    expect(variables.getVariableResult[0]).toMatchObject({ attributeStatus: 'Accepted', attributeValue: 'A' });
  });

  it("an upstream that refuses the station's password is logged once and the station keeps being balanced", async () => {
    await station.close();
    await ems.stop();
    csms.passwords.set('CS201', 'another-password');
    const { log, lines } = await capturingLogger();
    ems = await startLocalController(relayConfig(csms.url), { log });
    station = new StrictCharger(ems.cs.port, 'CS201', 'ocpp2.0.1');
    station.nowMs = () => ems.clock.nowMs();
    const ready = ems.cs.whenReady('CS201');
    await station.connect();
    await station.boot();
    await ready;
    await waitFor(() => ems.status('CS201').uplink === 'refused', 'the uplink to be refused');
    await waitFor(() => csms.refusedHandshakes.length >= 3, 'retries');
    expect(lines.filter((l) => l.level >= 50 && /refused the charger's identity or upstreamPassword/.test(l.msg))).toHaveLength(1);
    // Balancing goes on: the EMS's cap reaches the station.
    await station.transactionEvent('Started', 'tx-refused', at(1), { evse: { id: 1, connectorId: 1 }, idToken: token('LOCAL01') });
    await ems.cs.applyCaps([cap(12)]);
    expect(station.limitA(1, ems.clock.nowMs())).toBe(12);
    // The boot the EMS answered and the start wait for the CSMS, durably.
    expect(ems.status('CS201')).toMatchObject({ chargerLink: 'connected', uplink: 'refused', queueLength: 2 });
  });

  it('a CSMS profile of 10 A under an EMS cap of 16 A gives 10 A at the station, and the reverse; a station-wide 8 A caps both', async () => {
    await station.transactionEvent('Started', 'tx-7', at(1), { evse: { id: 1, connectorId: 1 }, idToken: token('CLOUD01') });
    await ems.cs.applyCaps([cap(16)]);
    expect(station.limitA(1, ems.clock.nowMs())).toBe(16);
    const txDefault = (limit: number) => ({
      evseId: 1,
      chargingProfile: {
        id: 70,
        stackLevel: 0,
        chargingProfilePurpose: 'TxDefaultProfile',
        chargingProfileKind: 'Absolute',
        chargingSchedule: [{ id: 1, startSchedule: at(-60), chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit }] }],
      },
    });
    expect(await csms.call('CS201', 'SetChargingProfile', txDefault(10))).toEqual({ status: 'Accepted' });
    expect(station.limitA(1, ems.clock.nowMs())).toBe(10);
    expect(await csms.call('CS201', 'SetChargingProfile', txDefault(16))).toEqual({ status: 'Accepted' });
    ems.clock.advance(1_000);
    await ems.cs.applyCaps([cap(10)]);
    expect(station.limitA(1, ems.clock.nowMs())).toBe(10);
    const stationMax = {
      evseId: 0,
      chargingProfile: {
        id: 71,
        stackLevel: 2,
        chargingProfilePurpose: 'ChargingStationMaxProfile',
        chargingProfileKind: 'Absolute',
        chargingSchedule: [{ id: 1, startSchedule: at(-60), chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 8 }] }],
      },
    };
    expect(await csms.call('CS201', 'SetChargingProfile', stationMax)).toEqual({ status: 'Accepted' });
    expect(station.limitA(1, ems.clock.nowMs())).toBe(8);
    const composite = await csms.call('CS201', 'GetCompositeSchedule', { evseId: 1, duration: 600 });
    expect(composite.schedule.chargingSchedulePeriod[0].limit).toBe(8);
  });

  it('uplink down while a car charges: the CSMS later gets every TransactionEvent once, in order, with original timestamps and seqNo', async () => {
    await station.call('Authorize', { idToken: token('CLOUD01') });
    await csms.stop();
    await waitFor(() => ems.status('CS201').uplink !== 'online', 'the uplink down');
    expect(await station.call('Authorize', { idToken: token('CLOUD01') })).toEqual({ idTokenInfo: { status: 'Accepted' } });
    expect(await station.call('Authorize', { idToken: token('STRANGER') })).toEqual({ idTokenInfo: { status: 'Invalid' } });
    await station.transactionEvent('Started', 'tx-off', at(10), { evse: { id: 1, connectorId: 1 }, idToken: token('CLOUD01'), meterValue: energy(100, 10) });
    await station.call('MeterValues', { evseId: 1, meterValue: energy(300, 20) });
    await station.transactionEvent('Updated', 'tx-off', at(30), { meterValue: energy(500, 30) });
    await station.transactionEvent('Ended', 'tx-off', at(70), { meterValue: energy(900, 70) });
    expect(ems.sessions.map((s) => s.event)).toEqual(['started', 'ended']);
    // MeterValues outside a transaction are live data: answered, not held back.
    expect(ems.status('CS201').queueLength).toBe(3);
    await csms.start(csms.port);
    await waitFor(() => ems.status('CS201').uplink === 'online' && ems.status('CS201').queueLength === 0, 'the queue to drain', 10_000);
    const delivered = csms.from('CS201').filter((r) => ['TransactionEvent', 'MeterValues'].includes(r.action));
    expect(delivered.map((r) => [r.action, r.params.eventType, r.params.seqNo, r.params.timestamp ?? r.params.meterValue[0].timestamp])).toEqual([
      ['TransactionEvent', 'Started', 0, at(10)],
      ['TransactionEvent', 'Updated', 1, at(30)],
      ['TransactionEvent', 'Ended', 2, at(70)],
    ]);
  });

  it('offline queue bounded: the oldest Updated events give way, never Started or Ended; the latest status of an EVSE replaces the older, in its place', async () => {
    await station.close();
    await ems.stop();
    ems = await startLocalController(relayConfig(csms.url, { upstream: { url: csms.url, callTimeoutMs: 2_000, reconnectMinMs: 20, reconnectMaxMs: 200, maxQueuedFrames: 10 } }));
    station = new StrictCharger(ems.cs.port, 'CS201', 'ocpp2.0.1');
    station.nowMs = () => ems.clock.nowMs();
    const ready = ems.cs.whenReady('CS201');
    await station.connect();
    await waitFor(() => ems.status('CS201').uplink === 'online', 'the uplink');
    await station.boot();
    await ready;
    await csms.stop();
    await waitFor(() => ems.status('CS201').uplink === 'offline', 'the uplink down');
    const status = (connectorStatus: string, offsetS: number) => station.call('StatusNotification', { timestamp: at(offsetS), connectorStatus, evseId: 1, connectorId: 1 });

    await station.transactionEvent('Started', 'tx-full', at(0), { evse: { id: 1, connectorId: 1 }, idToken: token('LOCAL01'), meterValue: energy(0, 0) });
    for (let i = 1; i <= 12; i++) await station.transactionEvent('Updated', 'tx-full', at(10 * i), { meterValue: energy(100 * i, 10 * i) });
    await status('Occupied', 125);
    await status('Faulted', 126);
    await station.transactionEvent('Ended', 'tx-full', at(130), { meterValue: energy(1300, 130) });
    expect(ems.status('CS201').queueLength).toBe(10);

    const before = csms.received.length;
    await csms.start(csms.port);
    await waitFor(() => ems.status('CS201').uplink === 'online' && ems.status('CS201').queueLength === 0, 'the queue to drain', 10_000);
    const delivered = csms.received.slice(before).filter((r) => r.identity === 'CS201' && ['TransactionEvent', 'StatusNotification'].includes(r.action));
    expect(delivered.map((r) => [r.action, r.params.eventType ?? r.params.connectorStatus, r.params.seqNo ?? null, r.params.timestamp])).toEqual([
      ['TransactionEvent', 'Started', 0, at(0)],
      ...[6, 7, 8, 9, 10, 11, 12].map((i) => ['TransactionEvent', 'Updated', i, at(10 * i)]),
      ['StatusNotification', 'Faulted', null, at(126)],
      ['TransactionEvent', 'Ended', 13, at(130)],
    ]);
  });
});
