import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MemoryTransactionStore } from '../../src/state/memory-transaction-store.ts';
import { capturingLogger, startSystem, type System } from './system.ts';

const FORMAT = ['FormationViolation', 'FormatViolation'];
const OCCURRENCE = ['OccurenceConstraintViolation', 'OccurrenceConstraintViolation'];

/** A raw OCPP-J socket: sends any text, collects every frame the server sends back. */
async function rawCharger(port: number, identity: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ocpp/${identity}`, ['ocpp1.6']);
  const frames: unknown[][] = [];
  const waiters: { match: (f: unknown[]) => boolean; resolve: (f: unknown[]) => void }[] = [];
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as unknown[];
    frames.push(frame);
    for (const w of [...waiters]) if (w.match(frame)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(frame);
    }
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const next = (match: (f: unknown[]) => boolean, timeoutMs = 15_000) => {
    const seen = frames.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<unknown[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching frame; got ${JSON.stringify(frames)}`)), timeoutMs);
      waiters.push({ match, resolve: (f) => (clearTimeout(timer), resolve(f)) });
    });
  };
  return {
    ws,
    send: (text: string) => ws.send(text),
    /** The answer (CALLRESULT or CALLERROR) to our message id. */
    answerTo: (id: string) => next((f) => (f[0] === 3 || f[0] === 4) && f[1] === id),
    /** Any CALLERROR we receive. */
    anyError: () => next((f) => f[0] === 4),
    close: () => ws.terminate(),
  };
}

describe('bad input from chargers', () => {
  let system: System;
  afterEach(async () => system?.stop());

  it('answers malformed frames and schema-invalid payloads with a CALLERROR and keeps the socket and other chargers working', async () => {
    system = await startSystem();
    const other = await system.charger('CP002');
    const raw = await rawCharger(system.cs.port, 'CP001');

    raw.send('this is {not json');
    const framing = await raw.anyError();
    expect(['RpcFrameworkError', 'ProtocolError', 'FormationViolation', 'FormatViolation', 'GenericError']).toContain(framing[2]);

    raw.send(JSON.stringify([2, 'bad-type', 'StatusNotification', { connectorId: 'one', errorCode: 'NoError', status: 'Available' }]));
    expect((await raw.answerTo('bad-type'))[2]).toBe('TypeConstraintViolation');

    raw.send(JSON.stringify([2, 'bad-enum', 'StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Plugged' }]));
    expect(FORMAT).toContain((await raw.answerTo('bad-enum'))[2]);

    raw.send(JSON.stringify([2, 'missing', 'StartTransaction', { connectorId: 1, idTag: 'GUEST01' }]));
    expect(OCCURRENCE).toContain((await raw.answerTo('missing'))[2]);

    raw.send(JSON.stringify([2, 'unknown-action', 'MakeCoffee', {}]));
    expect((await raw.answerTo('unknown-action'))[2]).toBe('NotImplemented');

    raw.send(JSON.stringify([2, 'no-connector', 'StatusNotification', { connectorId: 9, errorCode: 'NoError', status: 'Available' }]));
    expect((await raw.answerTo('no-connector'))[2]).toBe('PropertyConstraintViolation');

    raw.send(JSON.stringify([2, 'no-connector-tx', 'StartTransaction', { connectorId: 3, idTag: 'GUEST01', meterStart: 0, timestamp: '2026-11-24T10:00:00Z' }]));
    expect((await raw.answerTo('no-connector-tx'))[2]).toBe('PropertyConstraintViolation');
    expect(system.events['session.started']).toHaveLength(0);

    raw.send(JSON.stringify([2, 'still-alive', 'Heartbeat', {}]));
    expect(await raw.answerTo('still-alive')).toEqual([3, 'still-alive', { currentTime: '2026-11-24T10:00:00.000Z' }]);
    expect(await other.call('Heartbeat', {})).toEqual({ currentTime: '2026-11-24T10:00:00.000Z' });
    expect(system.state.chargers.get('CP001')?.online).toBe(true);
    raw.close();
  });

  it('answers InternalError when a handler fails, and goes on serving', async () => {
    const store = new MemoryTransactionStore();
    store.start = () => {
      throw new Error('disk full');
    };
    system = await startSystem(undefined, { transactions: store });
    const raw = await rawCharger(system.cs.port, 'CP001');
    raw.send(JSON.stringify([2, 'tx', 'StartTransaction', { connectorId: 1, idTag: 'GUEST01', meterStart: 0, timestamp: '2026-11-24T10:00:00Z' }]));
    const answer = await raw.answerTo('tx');
    expect(answer[0]).toBe(4);
    expect(answer[2]).toBe('InternalError');
    expect(JSON.stringify(answer)).not.toContain('disk full');
    raw.send(JSON.stringify([2, 'hb', 'Heartbeat', {}]));
    expect((await raw.answerTo('hb'))[0]).toBe(3);
    raw.close();
  });

  it('drops a second socket’s predecessor: the newest connection of a charger wins', async () => {
    system = await startSystem();
    const first = await rawCharger(system.cs.port, 'CP001');
    const closed = new Promise<number>((resolve) => first.ws.once('close', (code) => resolve(code)));
    const second = await rawCharger(system.cs.port, 'CP001');
    expect(await closed).toBe(1000);
    second.send(JSON.stringify([2, 'hb', 'Heartbeat', {}]));
    expect((await second.answerTo('hb'))[0]).toBe(3);
    expect(system.cs.connectedChargers()).toEqual(['CP001']);
    expect(system.state.chargers.get('CP001')?.online).toBe(true);
    second.close();
  });

  it('logs schema-invalid messages from a charger once as a warning, then only at debug level', async () => {
    const { log, lines } = await capturingLogger();
    system = await startSystem(undefined, {}, log);
    const raw = await rawCharger(system.cs.port, 'CP001');
    for (const id of ['x1', 'x2', 'x3']) {
      raw.send(JSON.stringify([2, id, 'StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Plugged' }]));
      await raw.answerTo(id);
    }
    const warnings = lines.filter((l) => l.level === 40 && /fails the OCPP 1.6 schema/.test(l.msg));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ module: 'ocpp', chargerId: 'CP001', action: 'StatusNotification' });
    expect(lines.filter((l) => l.level === 20 && /schema-invalid/.test(l.msg))).toHaveLength(2);
    raw.close();
  });
});
