// The transaction book across an EMS restart. A real EMS process (bin/ems.js run) steers a strict
// OCPP 1.6 charger and a strict OCPP 2.0.1 station; the station's car is paused by the operator.
// The EMS is stopped (SIGKILL, then SIGTERM in a second run) and started again on the same
// database. Both come back without booting, and the station sends no TransactionEvent: it only
// reports its EVSE occupied, as a station whose link dropped does (TxUpdatedInterval may be
// minutes). The restarted EMS must address the station's running transaction by the station's
// own id at once (a 0 A TxProfile for the paused car), the 1.6 charger's by ours, and the API must
// show the same two transactions, the pause still in force, and no new session when the station
// reports its transaction again.
import { afterAll, describe, expect, it } from 'vitest';
import { FakeStation201 } from '../ocpp/fake-station-201.ts';
import { StackCharger } from '../helpers/stack-charger.ts';
import { EmsUnderTest, rowConfig } from '../helpers/ems-site.ts';
import { waitFor } from '../helpers/wait-for.ts';

const STATION_TX = 'f3c1b2a4-station-tx';
const CONFIG = rowConfig({ name: 'Book Test', rowA: 40, chargers: ['CP1', 'ST1'] });

/** What the API says runs on each connector: transaction id and pause. */
async function sessions(site: EmsUnderTest): Promise<Record<string, { transactionId: number; paused: boolean } | null>> {
  const state = await site.api('/api/v1/state');
  return Object.fromEntries(
    state.body.connectors.map((c: any) => [`${c.chargerId}/${c.connectorId}`, c.session ? { transactionId: c.session.transactionId, paused: c.session.paused === true } : null]),
  );
}

const txProfiles = (s: FakeStation201) => s.received('SetChargingProfile', (p) => p.chargingProfile.chargingProfilePurpose === 'TxProfile');
const lastLimit = (p: any) => p.chargingProfile.chargingSchedule[0].chargingSchedulePeriod[0].limit as number;

function bookSuite(signal: 'SIGKILL' | 'SIGTERM') {
  const site = new EmsUnderTest('book-test-pass');
  const stations: FakeStation201[] = [];
  let cp1: StackCharger | undefined;

  afterAll(async () => {
    await cp1?.close().catch(() => undefined);
    await Promise.all(stations.map((s) => s.close().catch(() => undefined)));
    await site.cleanup();
  });

  it(`keeps both transactions, the station's id and the pause, and steers the station by its id before it reports again (${signal})`, async () => {
    let ems = await site.start(CONFIG);
    cp1 = new StackCharger('CP1', site.ocppEndpoint);
    await cp1.connect();
    const { transactionId: cpTx } = await cp1.start(1, 'TAG1');

    const station = new FakeStation201(ems.ocppPort, 'ST1');
    stations.push(station);
    await station.connect();
    await station.boot();
    await station.transactionEvent('Started', STATION_TX, {
      evse: { id: 1, connectorId: 1 },
      idToken: { idToken: 'TAG2', type: 'ISO14443' },
      transactionInfo: { transactionId: STATION_TX, chargingState: 'Charging' },
    });
    expect(await site.pause('ST1', 1, true)).toBe(200);
    await waitFor(() => (txProfiles(station).some((c) => c.params.chargingProfile.transactionId === STATION_TX && lastLimit(c.params) === 0) && cp1!.connectorA(1) > 0 ? true : undefined), 'the paused station and the charging car steered', 30_000);
    const before = await sessions(site);
    expect(before['CP1/1']).toEqual({ transactionId: cpTx, paused: false });
    expect(before['ST1/1']).toMatchObject({ paused: true });
    const stationOurs = before['ST1/1']!.transactionId;

    await site.kill(signal);
    await station.close();
    ems = await site.start(CONFIG);

    const setCallsAtRestart = cp1.setCalls.length;
    await cp1.reconnect();
    const again = new FakeStation201(ems.ocppPort, 'ST1');
    stations.push(again);
    again.activeTx.set(1, STATION_TX);
    await again.connect();
    // Back without booting: it reports its EVSE occupied, nothing about its transaction.
    await again.call('StatusNotification', { timestamp: new Date().toISOString(), connectorStatus: 'Occupied', evseId: 1, connectorId: 1 });

    // The restarted EMS addresses the station's transaction by the station's id: the paused car's 0 A.
    const paused = await waitFor(() => txProfiles(again).find((c) => c.params.chargingProfile.transactionId === STATION_TX), 'a TxProfile for the station transaction from the restarted EMS', 30_000);
    expect(lastLimit(paused.params)).toBe(0);
    expect(again.evseA(1)).toBe(0);
    expect(txProfiles(again).filter((c) => c.params.chargingProfile.transactionId !== STATION_TX)).toEqual([]);
    // ...and the 1.6 charger's by ours.
    await waitFor(() => (cp1!.setCalls.slice(setCallsAtRestart).some((p) => p.csChargingProfiles.chargingProfilePurpose === 'TxProfile' && p.csChargingProfiles.transactionId === cpTx) ? true : undefined), 'a TxProfile for the 1.6 transaction', 30_000);
    expect(cp1.connectorA(1)).toBeGreaterThan(0);

    // The API shows the same transactions, the pause in force.
    expect(await sessions(site)).toEqual({ 'CP1/1': { transactionId: cpTx, paused: false }, 'ST1/1': { transactionId: stationOurs, paused: true } });
    // The station reports its transaction again: the same session, not a new one.
    await again.transactionEvent('Updated', STATION_TX, { transactionInfo: { transactionId: STATION_TX, chargingState: 'SuspendedEVSE' } });
    expect((await sessions(site))['ST1/1']).toEqual({ transactionId: stationOurs, paused: true });
    // Its end closes it; the id is forgotten and may name a new transaction later.
    await again.transactionEvent('Ended', STATION_TX, { transactionInfo: { transactionId: STATION_TX, stoppedReason: 'EVDisconnected' } });
    await waitFor(async () => ((await sessions(site))['ST1/1'] === null ? true : undefined), 'the station session ended', 10_000);
    expect(ems.stdout() + ems.stderr()).not.toMatch(/no station transaction id known/);
  }, 240_000);
}

describe('the transaction book across an EMS restart after SIGKILL', () => bookSuite('SIGKILL'));
describe('the transaction book across an EMS restart after SIGTERM', () => bookSuite('SIGTERM'));
