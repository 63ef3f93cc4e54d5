// Local-controller mode under bad input and odd situations: a CSMS that sends nonsense, a charger
// that refuses, a version mismatch, a charger that goes away.
import ocppRpc from 'ocpp-rpc';
import { afterEach, describe, expect, it } from 'vitest';
import { capturingLogger } from '../ocpp/system.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { relayConfig, startLocalController, T0 } from './local-controller.ts';
import { StrictCharger, TestCsms } from './peers.ts';

const { createRPCError } = ocppRpc as unknown as { createRPCError: (code: string, message?: string) => Error };
const at = (offsetS: number) => new Date(T0 + offsetS * 1000).toISOString();


/**
 * Timers whose call timeouts (of exactly `callTimeoutMs`) fire only when the test fires them: the
 * test, not the wall clock, says when the CSMS has been silent that long. Other timers are real.
 */
function silenceableTimers(callTimeoutMs: number) {
  const silences = new Set<{ fire: () => void }>();
  const timers = {
    setTimeout: (fn: () => void, ms: number) => {
      if (ms !== callTimeoutMs) return setTimeout(fn, ms);
      const silence = { fire: fn };
      silences.add(silence);
      return silence;
    },
    clearTimeout: (handle: unknown) => {
      if (!silences.delete(handle as { fire: () => void })) clearTimeout(handle as NodeJS.Timeout);
    },
  };
  return { silences, timers };
}

describe('local controller edge cases', () => {
  let csms: TestCsms;
  let ems: Awaited<ReturnType<typeof startLocalController>>;
  let charger: StrictCharger;

  afterEach(async () => {
    await charger?.close().catch(() => undefined);
    await ems?.stop();
    await csms?.stop();
  });

  async function connect(overrides: Record<string, unknown> = {}, log?: Awaited<ReturnType<typeof capturingLogger>>['log']) {
    csms = new TestCsms();
    await csms.start();
    ems = await startLocalController(relayConfig(csms.url, overrides), log ? { log } : {});
    charger = new StrictCharger(ems.cs.port, 'CP16', 'ocpp1.6');
    charger.nowMs = () => ems.clock.nowMs();
    const ready = ems.cs.whenReady('CP16');
    await charger.connect();
    await charger.boot();
    await ready;
  }

  it('a schema-invalid CSMS profile gets a CALLERROR and never reaches the charger; a TxProfile without a transaction is Rejected', async () => {
    await connect();
    await waitFor(() => csms.clients.has('CLOUD-CP16'), 'uplink');
    const before = charger.received.length;
    const profile = (limit: number, purpose = 'TxDefaultProfile', connectorId = 1) => ({
      connectorId,
      csChargingProfiles: {
        chargingProfileId: 3,
        stackLevel: 0,
        chargingProfilePurpose: purpose,
        chargingProfileKind: 'Relative',
        chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit }] },
      },
    });
    await expect(csms.call('CLOUD-CP16', 'SetChargingProfile', profile(16.05))).rejects.toMatchObject({ rpcErrorCode: expect.stringMatching(/Violation/) });
    expect(await csms.call('CLOUD-CP16', 'SetChargingProfile', profile(10, 'TxProfile'))).toEqual({ status: 'Rejected' });
    expect(await csms.call('CLOUD-CP16', 'SetChargingProfile', profile(10, 'ChargePointMaxProfile', 1))).toEqual({ status: 'Rejected' });
    // (The EMS's own GetCompositeSchedule after the setup may cross: it verifies what the charger holds.)
    expect(charger.received.slice(before).filter((r) => r.action !== 'GetCompositeSchedule')).toEqual([]);
    expect(ems.status('CP16').csmsProfiles).toBe(0);
  });

  it('a charger frame goes up as the charger spelled it (not serialised again); the answer comes back', async () => {
    await connect();
    await waitFor(() => csms.clients.has('CLOUD-CP16'), 'uplink');
    // Odd spacing, key order and number spelling: serialising the parsed frame again would change all three.
    const params = ' { "meterValue" : [ { "sampledValue":[{"value":"1.50","unit":"A","measurand":"Current.Import","phase":"L1"}],"timestamp":"' + at(5) + '"} ],  "connectorId" : 1.0 } ';
    const answered = new Promise<unknown>((resolve) =>
      charger.client.on('message', ({ message, outbound }: { message: string; outbound: boolean }) => {
        if (!outbound && message.includes('"spelled-1"')) resolve(JSON.parse(message));
      }),
    );
    charger.client.sendRaw(`[2, "spelled-1" ,"MeterValues",${params}]`);
    expect(await answered).toEqual([3, 'spelled-1', {}]);
    const up = csms.frames.filter((f) => f.identity === 'CLOUD-CP16' && f.text.includes('"MeterValues"'));
    expect(up).toHaveLength(1);
    expect(up[0]!.text.endsWith(`,${params}]`)).toBe(true);
    expect(csms.from('CLOUD-CP16', 'MeterValues')[0]!.params.meterValue[0].sampledValue[0].value).toBe('1.50');
  });

  it('a stop is booked while the CSMS holds its answer; the charger is answered once both are done; a CSMS that never answers it: the EMS ends the session once and the stop goes up after the reopen', async () => {
    const callTimeoutMs = 30_000;
    const { silences, timers } = silenceableTimers(callTimeoutMs);
    csms = new TestCsms();
    await csms.start();
    ems = await startLocalController(relayConfig(csms.url, { upstream: { url: csms.url, callTimeoutMs, reconnectMinMs: 20, reconnectMaxMs: 200 } }), { timers });
    charger = new StrictCharger(ems.cs.port, 'CP16', 'ocpp1.6');
    await charger.connect();
    await waitFor(() => csms.clients.has('CLOUD-CP16'), 'uplink');
    await charger.boot();
    // The CSMS holds each stop until the test lets it go (or forever).
    const held: (() => void)[] = [];
    let silent = false;
    csms.answers.StopTransaction = () => (silent ? new Promise(() => undefined) : new Promise((resolve) => held.push(() => resolve({ idTagInfo: { status: 'Accepted' } }))));
    for (const round of [1, 2]) {
      await charger.start16(1, 'LOCAL01', at(round * 100));
      await waitFor(() => ems.sessions.filter((e) => e.event === 'started').length === round, 'the session to start');
      silent = round === 2;
      let answered = false;
      const stopping = charger.stop16(1, at(round * 100 + 50), 5000).then((conf) => ((answered = true), conf));
      // Ended in the EMS's book while the CSMS still holds the stop.
      await waitFor(() => ems.sessions.filter((e) => e.event === 'ended').length === round, 'the EMS to end the session before the CSMS answered');
      await waitFor(() => csms.from('CLOUD-CP16', 'StopTransaction').length === round, 'the CSMS to have the stop');
      expect(answered).toBe(false);
      if (round === 1) {
        await waitFor(() => held.length === 1, 'the CSMS to hold the stop');
        held.pop()!();
        expect(await stopping).toEqual({ idTagInfo: { status: 'Accepted' } });
        continue;
      }
      await waitFor(() => silences.size >= 1, 'the stop to wait on its call timeout');
      silent = false;
      for (const silence of [...silences]) silence.fire();
      // The EMS's answer (its handler ran once, before; no idTag, so no idTagInfo), and the uplink reopened and drained.
      expect(await stopping).toEqual({});
      await waitFor(() => held.length === 1, 'the stop redelivered on the reopened uplink', 10_000);
      held.pop()!();
    }
    await waitFor(() => ems.status('CP16').uplink === 'online' && ems.status('CP16').queueLength === 0, 'drained', 10_000);
    // Each session ended once in the EMS; the CSMS got the first stop once and the second twice (unanswered, then redelivered).
    expect(ems.sessions.filter((e) => e.event === 'ended')).toHaveLength(2);
    expect(csms.from('CLOUD-CP16', 'StopTransaction').map((r) => r.params.timestamp)).toEqual([at(150), at(250), at(250)]);
  });

  it("a charger's CALLERROR goes back to the CSMS with its code", async () => {
    await connect();
    await waitFor(() => csms.clients.has('CLOUD-CP16'), 'uplink');
    charger.client.handle('GetDiagnostics', () => {
      throw createRPCError('NotSupported', 'no diagnostics here');
    });
    await expect(csms.call('CLOUD-CP16', 'GetDiagnostics', { location: 'ftp://127.0.0.1/x' })).rejects.toMatchObject({ rpcErrorCode: 'NotSupported' });
  });

  it("closes the charger's upstream socket when the charger goes away, and opens a new one when it is back", async () => {
    await connect();
    await waitFor(() => csms.clients.has('CLOUD-CP16'), 'uplink');
    await charger.close();
    await waitFor(() => !csms.clients.has('CLOUD-CP16'), 'the upstream socket to close');
    await waitFor(() => ems.status('CP16').chargerLink === 'disconnected', 'charger link down');
    charger = new StrictCharger(ems.cs.port, 'CP16', 'ocpp1.6');
    await charger.connect();
    await waitFor(() => csms.clients.has('CLOUD-CP16'), 'a new upstream socket');
    expect(await charger.call('Heartbeat', {})).toHaveProperty('currentTime');
    expect(csms.from('CLOUD-CP16', 'Heartbeat')).toHaveLength(1);
  });

  it('an unreachable CSMS: the EMS answers, queues transactions, and reconnects with capped backoff when it appears', async () => {
    csms = new TestCsms();
    await csms.start();
    const port = csms.port;
    await csms.stop();
    ems = await startLocalController(relayConfig(`ws://127.0.0.1:${port}/cloud`));
    charger = new StrictCharger(ems.cs.port, 'CP16', 'ocpp1.6');
    charger.nowMs = () => ems.clock.nowMs();
    await charger.connect();
    expect(await charger.boot()).toMatchObject({ status: 'Accepted' });
    await charger.start16(1, 'LOCAL01', at(1));
    await waitFor(() => ems.status('CP16').uplink === 'offline', 'offline');
    await csms.start(port);
    await waitFor(() => ems.status('CP16').uplink === 'online' && ems.status('CP16').queueLength === 0, 'reconnect and drain', 10_000);
    // The boot the EMS answered while the CSMS was away reaches it first.
    expect(csms.from('CLOUD-CP16').map((r) => r.action).slice(0, 2)).toEqual(['BootNotification', 'StartTransaction']);
  });

  it('acceptUnknownOffline: while the CSMS is unreachable an unknown tag is accepted (and its session balanced); without it, Invalid', async () => {
    csms = new TestCsms();
    await csms.start();
    const port = csms.port;
    await csms.stop();
    const url = `ws://127.0.0.1:${port}/cloud`;
    ems = await startLocalController(relayConfig(url, { upstream: { url, acceptUnknownOffline: true, callTimeoutMs: 5_000, reconnectMinMs: 20, reconnectMaxMs: 200 } }));
    charger = new StrictCharger(ems.cs.port, 'CP16', 'ocpp1.6');
    charger.nowMs = () => ems.clock.nowMs();
    await charger.connect();
    await charger.boot();
    await waitFor(() => ems.status('CP16').uplink === 'offline', 'offline');
    expect(await charger.call('Authorize', { idTag: 'STRANGER' })).toEqual({ idTagInfo: { status: 'Accepted' } });
    expect((await charger.start16(1, 'STRANGER', at(1))).idTagInfo.status).toBe('Accepted');
    await waitFor(() => ems.sessions.some((s) => s.event === 'started'), 'the EMS to balance the session');
    await charger.close();
    await ems.stop();
    // The default: an unknown tag is Invalid while offline.
    ems = await startLocalController(relayConfig(url, { upstream: { url, callTimeoutMs: 5_000, reconnectMinMs: 20, reconnectMaxMs: 200 } }));
    charger = new StrictCharger(ems.cs.port, 'CP16', 'ocpp1.6');
    await charger.connect();
    await charger.boot();
    await waitFor(() => ems.status('CP16').uplink === 'offline', 'offline');
    expect(await charger.call('Authorize', { idTag: 'STRANGER' })).toEqual({ idTagInfo: { status: 'Invalid' } });
  });

  it('reconnects on the shared backoff: doubling from reconnectMinMs, capped at reconnectMaxMs, each wait up to a fifth shorter at random', async () => {
    csms = new TestCsms();
    await csms.start();
    const port = csms.port;
    await csms.stop();
    // Real timers, with the delays the relay asks for recorded; the jitter's random pinned.
    const delaysMs: number[] = [];
    const timers = {
      setTimeout: (fn: () => void, ms: number) => {
        delaysMs.push(ms);
        return setTimeout(fn, ms);
      },
      clearTimeout: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
    };
    const draws = [0, 0.5, 0.999, 0.25, 0, 0.5, 0.999];
    let draw = 0;
    ems = await startLocalController(relayConfig(`ws://127.0.0.1:${port}/cloud`, { upstream: { url: `ws://127.0.0.1:${port}/cloud`, callTimeoutMs: 2_000, reconnectMinMs: 10, reconnectMaxMs: 60 } }), {
      timers,
      random: () => draws[draw++ % draws.length]!,
    });
    charger = new StrictCharger(ems.cs.port, 'CP16', 'ocpp1.6');
    await charger.connect();
    await waitFor(() => delaysMs.length >= 7, 'seven failed connects');
    // 10, 20, 40, then the 60 ms cap; times 1 − 0.2 × random.
    const expected = [10 * 1, 20 * 0.9, 40 * (1 - 0.2 * 0.999), 60 * 0.95, 60 * 1, 60 * 0.9, 60 * (1 - 0.2 * 0.999)];
    delaysMs.slice(0, 7).forEach((ms, i) => expect(ms, `wait ${i + 1}`).toBeCloseTo(expected[i]!, 6));
    // Back to the first step once the CSMS answers again.
    await csms.start(port);
    await waitFor(() => ems.status('CP16').uplink === 'online', 'online');
    const before = delaysMs.length;
    await csms.stop();
    await waitFor(() => delaysMs.length > before, 'a reconnect after the drop');
    expect(delaysMs[before]).toBeLessThanOrEqual(10);
  });

  it('a CSMS that answers garbage: the charger gets the EMS’s answer, the frame is not sent twice, the fault is logged once and clears', async () => {
    const { log, lines } = await capturingLogger();
    await connect({}, log);
    csms.rawAnswers.StartTransaction = () => ({ transactionId: 'nine', idTagInfo: {} });
    csms.rawAnswers.Heartbeat = () => ({ currentTime: 42 });
    const started = await charger.start16(1, 'LOCAL01', at(1));
    expect(started.idTagInfo.status).toBe('Accepted');
    expect(typeof started.transactionId).toBe('number');
    expect(typeof (await charger.call('Heartbeat', {})).currentTime).toBe('string');
    expect(ems.status('CP16')).toMatchObject({ uplink: 'online', queueLength: 0 });
    expect(ems.status('CP16').lastError).toMatch(/not a valid Heartbeat\.conf/);
    expect(lines.filter((l) => /answered with an invalid message/.test(l.msg))).toHaveLength(1);
    // The EMS balances the car it answered for.
    await waitFor(() => ems.sessions.some((s) => s.event === 'started'), 'the EMS to know the session');

    csms.rawAnswers = {};
    expect(await charger.call('Heartbeat', {})).toHaveProperty('currentTime');
    expect(ems.status('CP16').lastError).toBeUndefined();
    expect(lines.some((l) => /answers validly again/.test(l.msg))).toBe(true);
    // Once each: the garbled ones were not sent again.
    expect(csms.from('CLOUD-CP16', 'StartTransaction')).toHaveLength(1);
    expect(csms.from('CLOUD-CP16', 'Heartbeat')).toHaveLength(2);
  });

  it('a CSMS that stops answering: the frame is answered locally, queued, and the uplink is reopened', async () => {
    // A real link's call timeout (30 s); the test, not the wall clock, says when the CSMS has been
    // silent that long: every call waits on an injected timer, fired once the CSMS holds the start.
    const callTimeoutMs = 30_000;
    const { silences, timers } = silenceableTimers(callTimeoutMs);
    csms = new TestCsms();
    await csms.start();
    ems = await startLocalController(relayConfig(csms.url, { upstream: { url: csms.url, callTimeoutMs, reconnectMinMs: 20, reconnectMaxMs: 200 } }), { timers });
    charger = new StrictCharger(ems.cs.port, 'CP16', 'ocpp1.6');
    await charger.connect();
    await waitFor(() => csms.clients.has('CLOUD-CP16'), 'uplink');
    await charger.boot();
    let hang = true;
    csms.answers.StartTransaction = () => (hang ? new Promise(() => undefined) : { transactionId: 4242, idTagInfo: { status: 'Accepted' } });
    const starting = charger.start16(1, 'LOCAL01', at(1));
    await waitFor(() => csms.from('CLOUD-CP16', 'StartTransaction').length === 1 && silences.size === 1, 'the CSMS to hold the start unanswered');
    hang = false;
    for (const silence of [...silences]) silence.fire();
    const started = await starting;
    expect(started.idTagInfo.status).toBe('Accepted');
    await waitFor(() => ems.status('CP16').uplink === 'online' && ems.status('CP16').queueLength === 0, 'reopened and drained', 10_000);
    // The CSMS saw the start twice (the first went unanswered): at least once, never lost.
    expect(csms.from('CLOUD-CP16', 'StartTransaction').map((r) => r.params.timestamp)).toEqual([at(1), at(1)]);
    // The charger kept the EMS's id; the CSMS's id for the redelivered start is mapped to it.
    expect(ems.store.upstream.byCsmsTxId('CP16', '4242')?.chargerTxId).toBe(String(started.transactionId));
  });
});
