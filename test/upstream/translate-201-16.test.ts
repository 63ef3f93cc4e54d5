// Protocol translation the other way: a strict OCPP 2.0.1 station behind the EMS, an independent
// strict OCPP 1.6J CSMS above it (upstream.protocol: ocpp1.6), over loopback. Both peers validate
// every frame against the official schemas, so a translation that is not valid 1.6 (or 2.0.1)
// fails here.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectorCap } from '../../optimizer/types.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { relayConfig, startLocalController, T0 } from './local-controller.ts';
import { StrictCharger, TestCsms } from './peers.ts';

type Ems = Awaited<ReturnType<typeof startLocalController>>;

const at = (offsetS: number) => new Date(T0 + offsetS * 1000).toISOString();
const token = (idToken: string) => ({ idToken, type: 'ISO14443' });
const register = (wh: number, offsetS: number, context?: string) => [
  { timestamp: at(offsetS), sampledValue: [{ value: wh, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' }, ...(context ? { context } : {}) }] },
];
const cap = (currentA: number): ConnectorCap => ({ chargerId: 'CS201', connectorId: 1, currentA, phases: 3, reason: { kind: 'charger', text: 'test' } });
const upstream = (url: string) => ({ url, protocol: 'ocpp1.6', callTimeoutMs: 5_000, reconnectMinMs: 20, reconnectMaxMs: 200 });

describe('local controller: a 2.0.1 station in front of a 1.6J CSMS', () => {
  let csms: TestCsms;
  let ems: Ems;
  let station: StrictCharger;

  beforeEach(async () => {
    csms = new TestCsms();
    await csms.start();
    ems = await startLocalController(relayConfig(csms.url, { upstream: upstream(csms.url) }));
    station = new StrictCharger(ems.cs.port, 'CS201', 'ocpp2.0.1');
    station.nowMs = () => ems.clock.nowMs();
    const ready = ems.cs.whenReady('CS201');
    await station.connect();
    await waitFor(() => csms.clients.get('CS201')?.protocol === 'ocpp1.6', 'a 1.6 uplink with the station identity');
    await station.boot();
    await ready;
  });

  afterEach(async () => {
    await station?.close().catch(() => undefined);
    await ems?.stop();
    await csms.stop();
  });

  it('translates boot, status, authorize, heartbeat, data transfer, firmware/log status and a transaction authorized after it started; the CSMS gets 1.6 frames in order with the original timestamps and its own id', async () => {
    const answers: Record<string, any> = {};
    answers.status = await station.call('StatusNotification', { timestamp: at(1), connectorStatus: 'Occupied', evseId: 1, connectorId: 1 });
    answers.authorize = await station.call('Authorize', { idToken: token('CLOUD01') });
    answers.stranger = await station.call('Authorize', { idToken: token('STRANGER') });
    answers.heartbeat = await station.call('Heartbeat', {});
    answers.data = await station.call('DataTransfer', { vendorId: 'com.example', messageId: 'hello', data: { x: 1 } });
    answers.firmware = await station.call('FirmwareStatusNotification', { status: 'InstallScheduled', requestId: 4 });
    answers.log = await station.call('LogStatusNotification', { status: 'UploadFailure', requestId: 5 });
    // 2.0.1: the transaction starts when the cable is plugged in, the driver is known later.
    await station.transactionEvent('Started', 'tx-late', at(2), { evse: { id: 1, connectorId: 1 }, meterValue: register(1000, 2, 'Transaction.Begin') });
    await station.transactionEvent('Updated', 'tx-late', at(3), { idToken: token('LOCAL01'), triggerReason: 'Authorized', meterValue: register(1010, 3), transactionInfo: { transactionId: 'tx-late', chargingState: 'Charging' } });
    await station.transactionEvent('Updated', 'tx-late', at(13), {
      meterValue: [{ timestamp: at(13), sampledValue: [{ value: 1.4, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'kWh' } }, { value: 50, measurand: 'Frequency', unitOfMeasure: { unit: 'Hz' } }, { value: 16, measurand: 'Current.Import', phase: 'L1', unitOfMeasure: { unit: 'A' } }] }],
    });
    await station.transactionEvent('Ended', 'tx-late', at(20), { transactionInfo: { transactionId: 'tx-late', stoppedReason: 'EVDisconnected' }, meterValue: register(1800, 20, 'Transaction.End') });
    // Before any driver: the values are the connector's.
    await station.call('MeterValues', { evseId: 1, meterValue: [{ timestamp: at(21), sampledValue: [{ value: 7000, measurand: 'Power.Active.Import', unitOfMeasure: { unit: 'W' } }] }] });
    await waitFor(() => ems.status('CS201').queueLength === 0 && csms.from('CS201', 'StopTransaction').length === 1 && csms.from('CS201', 'MeterValues').length === 3, 'the transaction at the CSMS');

    expect(answers.authorize).toEqual({ idTokenInfo: { status: 'Accepted' } });
    expect(answers.stranger).toEqual({ idTokenInfo: { status: 'Invalid' } });
    expect(answers.heartbeat.currentTime).toEqual(expect.any(String));
    expect(answers.data).toEqual({ status: 'Accepted', data: 'from-csms' });
    const seen = csms.from('CS201').map((r) => [r.action, r.params]);
    expect(seen.map(([action]) => action)).toEqual([
      'BootNotification',
      'StatusNotification',
      'Authorize',
      'Authorize',
      'Heartbeat',
      'DataTransfer',
      'FirmwareStatusNotification',
      'DiagnosticsStatusNotification',
      'StartTransaction',
      'MeterValues',
      'MeterValues',
      'StopTransaction',
      'MeterValues',
    ]);
    const byAction = (action: string) => seen.filter(([a]) => a === action).map(([, p]) => p);
    expect(byAction('BootNotification')[0]).toEqual({ chargePointVendor: 'Strict', chargePointModel: 'Relay-201' });
    // Occupied with no transaction yet: Preparing.
    expect(byAction('StatusNotification')[0]).toEqual({ connectorId: 1, errorCode: 'NoError', status: 'Preparing', timestamp: at(1) });
    expect(byAction('DataTransfer')[0]).toEqual({ vendorId: 'com.example', messageId: 'hello', data: '{"x":1}' });
    expect(byAction('FirmwareStatusNotification')[0]).toEqual({ status: 'Installing' });
    expect(byAction('DiagnosticsStatusNotification')[0]).toEqual({ status: 'UploadFailed' });
    // The 1.6 start is when the driver became known, with the register then.
    expect(byAction('StartTransaction')[0]).toEqual({ connectorId: 1, idTag: 'LOCAL01', meterStart: 1010, timestamp: at(3) });
    const [atAuthorization, meter, live] = byAction('MeterValues');
    expect(atAuthorization).toEqual({ connectorId: 1, transactionId: 9001, meterValue: [{ timestamp: at(3), sampledValue: [{ value: '1010', measurand: 'Energy.Active.Import.Register', unit: 'Wh' }] }] });
    // The CSMS's own id (it assigns from 9001); kWh in the 1.6 unit it came in; Hz has no 1.6 unit: left out.
    expect(meter).toEqual({
      connectorId: 1,
      transactionId: 9001,
      meterValue: [{ timestamp: at(13), sampledValue: [{ value: '1.4', measurand: 'Energy.Active.Import.Register', unit: 'kWh' }, { value: '16', measurand: 'Current.Import', phase: 'L1', unit: 'A' }] }],
    });
    expect(byAction('StopTransaction')[0]).toEqual({ transactionId: 9001, meterStop: 1800, timestamp: at(20), reason: 'EVDisconnected' });
    expect(live).toEqual({ connectorId: 1, meterValue: [{ timestamp: at(21), sampledValue: [{ value: '7000', measurand: 'Power.Active.Import', unit: 'W' }] }] });
    expect(ems.sessions.map((s) => s.event)).toEqual(['started', 'ended']);
  });

  it('translates the CSMS calls: RemoteStart/Stop (its id to the station’s), Reset, Unlock, Trigger, ChangeAvailability, UpdateFirmware, GetDiagnostics; refuses what it cannot translate', async () => {
    await station.transactionEvent('Started', 'tx-remote', at(1), { evse: { id: 1, connectorId: 1 }, idToken: token('LOCAL01'), meterValue: register(0, 1, 'Transaction.Begin') });
    await waitFor(() => csms.from('CS201', 'StartTransaction').length === 1 && ems.status('CS201').queueLength === 0, 'the start at the CSMS');
    const before = station.received.length;
    const answers = [
      await csms.call('CS201', 'RemoteStartTransaction', { idTag: 'CLOUD01', connectorId: 1 }),
      await csms.call('CS201', 'RemoteStopTransaction', { transactionId: 9001 }),
      await csms.call('CS201', 'RemoteStopTransaction', { transactionId: 4711 }),
      await csms.call('CS201', 'Reset', { type: 'Soft' }),
      await csms.call('CS201', 'UnlockConnector', { connectorId: 1 }),
      await csms.call('CS201', 'TriggerMessage', { requestedMessage: 'DiagnosticsStatusNotification' }),
      await csms.call('CS201', 'ChangeAvailability', { connectorId: 1, type: 'Inoperative' }),
      await csms.call('CS201', 'UpdateFirmware', { location: 'https://127.0.0.1/fw.bin', retrieveDate: at(60) }),
      await csms.call('CS201', 'GetDiagnostics', { location: 'ftp://127.0.0.1/logs', startTime: at(-3600) }),
      await csms.call('CS201', 'ClearCache', {}),
    ];
    expect(answers).toEqual([
      { status: 'Accepted' },
      { status: 'Accepted' },
      { status: 'Rejected' },
      { status: 'Accepted' },
      { status: 'Unlocked' },
      { status: 'Accepted' },
      { status: 'Accepted' },
      {},
      {},
      { status: 'Accepted' },
    ]);
    const received = station.received.slice(before).filter((r) => !['SetChargingProfile', 'GetVariables', 'SetVariables', 'ClearChargingProfile', 'GetCompositeSchedule'].includes(r.action)); // the EMS's own calls
    expect(received).toEqual([
      { action: 'RequestStartTransaction', params: { idToken: token('CLOUD01'), remoteStartId: expect.any(Number), evseId: 1 } },
      { action: 'RequestStopTransaction', params: { transactionId: 'tx-remote' } },
      { action: 'Reset', params: { type: 'OnIdle' } },
      { action: 'UnlockConnector', params: { evseId: 1, connectorId: 1 } },
      { action: 'TriggerMessage', params: { requestedMessage: 'LogStatusNotification' } },
      { action: 'ChangeAvailability', params: { operationalStatus: 'Inoperative', evse: { id: 1 } } },
      { action: 'UpdateFirmware', params: { requestId: expect.any(Number), firmware: { location: 'https://127.0.0.1/fw.bin', retrieveDateTime: at(60) } } },
      { action: 'GetLog', params: { logType: 'DiagnosticsLog', requestId: expect.any(Number), log: { remoteLocation: 'ftp://127.0.0.1/logs', oldestTimestamp: at(-3600) } } },
      { action: 'ClearCache', params: {} },
    ]);
    // The 1.6 security extension's certificate calls have no translation (the station's certificates stay its own).
    await expect(csms.call('CS201', 'GetInstalledCertificateIds', { certificateType: 'CentralSystemRootCertificate' })).rejects.toMatchObject({ rpcErrorCode: 'NotSupported' });
  });

  it('translates configuration: GetConfiguration/ChangeConfiguration of the keys 2.0.1 has a variable for become GetVariables/SetVariables; a key it lacks is unknown (NotSupported), as on a 1.6 charger', async () => {
    const asked = (action: string, from: number) => station.received.slice(from).filter((r) => r.action === action);
    let before = station.received.length;
    const config = await csms.call('CS201', 'GetConfiguration', { key: ['HeartbeatInterval', 'ChargingScheduleAllowedChargingRateUnit', 'TransactionMessageAttempts', 'ConnectorPhaseRotation', 'LocalAuthListEnabled'] });
    expect(config).toEqual({
      configurationKey: [
        { key: 'HeartbeatInterval', readonly: false, value: '300' },
        // 2.0.1 says A/W, 1.6 Current/Power.
        { key: 'ChargingScheduleAllowedChargingRateUnit', readonly: true, value: 'Current' },
        { key: 'TransactionMessageAttempts', readonly: false, value: '3' },
      ],
      // No 2.0.1 variable; and one the station does not have.
      unknownKey: ['ConnectorPhaseRotation', 'LocalAuthListEnabled'],
    });
    expect(asked('GetVariables', before).map((r) => r.params)).toEqual([
      {
        getVariableData: [
          { component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } },
          { component: { name: 'SmartChargingCtrlr' }, variable: { name: 'RateUnit' } },
          { component: { name: 'OCPPCommCtrlr' }, variable: { name: 'MessageAttempts', instance: 'TransactionEvent' } },
          { component: { name: 'LocalAuthListCtrlr' }, variable: { name: 'Enabled' } },
        ],
      },
    ]);

    before = station.received.length;
    expect(await csms.call('CS201', 'ChangeConfiguration', { key: 'HeartbeatInterval', value: '60' })).toEqual({ status: 'Accepted' });
    expect(asked('SetVariables', before).map((r) => r.params)).toEqual([{ setVariableData: [{ attributeValue: '60', component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } }] }]);
    expect(station.variables.get('OCPPCommCtrlr/HeartbeatInterval')).toBe('60');
    expect(await csms.call('CS201', 'ChangeConfiguration', { key: 'ChargeProfileMaxStackLevel', value: '5' })).toEqual({ status: 'Rejected' });
    expect(await csms.call('CS201', 'ChangeConfiguration', { key: 'LocalAuthListEnabled', value: 'true' })).toEqual({ status: 'NotSupported' });
    before = station.received.length;
    expect(await csms.call('CS201', 'ChangeConfiguration', { key: 'ConnectorPhaseRotation', value: 'RST' })).toEqual({ status: 'NotSupported' });
    expect(asked('SetVariables', before)).toEqual([]);

    // Every key: what the station has, with the new value; nothing unknown listed (none was named).
    const all = await csms.call('CS201', 'GetConfiguration', {});
    expect(all.unknownKey).toBeUndefined();
    expect(all.configurationKey).toEqual(
      expect.arrayContaining([
        { key: 'HeartbeatInterval', readonly: false, value: '60' },
        { key: 'MeterValueSampleInterval', readonly: false, value: expect.any(String) },
        { key: 'LocalPreAuthorize', readonly: false, value: 'false' },
        { key: 'ChargeProfileMaxStackLevel', readonly: true, value: '3' },
      ]),
    );
    expect(all.configurationKey.map((k: any) => k.key)).not.toContain('LocalAuthListEnabled');
    // Only keys 2.0.1 lacks: answered without asking the station.
    before = station.received.length;
    expect(await csms.call('CS201', 'GetConfiguration', { key: ['ConnectorPhaseRotation'] })).toEqual({ configurationKey: [], unknownKey: ['ConnectorPhaseRotation'] });
    expect(asked('GetVariables', before)).toEqual([]);
  });

  it('translates local lists and reservations: SendLocalList/GetLocalListVersion and ReserveNow/CancelReservation reach the station as 2.0.1 calls and its answers come back as 1.6', async () => {
    const before = station.received.length;
    const answers = [
      await csms.call('CS201', 'SendLocalList', {
        listVersion: 7,
        updateType: 'Full',
        localAuthorizationList: [
          { idTag: 'CLOUD01', idTagInfo: { status: 'Accepted', expiryDate: at(3600), parentIdTag: 'FLEET01' } },
          { idTag: 'BLOCKED1', idTagInfo: { status: 'Blocked' } },
        ],
      }),
      await csms.call('CS201', 'SendLocalList', { listVersion: 8, updateType: 'Differential', localAuthorizationList: [{ idTag: 'BLOCKED1' }] }),
      await csms.call('CS201', 'SendLocalList', { listVersion: 9, updateType: 'Full', localAuthorizationList: [] }),
      await csms.call('CS201', 'GetLocalListVersion', {}),
      await csms.call('CS201', 'ReserveNow', { connectorId: 1, expiryDate: at(600), idTag: 'CLOUD01', parentIdTag: 'FLEET01', reservationId: 5 }),
      await csms.call('CS201', 'ReserveNow', { connectorId: 0, expiryDate: at(600), idTag: 'CLOUD01', reservationId: 6 }),
      await csms.call('CS201', 'CancelReservation', { reservationId: 5 }),
    ];
    expect(answers).toEqual([{ status: 'Accepted' }, { status: 'Accepted' }, { status: 'Accepted' }, { listVersion: 7 }, { status: 'Accepted' }, { status: 'Accepted' }, { status: 'Accepted' }]);
    const token16 = (idToken: string) => ({ idToken, type: 'ISO14443' });
    expect(station.received.slice(before).filter((r) => !['SetChargingProfile', 'GetVariables', 'SetVariables', 'ClearChargingProfile', 'GetCompositeSchedule'].includes(r.action))).toEqual([
      {
        action: 'SendLocalList',
        params: {
          versionNumber: 7,
          updateType: 'Full',
          localAuthorizationList: [
            { idToken: token16('CLOUD01'), idTokenInfo: { status: 'Accepted', cacheExpiryDateTime: at(3600), groupIdToken: { idToken: 'FLEET01', type: 'Central' } } },
            { idToken: token16('BLOCKED1'), idTokenInfo: { status: 'Blocked' } },
          ],
        },
      },
      // No idTagInfo: the tag leaves the list, in both versions.
      { action: 'SendLocalList', params: { versionNumber: 8, updateType: 'Differential', localAuthorizationList: [{ idToken: token16('BLOCKED1') }] } },
      // An empty list: 2.0.1 wants the list left out.
      { action: 'SendLocalList', params: { versionNumber: 9, updateType: 'Full' } },
      { action: 'GetLocalListVersion', params: {} },
      { action: 'ReserveNow', params: { id: 5, expiryDateTime: at(600), idToken: token16('CLOUD01'), evseId: 1, groupIdToken: { idToken: 'FLEET01', type: 'Central' } } },
      // Connector 0: any EVSE.
      { action: 'ReserveNow', params: { id: 6, expiryDateTime: at(600), idToken: token16('CLOUD01') } },
      { action: 'CancelReservation', params: { reservationId: 5 } },
    ]);
    // The station's word that a reservation ended has no 1.6 counterpart (its StatusNotification says it): answered by the EMS.
    const sent = csms.received.length;
    expect(await station.call('ReservationStatusUpdate', { reservationId: 6, reservationUpdateStatus: 'Expired' })).toEqual({});
    expect(csms.received.slice(sent)).toEqual([]);
    // A transaction the reservation was for names it in its 1.6 start.
    await station.transactionEvent('Started', 'tx-reserved', at(10), { evse: { id: 1, connectorId: 1 }, idToken: token('CLOUD01'), reservationId: 6, meterValue: register(500, 10, 'Transaction.Begin') });
    await waitFor(() => csms.from('CS201', 'StartTransaction').length === 1 && ems.status('CS201').queueLength === 0, 'the start at the CSMS');
    expect(csms.from('CS201', 'StartTransaction')[0]!.params).toEqual({ connectorId: 1, idTag: 'CLOUD01', meterStart: 500, timestamp: at(10), reservationId: 6 });
  });

  it('a transaction that ends before any idToken: nothing charged, no 1.6 transaction; energy delivered, the CSMS gets it as a NoAuthorization transaction from its first event (also when the idToken has no 1.6 form)', async () => {
    // Plugged in and out, nobody authorized, nothing charged.
    await station.transactionEvent('Started', 'tx-idle', at(1), { evse: { id: 1, connectorId: 1 }, meterValue: register(2000, 1, 'Transaction.Begin') });
    await station.transactionEvent('Ended', 'tx-idle', at(30), { transactionInfo: { transactionId: 'tx-idle', stoppedReason: 'EVDisconnected' }, meterValue: register(2000, 30, 'Transaction.End') });
    // Charged without a driver ever named (a station that needs no authorization).
    await station.transactionEvent('Started', 'tx-anon', at(40), { evse: { id: 1, connectorId: 1 }, meterValue: register(2000, 40, 'Transaction.Begin') });
    await station.transactionEvent('Updated', 'tx-anon', at(100), { meterValue: register(2300, 100) });
    await station.transactionEvent('Ended', 'tx-anon', at(160), { transactionInfo: { transactionId: 'tx-anon', stoppedReason: 'EVDisconnected' }, meterValue: register(2600, 160, 'Transaction.End') });
    // A driver whose idToken has no 1.6 form (longer than 20 characters): as if none was named.
    await station.transactionEvent('Started', 'tx-long', at(200), { evse: { id: 1, connectorId: 1 }, idToken: token('A-TOKEN-OF-MORE-THAN-20'), meterValue: register(2600, 200, 'Transaction.Begin') });
    await station.transactionEvent('Ended', 'tx-long', at(260), { transactionInfo: { transactionId: 'tx-long', stoppedReason: 'Local' }, meterValue: register(2900, 260, 'Transaction.End') });
    await waitFor(() => ems.status('CS201').queueLength === 0 && csms.from('CS201', 'StopTransaction').length === 2, 'both charged transactions at the CSMS');
    const seen = csms.from('CS201').filter((r) => r.action !== 'BootNotification' && r.action !== 'StatusNotification');
    expect(seen.map((r) => [r.action, r.params])).toEqual([
      // tx-idle: its values as the connector's, no transaction.
      ['MeterValues', { connectorId: 1, meterValue: [{ timestamp: at(100), sampledValue: [{ value: '2300', measurand: 'Energy.Active.Import.Register', unit: 'Wh' }] }] }],
      ['StartTransaction', { connectorId: 1, idTag: 'NoAuthorization', meterStart: 2000, timestamp: at(40) }],
      ['StopTransaction', { transactionId: 9001, meterStop: 2600, timestamp: at(160), reason: 'EVDisconnected' }],
      ['StartTransaction', { connectorId: 1, idTag: 'NoAuthorization', meterStart: 2600, timestamp: at(200) }],
      ['StopTransaction', { transactionId: 9002, meterStop: 2900, timestamp: at(260), reason: 'Local' }],
    ]);
  });

  it('a station transaction whose Ended never came is forgotten once a newer one goes up on its EVSE, and with it one silent for a month; a live one on another EVSE stays', async () => {
    const DAY_MS = 24 * 3_600_000;
    ems.store.upstream.saveStationTx('CS201', 'tx-silent', { evseId: 2, firstRegisterWh: 100 }, ems.clock.nowMs() - 32 * DAY_MS);
    ems.store.upstream.saveStationTx('CS201', 'tx-live-evse2', { evseId: 2, firstRegisterWh: 100 }, ems.clock.nowMs() - 1 * DAY_MS);
    await station.transactionEvent('Started', 'tx-lost', at(1), { evse: { id: 1, connectorId: 1 }, idToken: token('LOCAL01'), meterValue: register(1000, 1, 'Transaction.Begin') });
    await station.transactionEvent('Updated', 'tx-lost', at(60), { meterValue: register(1500, 60) });
    await waitFor(() => ems.status('CS201').queueLength === 0 && csms.from('CS201', 'MeterValues').length === 1, 'tx-lost at the CSMS');
    expect(ems.store.upstream.stationTx('CS201', 'tx-lost')).toMatchObject({ evseId: 1, lastRegisterWh: 1500 });
    // The station lost tx-lost's Ended (a power cut before it was stored) and starts the next one on EVSE 1.
    await station.transactionEvent('Started', 'tx-next', at(600), { evse: { id: 1, connectorId: 1 }, idToken: token('LOCAL02'), meterValue: register(1500, 600, 'Transaction.Begin') });
    await waitFor(() => ems.status('CS201').queueLength === 0 && csms.from('CS201', 'StartTransaction').length === 2, 'tx-next at the CSMS');
    expect(ems.store.upstream.stationTx('CS201', 'tx-lost')).toBeUndefined();
    expect(ems.store.upstream.stationTx('CS201', 'tx-silent')).toBeUndefined();
    expect(ems.store.upstream.stationTx('CS201', 'tx-live-evse2')).toEqual({ evseId: 2, firstRegisterWh: 100 });
    expect(ems.store.upstream.stationTx('CS201', 'tx-next')).toMatchObject({ evseId: 1, idTag: 'LOCAL02', firstRegisterWh: 1500 });
    // tx-next itself ends as usual.
    await station.transactionEvent('Ended', 'tx-next', at(900), { transactionInfo: { transactionId: 'tx-next', stoppedReason: 'Local' }, meterValue: register(2100, 900, 'Transaction.End') });
    await waitFor(() => ems.status('CS201').queueLength === 0 && csms.from('CS201', 'StopTransaction').length === 1, 'tx-next ended at the CSMS');
    expect(csms.from('CS201', 'StopTransaction')[0]!.params).toMatchObject({ meterStop: 2100 });
    expect(ems.store.upstream.stationTx('CS201', 'tx-next')).toBeUndefined();
  });

  it('a 1.6 CSMS profile of 10 A under an EMS cap of 16 A gives 10 A at the 2.0.1 station, and the reverse; GetCompositeSchedule answers the combined limit in 1.6', async () => {
    await station.transactionEvent('Started', 'tx-cap', at(1), { evse: { id: 1, connectorId: 1 }, idToken: token('LOCAL01') });
    await ems.cs.applyCaps([cap(16)]);
    expect(station.limitA(1, ems.clock.nowMs())).toBe(16);
    const txDefault = (limit: number) => ({
      connectorId: 1,
      csChargingProfiles: {
        chargingProfileId: 70,
        stackLevel: 0,
        chargingProfilePurpose: 'TxDefaultProfile',
        chargingProfileKind: 'Absolute',
        chargingSchedule: { startSchedule: at(-60), chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit }] },
      },
    });
    expect(await csms.call('CS201', 'SetChargingProfile', txDefault(10))).toEqual({ status: 'Accepted' });
    expect(station.limitA(1, ems.clock.nowMs())).toBe(10);
    let composite = await csms.call('CS201', 'GetCompositeSchedule', { connectorId: 1, duration: 600, chargingRateUnit: 'A' });
    expect(composite).toMatchObject({ status: 'Accepted', connectorId: 1, chargingSchedule: { duration: 600, chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 10 }] } });
    expect(await csms.call('CS201', 'SetChargingProfile', txDefault(16))).toEqual({ status: 'Accepted' });
    ems.clock.advance(1_000);
    await ems.cs.applyCaps([cap(10)]);
    expect(station.limitA(1, ems.clock.nowMs())).toBe(10);
    expect(await csms.call('CS201', 'ClearChargingProfile', { id: 70 })).toEqual({ status: 'Accepted' });
    composite = await csms.call('CS201', 'GetCompositeSchedule', { connectorId: 1, duration: 600 });
    expect(composite.chargingSchedule.chargingSchedulePeriod[0].limit).toBe(10);
  });

  it('uplink down while a car charges: the station is answered by the EMS, the events are held on disk and reach the 1.6 CSMS in order with original timestamps, once, under its id', async () => {
    await csms.stop();
    await waitFor(() => ems.status('CS201').uplink !== 'online', 'the uplink down');
    const started = await station.transactionEvent('Started', 'tx-off', at(10), { evse: { id: 1, connectorId: 1 }, idToken: token('LOCAL01'), meterValue: register(100, 10, 'Transaction.Begin') });
    expect(started.idTokenInfo.status).toBe('Accepted');
    await station.call('StatusNotification', { timestamp: at(11), connectorStatus: 'Occupied', evseId: 1, connectorId: 1 });
    await station.transactionEvent('Updated', 'tx-off', at(20), { meterValue: register(300, 20) });
    await station.transactionEvent('Ended', 'tx-off', at(30), { transactionInfo: { transactionId: 'tx-off', stoppedReason: 'Local' }, meterValue: register(900, 30, 'Transaction.End') });
    expect(ems.status('CS201').queueLength).toBe(4);
    await csms.start(csms.port);
    await waitFor(() => ems.status('CS201').uplink === 'online' && ems.status('CS201').queueLength === 0, 'the queue to drain', 10_000);
    const seen = csms.from('CS201').filter((r) => r.action !== 'BootNotification').map((r) => [r.action, r.params.timestamp ?? r.params.meterValue?.[0]?.timestamp, r.params.transactionId]);
    expect(seen).toEqual([
      ['StartTransaction', at(10), undefined],
      ['StatusNotification', at(11), undefined],
      ['MeterValues', at(20), 9001],
      ['StopTransaction', at(30), 9001],
    ]);
    expect(csms.from('CS201', 'StartTransaction')[0]!.params).toMatchObject({ meterStart: 100, idTag: 'LOCAL01' });
    expect(csms.from('CS201', 'StopTransaction')[0]!.params).toMatchObject({ meterStop: 900, reason: 'Local' });
    // The status as it was when the station sent it (in a transaction), not when it was delivered.
    expect(csms.from('CS201', 'StatusNotification')[0]!.params).toEqual({ connectorId: 1, errorCode: 'NoError', status: 'Charging', timestamp: at(11) });
  });
});
