// A charger (or anyone who knows a charger id) tries to end the EMS: replaced connections that then
// send invalid UTF-8, oversize or deeply nested frames; malformed frames; ill-formed idTags. The
// central system must answer or drop them, keep serving every other charger, and never leave a
// rejected promise or an uncaught error behind.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { capturingLogger, startSystem, type System } from './system.ts';
import { INVALID_UTF8_FRAME, OVERSIZE_FRAME, RawCharger, deepFrame } from './raw-frames.ts';

const FORMAT = ['FormationViolation', 'FormatViolation'];

/** Everything that would end (or, under vitest, fail) a process: recorded so the test can assert none. */
function processFaults() {
  const faults: unknown[] = [];
  const record = (error: unknown) => faults.push(error);
  process.on('unhandledRejection', record);
  process.on('uncaughtException', record);
  return {
    faults,
    dispose() {
      process.off('unhandledRejection', record);
      process.off('uncaughtException', record);
    },
  };
}

/** Lets pending socket events, close promises and their rejections run. */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('a hostile charger connection', () => {
  let system: System | undefined;
  let guard: ReturnType<typeof processFaults>;
  beforeEach(() => {
    guard = processFaults();
  });
  afterEach(async () => {
    await system?.stop();
    system = undefined;
    guard.dispose();
  });

  const variants: [string, (old: RawCharger) => void][] = [
    ['a 3-byte invalid UTF-8 frame', (old) => old.writeRaw(INVALID_UTF8_FRAME)],
    ['an oversize frame', (old) => old.writeRaw(OVERSIZE_FRAME)],
    ['a 5,000-deep nested frame', (old) => old.send(deepFrame('deep-on-old'))],
    ['a frame that is not JSON', (old) => old.send('[2,"x",')],
  ];
  for (const [name, attack] of variants) {
    it(`survives a replaced connection that then sends ${name}`, async () => {
      system = await startSystem();
      const witness = await system.charger('CP002');
      const old = await RawCharger.open(system.cs.port, 'CP001');
      const replacement = await RawCharger.open(system.cs.port, 'CP001');
      attack(old);
      await old.whenClosed();
      await settle();
      expect(guard.faults).toEqual([]);
      replacement.send(JSON.stringify([2, 'hb', 'Heartbeat', {}]));
      expect((await replacement.answerTo('hb'))[0]).toBe(3);
      expect(await witness.call('Heartbeat', {})).toHaveProperty('currentTime');
      expect(system.cs.connectedChargers().sort()).toEqual(['CP001', 'CP002']);
      replacement.terminate();
    });
  }

  it('survives the attacks on a live (not replaced) connection, then the charger reconnects', async () => {
    system = await startSystem();
    for (const bytes of [INVALID_UTF8_FRAME, OVERSIZE_FRAME]) {
      const raw = await RawCharger.open(system.cs.port, 'CP001');
      raw.writeRaw(bytes);
      await raw.whenClosed();
      expect([1007, 1009, 1006]).toContain(raw.closed?.code);
    }
    await settle();
    expect(guard.faults).toEqual([]);
    const again = await RawCharger.open(system.cs.port, 'CP001');
    again.send(JSON.stringify([2, 'hb', 'Heartbeat', {}]));
    expect((await again.answerTo('hb'))[0]).toBe(3);
    again.terminate();
  });

  it('answers a 5,000-deep frame with a CALLERROR carrying its id and keeps the socket open', async () => {
    system = await startSystem();
    const raw = await RawCharger.open(system.cs.port, 'CP001');
    raw.send(deepFrame('deep-1'));
    const answer = await raw.answerTo('deep-1');
    expect(answer[0]).toBe(4);
    expect(FORMAT).toContain(answer[2]);
    raw.send(JSON.stringify([2, 'after', 'Heartbeat', {}]));
    expect((await raw.answerTo('after'))[0]).toBe(3);
    expect(raw.closed).toBeUndefined();
    raw.terminate();
  });

  it('answers with the real message id whenever it can be read', async () => {
    system = await startSystem();
    const raw = await RawCharger.open(system.cs.port, 'CP001');
    raw.send('[2,"cut-short","Heartbeat",{');
    raw.send('[2, "spaced" , "Heartbeat", {"a": tru}]');
    raw.send('[2,42,"Heartbeat",{}]');
    expect((await raw.answerTo('cut-short'))[0]).toBe(4);
    expect((await raw.answerTo('spaced'))[0]).toBe(4);
    expect((await raw.answerTo('42'))[0]).toBe(4);
    raw.send('not json at all');
    expect((await raw.answerTo('-1'))[0]).toBe(4);
    // A broken CALLRESULT is never answered: only the Heartbeat below gets a reply.
    raw.send('[3,"no-such-call",{');
    raw.send(JSON.stringify([2, 'last', 'Heartbeat', {}]));
    await raw.answerTo('last');
    expect(raw.frames.filter((f) => f[1] === 'no-such-call')).toEqual([]);
    raw.terminate();
  });

  it('refuses idTags with lone surrogates or unprintable characters, and stores nothing', async () => {
    const { log, lines } = await capturingLogger();
    system = await startSystem(undefined, {}, log);
    const raw = await RawCharger.open(system.cs.port, 'CP001');
    const start = (id: string, idTag: string) =>
      `[2,"${id}","StartTransaction",{"connectorId":1,"idTag":"${idTag}","meterStart":0,"timestamp":"2026-11-24T10:00:00Z"}]`;
    raw.send(start('lone', 'GUEST\\ud800'));
    raw.send(start('ctrl', 'GUEST\\u0007'));
    raw.send(start('blank', ' GUEST01'));
    raw.send(`[2,"auth","Authorize",{"idTag":"\\udc00x"}]`);
    for (const id of ['lone', 'ctrl', 'blank', 'auth']) expect((await raw.answerTo(id))[0]).toBe(4);
    expect((await raw.answerTo('ctrl'))[2]).toBe('PropertyConstraintViolation');
    expect(system.events['session.started']).toEqual([]);
    expect(system.transactions.open()).toEqual([]);
    raw.send(start('fine', 'GUEST01'));
    expect((await raw.answerTo('fine'))[0]).toBe(3);
    expect(lines.some((l) => l.level >= 60)).toBe(false);
    raw.terminate();
  });
});

describe('fuzzing the central system', () => {
  it('survives 10,000 hostile frames over replaced connections and still serves every charger', async () => {
    const guard = processFaults();
    const config = (await import('./system.ts')).testConfig({
      chargers: [
        { id: 'CP001', connectors: 2, maxCurrent: 32, minCurrent: 6, phases: 3 },
        { id: 'CP002', connectors: 1, maxCurrent: 32, minCurrent: 6, phases: 3, password: 'secret-password-2' },
        { id: 'PROBE', connectors: 1, maxCurrent: 32, minCurrent: 6, phases: 3 },
      ],
    });
    const system = await startSystem(config);
    try {
      const { fuzzOcpp } = await import('./ocpp-fuzz.ts');
      const report = await fuzzOcpp({
        port: system.cs.port,
        frames: 10_000,
        seed: 15,
        targets: [{ id: 'CP001' }, { id: 'CP002', password: 'secret-password-2' }],
        probeId: 'PROBE',
      });
      await settle();
      expect(guard.faults).toEqual([]);
      expect(report.sent + report.connectionsOpened + report.connectionsRefused).toBe(10_000 + 1);
      expect(report.sent).toBeGreaterThan(9_000);
      expect(report.probesAnswered).toBe(40);
      expect(report.connectionsOpened).toBeGreaterThan(100);
      const after = await system.charger('CP002');
      expect(await after.call('Heartbeat', {})).toHaveProperty('currentTime');
    } finally {
      await system.stop();
      guard.dispose();
    }
  }, 120_000);
});
