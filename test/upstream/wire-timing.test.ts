// The wire-timing channels (src/wire-timing.ts) that bench/loop-delay-probe.mjs reads to
// measure a relayed frame's residence in the EMS: for one relayed CALL, the four moments come in
// order and name the same charger on both sides (its upstream identity differs from its id here).
import diagnostics from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait-for.ts';
import { relayConfig, startLocalController, T0 } from './local-controller.ts';
import { StrictCharger, TestCsms } from './peers.ts';

type Seen = { channel: string; identity: string; action?: string; messageId?: string; atMs: number };
const CHANNELS = ['ems:ocpp:call-in', 'ems:upstream:call-out', 'ems:upstream:answer-in', 'ems:ocpp:answer-out'];

describe('wire timing of a relayed frame', () => {
  const seen: Seen[] = [];
  const listeners = CHANNELS.map((channel) => [channel, (message: unknown) => seen.push({ channel, ...(message as Omit<Seen, 'channel'>) })] as const);
  let cleanup: (() => Promise<void>) | undefined;

  afterEach(async () => {
    for (const [channel, listener] of listeners) diagnostics.unsubscribe(channel, listener);
    await cleanup?.();
    cleanup = undefined;
  });

  it('publishes charger frame read, upstream frame written, CSMS answer read and charger answer written, in that order, under the charger id', async () => {
    const csms = new TestCsms();
    csms.passwords.set('CLOUD-CP16', 'cloud-password-16');
    await csms.start();
    const ems = await startLocalController(relayConfig(csms.url));
    const charger = new StrictCharger(ems.cs.port, 'CP16', 'ocpp1.6');
    cleanup = async () => {
      await charger.close().catch(() => undefined);
      await ems.stop();
      await csms.stop();
    };
    charger.nowMs = () => ems.clock.nowMs();
    const ready = ems.cs.whenReady('CP16');
    await charger.connect();
    await waitFor(() => csms.clients.has('CLOUD-CP16'), 'the uplink with the charger identity');
    await charger.boot();
    await ready;

    for (const [channel, listener] of listeners) diagnostics.subscribe(channel, listener);
    const answer = await charger.call('StartTransaction', { connectorId: 1, idTag: 'CLOUD01', meterStart: 1000, timestamp: new Date(T0).toISOString() });
    expect(answer).toMatchObject({ transactionId: 9001 });
    // The answer-out event comes right after the answer is written: wait for it, the last of the four.
    await waitFor(() => seen.some((s) => s.channel === 'ems:ocpp:answer-out'), 'the answer-out event');

    const callIn = seen.find((s) => s.channel === 'ems:ocpp:call-in' && s.action === 'StartTransaction')!;
    expect(callIn).toMatchObject({ identity: 'CP16' });
    const start = seen.slice(seen.indexOf(callIn));
    const out = start.find((s) => s.channel === 'ems:upstream:call-out');
    const answerIn = start.find((s) => s.channel === 'ems:upstream:answer-in');
    const answerOut = start.find((s) => s.channel === 'ems:ocpp:answer-out' && s.messageId === callIn.messageId);
    expect(out).toMatchObject({ identity: 'CP16', action: 'StartTransaction' });
    expect(answerIn).toMatchObject({ identity: 'CP16', action: 'StartTransaction' });
    expect(answerOut).toMatchObject({ identity: 'CP16' });
    expect(callIn.atMs).toBeLessThanOrEqual(out!.atMs);
    expect(out!.atMs).toBeLessThanOrEqual(answerIn!.atMs);
    expect(answerIn!.atMs).toBeLessThanOrEqual(answerOut!.atMs);
    expect(csms.from('CLOUD-CP16').map((r) => r.action)).toContain('StartTransaction');
  });
});
