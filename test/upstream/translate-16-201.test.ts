// Protocol translation: a strict OCPP 1.6J charger behind the EMS, an independent strict OCPP 2.0.1
// CSMS above it (upstream.protocol: ocpp2.0.1), over loopback. Both peers validate every frame
// against the official schemas, so a translation that is not valid 2.0.1 (or 1.6) fails here.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectorCap } from '../../optimizer/types.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { relayConfig, startLocalController, T0 } from './local-controller.ts';
import { StrictCharger, TestCsms } from './peers.ts';

type Ems = Awaited<ReturnType<typeof startLocalController>>;

const at = (offsetS: number) => new Date(T0 + offsetS * 1000).toISOString();
const cap = (currentA: number): ConnectorCap => ({ chargerId: 'CP16', connectorId: 1, currentA, phases: 3, reason: { kind: 'charger', text: 'test' } });
const upstream = (url: string) => ({ url, protocol: 'ocpp2.0.1', callTimeoutMs: 2_000, reconnectMinMs: 20, reconnectMaxMs: 200 });

describe('local controller: a 1.6J charger in front of a 2.0.1 CSMS', () => {
  let csms: TestCsms;
  let ems: Ems;
  let charger: StrictCharger;

  beforeEach(async () => {
    csms = new TestCsms();
    await csms.start();
    ems = await startLocalController(relayConfig(csms.url, { upstream: upstream(csms.url) }));
    charger = new StrictCharger(ems.cs.port, 'CP16', 'ocpp1.6');
    charger.nowMs = () => ems.clock.nowMs();
    const ready = ems.cs.whenReady('CP16');
    await charger.connect();
    await waitFor(() => csms.clients.get('CLOUD-CP16')?.protocol === 'ocpp2.0.1', 'a 2.0.1 uplink with the charger identity');
    await charger.boot();
    await ready;
  });

  afterEach(async () => {
    await charger?.close().catch(() => undefined);
    await ems?.stop();
    await csms.stop();
  });

  it('translates boot, status, authorize, heartbeat, data transfer and a whole transaction; the CSMS gets them in order with the original timestamps', async () => {
    const answers: Record<string, any> = {};
    answers.status = await charger.call('StatusNotification', { connectorId: 1, status: 'Preparing', errorCode: 'NoError', timestamp: at(1) });
    answers.authorize = await charger.call('Authorize', { idTag: 'CLOUD01' });
    answers.stranger = await charger.call('Authorize', { idTag: 'STRANGER' });
    answers.heartbeat = await charger.call('Heartbeat', {});
    answers.data = await charger.call('DataTransfer', { vendorId: 'com.example', messageId: 'hello', data: 'x' });
    const started = await charger.start16(1, 'CLOUD01', at(2), 1000);
    await charger.call('MeterValues', {
      connectorId: 1,
      transactionId: started.transactionId,
      meterValue: [{ timestamp: at(12), sampledValue: [{ value: '1400', measurand: 'Energy.Active.Import.Register', unit: 'Wh' }, { value: '16.0', measurand: 'Current.Import', phase: 'L1', unit: 'A' }, { value: '31', measurand: 'Temperature', unit: 'Celsius' }] }],
    });
    await charger.stop16(1, at(20), 1800);
    // Live data outside a transaction is 2.0.1 MeterValues.
    await charger.call('MeterValues', { connectorId: 1, meterValue: [{ timestamp: at(21), sampledValue: [{ value: '7000', measurand: 'Power.Active.Import', unit: 'W' }] }] });
    await waitFor(() => ems.status('CP16').queueLength === 0 && csms.from('CLOUD-CP16', 'TransactionEvent').length === 3, 'the transaction at the CSMS');

    expect(answers.authorize).toEqual({ idTagInfo: { status: 'Accepted' } });
    expect(answers.stranger).toEqual({ idTagInfo: { status: 'Invalid' } });
    expect(answers.heartbeat.currentTime).toEqual(expect.any(String));
    expect(answers.data).toEqual({ status: 'Accepted', data: 'from-csms' });
    // The EMS names the transaction: the charger has an integer, the CSMS its decimal string.
    expect(Number.isInteger(started.transactionId)).toBe(true);
    const txId = String(started.transactionId);
    const seen = csms.from('CLOUD-CP16').map((r) => [r.action, r.params]);
    expect(seen.map(([action]) => action)).toEqual(['BootNotification', 'StatusNotification', 'Authorize', 'Authorize', 'Heartbeat', 'DataTransfer', 'TransactionEvent', 'TransactionEvent', 'TransactionEvent', 'MeterValues']);
    expect(seen[0]![1]).toEqual({ reason: 'PowerUp', chargingStation: { model: 'Relay-16', vendorName: 'Strict' } });
    expect(seen[1]![1]).toEqual({ timestamp: at(1), connectorStatus: 'Occupied', evseId: 1, connectorId: 1 });
    const events = csms.from('CLOUD-CP16', 'TransactionEvent').map((r) => r.params);
    expect(events.map((e) => [e.eventType, e.timestamp, e.transactionInfo.transactionId])).toEqual([
      ['Started', at(2), txId],
      ['Updated', at(12), txId],
      ['Ended', at(20), txId],
    ]);
    expect(events[0]).toMatchObject({ idToken: { idToken: 'CLOUD01', type: 'ISO14443' }, evse: { id: 1, connectorId: 1 }, meterValue: [{ sampledValue: [{ value: 1000, context: 'Transaction.Begin' }] }] });
    // Temperature has no 2.0.1 measurand: left out; the rest as numbers with their units.
    expect(events[1].meterValue[0].sampledValue).toEqual([
      { value: 1400, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' } },
      { value: 16, measurand: 'Current.Import', phase: 'L1', unitOfMeasure: { unit: 'A' } },
    ]);
    expect(events[2]).toMatchObject({ transactionInfo: { stoppedReason: 'Local' }, meterValue: [{ sampledValue: [{ value: 1800, context: 'Transaction.End' }] }] });
    expect(events.map((e) => e.seqNo)).toEqual([...events.map((e) => e.seqNo)].sort((a, b) => a - b));
    expect(seen.at(-1)![1]).toEqual({ evseId: 1, meterValue: [{ timestamp: at(21), sampledValue: [{ value: 7000, measurand: 'Power.Active.Import', unitOfMeasure: { unit: 'W' } }] }] });
    expect(ems.sessions.map((s) => s.event)).toEqual(['started', 'ended']);
  });

  it('translates the CSMS calls: RequestStart/Stop, Reset, UnlockConnector, TriggerMessage, GetCompositeSchedule; refuses what it cannot translate', async () => {
    const before = charger.received.length;
    expect(await csms.call('CLOUD-CP16', 'RequestStartTransaction', { idToken: { idToken: 'CLOUD01', type: 'ISO14443' }, remoteStartId: 1, evseId: 1 })).toEqual({ status: 'Accepted' });
    const started = await charger.start16(1, 'CLOUD01', at(5), 0);
    expect(await csms.call('CLOUD-CP16', 'RequestStopTransaction', { transactionId: String(started.transactionId) })).toEqual({ status: 'Accepted' });
    expect(await csms.call('CLOUD-CP16', 'Reset', { type: 'OnIdle' })).toEqual({ status: 'Accepted' });
    expect(await csms.call('CLOUD-CP16', 'UnlockConnector', { evseId: 1, connectorId: 1 })).toEqual({ status: 'Unlocked' });
    expect(await csms.call('CLOUD-CP16', 'TriggerMessage', { requestedMessage: 'StatusNotification', evse: { id: 1 } })).toEqual({ status: 'Accepted' });
    const received = charger.received.slice(before).filter((r) => !['SetChargingProfile', 'GetConfiguration', 'ClearChargingProfile', 'ChangeConfiguration', 'GetCompositeSchedule'].includes(r.action)); // the EMS's own calls
    expect(received).toEqual([
      { action: 'RemoteStartTransaction', params: { idTag: 'CLOUD01', connectorId: 1 } },
      { action: 'RemoteStopTransaction', params: { transactionId: started.transactionId } },
      { action: 'Reset', params: { type: 'Soft' } },
      { action: 'UnlockConnector', params: { connectorId: 1 } },
      { action: 'TriggerMessage', params: { requestedMessage: 'StatusNotification', connectorId: 1 } },
    ]);
    await expect(csms.call('CLOUD-CP16', 'GetBaseReport', { requestId: 1, reportBase: 'FullInventory' })).rejects.toMatchObject({ rpcErrorCode: 'NotSupported' });
    await expect(csms.call('CLOUD-CP16', 'GetLog', { logType: 'SecurityLog', requestId: 8, log: { remoteLocation: 'ftp://127.0.0.1/sec' } })).rejects.toMatchObject({ rpcErrorCode: 'NotSupported' });
    await expect(csms.call('CLOUD-CP16', 'Reset', { type: 'Immediate', evseId: 1 })).rejects.toMatchObject({ rpcErrorCode: 'NotSupported' });
  });

  it('firmware and diagnostics: UpdateFirmware and GetLog reach the charger as 1.6 calls, its status notifications reach the CSMS as 2.0.1 ones with the request ids', async () => {
    const before = charger.received.length;
    expect(await csms.call('CLOUD-CP16', 'UpdateFirmware', { requestId: 31, retries: 2, firmware: { location: 'https://127.0.0.1/fw.bin', retrieveDateTime: at(60) } })).toEqual({ status: 'Accepted' });
    expect(await csms.call('CLOUD-CP16', 'GetLog', { logType: 'DiagnosticsLog', requestId: 32, log: { remoteLocation: 'ftp://127.0.0.1/logs', latestTimestamp: at(0) } })).toEqual({
      status: 'Accepted',
      filename: 'diag.log',
    });
    expect(await csms.call('CLOUD-CP16', 'TriggerMessage', { requestedMessage: 'LogStatusNotification' })).toEqual({ status: 'Accepted' });
    expect(charger.received.slice(before).filter((r) => ['UpdateFirmware', 'GetDiagnostics', 'TriggerMessage'].includes(r.action))).toEqual([
      { action: 'UpdateFirmware', params: { location: 'https://127.0.0.1/fw.bin', retrieveDate: at(60), retries: 2 } },
      { action: 'GetDiagnostics', params: { location: 'ftp://127.0.0.1/logs', stopTime: at(0) } },
      { action: 'TriggerMessage', params: { requestedMessage: 'DiagnosticsStatusNotification' } },
    ]);
    await charger.call('FirmwareStatusNotification', { status: 'Downloading' });
    await charger.call('FirmwareStatusNotification', { status: 'Installed' });
    await charger.call('DiagnosticsStatusNotification', { status: 'UploadFailed' });
    expect(csms.from('CLOUD-CP16').filter((r) => /StatusNotification$/.test(r.action) && r.action !== 'StatusNotification').map((r) => [r.action, r.params])).toEqual([
      ['FirmwareStatusNotification', { status: 'Downloading', requestId: 31 }],
      ['FirmwareStatusNotification', { status: 'Installed', requestId: 31 }],
      ['LogStatusNotification', { status: 'UploadFailure', requestId: 32 }],
    ]);
  });

  it('the firmware/log requestId survives an EMS restart: a status the charger sends after it still names the request (and a refused SecurityLog request does not replace it)', async () => {
    expect(await csms.call('CLOUD-CP16', 'UpdateFirmware', { requestId: 41, firmware: { location: 'https://127.0.0.1/fw.bin', retrieveDateTime: at(60) } })).toEqual({ status: 'Accepted' });
    expect(await csms.call('CLOUD-CP16', 'GetLog', { logType: 'DiagnosticsLog', requestId: 42, log: { remoteLocation: 'ftp://127.0.0.1/logs' } })).toMatchObject({ status: 'Accepted' });
    await expect(csms.call('CLOUD-CP16', 'GetLog', { logType: 'SecurityLog', requestId: 43, log: { remoteLocation: 'ftp://127.0.0.1/sec' } })).rejects.toMatchObject({ rpcErrorCode: 'NotSupported' });
    // The EMS stops (the charger downloads meanwhile) and starts again on the same database.
    await charger.close();
    const dir = ems.dir;
    await ems.stop({ keepDir: true });
    ems = await startLocalController(relayConfig(csms.url, { upstream: upstream(csms.url) }), { dir });
    charger = new StrictCharger(ems.cs.port, 'CP16', 'ocpp1.6');
    const ready = ems.cs.whenReady('CP16');
    await charger.connect();
    await waitFor(() => ems.status('CP16').uplink === 'online', 'the uplink back');
    await charger.boot();
    await ready;
    await charger.call('FirmwareStatusNotification', { status: 'Installed' });
    await charger.call('DiagnosticsStatusNotification', { status: 'Uploaded' });
    expect(csms.from('CLOUD-CP16').filter((r) => r.action === 'FirmwareStatusNotification' || r.action === 'LogStatusNotification').map((r) => [r.action, r.params])).toEqual([
      ['FirmwareStatusNotification', { status: 'Installed', requestId: 41 }],
      ['LogStatusNotification', { status: 'Uploaded', requestId: 42 }],
    ]);
  });

  it('a 2.0.1 CSMS profile of 10 A under an EMS cap of 16 A gives 10 A at the 1.6 charger, and the reverse; GetCompositeSchedule answers the combined limit in 2.0.1', async () => {
    await charger.start16(1, 'LOCAL01', at(1), 0);
    await ems.cs.applyCaps([cap(16)]);
    expect(charger.limitA(1, ems.clock.nowMs())).toBe(16);
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
    expect(await csms.call('CLOUD-CP16', 'SetChargingProfile', txDefault(10))).toEqual({ status: 'Accepted' });
    expect(charger.limitA(1, ems.clock.nowMs())).toBe(10);
    let composite = await csms.call('CLOUD-CP16', 'GetCompositeSchedule', { evseId: 1, duration: 600, chargingRateUnit: 'A' });
    expect(composite).toMatchObject({ status: 'Accepted', schedule: { evseId: 1, duration: 600, chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 10 }] } });
    expect(await csms.call('CLOUD-CP16', 'SetChargingProfile', txDefault(16))).toEqual({ status: 'Accepted' });
    ems.clock.advance(1_000);
    await ems.cs.applyCaps([cap(10)]);
    expect(charger.limitA(1, ems.clock.nowMs())).toBe(10);
    expect(await csms.call('CLOUD-CP16', 'ClearChargingProfile', { chargingProfileId: 70 })).toEqual({ status: 'Accepted' });
    composite = await csms.call('CLOUD-CP16', 'GetCompositeSchedule', { evseId: 1, duration: 600 });
    expect(composite.schedule.chargingSchedulePeriod[0].limit).toBe(10);
  });

  it('uplink down: the transaction is answered by the EMS, held on disk and delivered in order once the 2.0.1 CSMS is back', async () => {
    await csms.stop();
    await waitFor(() => ems.status('CP16').uplink !== 'online', 'the uplink down');
    const started = await charger.start16(1, 'LOCAL01', at(10), 100);
    await charger.meter16(1, at(20), 300);
    await charger.stop16(1, at(30), 900);
    expect(ems.status('CP16').queueLength).toBe(3);
    await csms.start(csms.port);
    await waitFor(() => ems.status('CP16').uplink === 'online' && ems.status('CP16').queueLength === 0, 'the queue to drain', 10_000);
    const events = csms.from('CLOUD-CP16', 'TransactionEvent').map((r) => [r.params.eventType, r.params.timestamp, r.params.transactionInfo.transactionId]);
    expect(events).toEqual([
      ['Started', at(10), String(started.transactionId)],
      ['Updated', at(20), String(started.transactionId)],
      ['Ended', at(30), String(started.transactionId)],
    ]);
  });
});
