// Brute force on a charger's Basic-auth password: after a few failures an address (and, for
// addresses that never authenticated, the charger id) backs off, refused with 429 before the
// password is judged; one log line per burst; every failure counted. The real charger, from the
// address it authenticated from before, still gets in during the attack.
import { afterEach, describe, expect, it } from 'vitest';
import { RawCharger } from './raw-frames.ts';
import { capturingLogger, startSystem, type System } from './system.ts';

const basic = (id: string, password: string) => ({ headers: { authorization: `Basic ${Buffer.from(`${id}:${password}`).toString('base64')}` } });
const from = (address: string) => ({ localAddress: address });

describe('OCPP Basic auth brute force', () => {
  let system: System | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });

  it('backs off per address and per id, logs once per burst, counts every failure, and lets the known charger in', async () => {
    const { log, lines } = await capturingLogger();
    system = await startSystem(undefined, {}, log);
    const kinds: string[] = [];
    system.bus.on('security.event', (e) => kinds.push(e.kind));
    const port = system.cs.port;
    // The real charger has connected before from 127.0.0.3.
    const real = await RawCharger.open(port, 'CP002', { ...basic('CP002', 'secret-password-2'), ...from('127.0.0.3') });
    real.terminate();
    await real.whenClosed();

    const attempt = (password: string, address: string) =>
      RawCharger.open(port, 'CP002', { ...basic('CP002', password), ...from(address) }).then(
        (c) => (c.terminate(), 'accepted'),
        (e: Error) => e.message,
      );
    const results: string[] = [];
    for (let i = 0; i < 20; i++) results.push(await attempt(`guess-${i}`, '127.0.0.2'));
    // Three free failures; the fourth starts the wait.
    expect(results.slice(0, 4)).toEqual(['HTTP 401', 'HTTP 401', 'HTTP 401', 'HTTP 401']);
    expect(results.slice(4)).toEqual(Array(16).fill('HTTP 429'));
    // Even the right password is not judged from an address in its wait: guessing gains nothing.
    expect(await attempt('secret-password-2', '127.0.0.2')).toBe('HTTP 429');
    // Another address that never authenticated meets the per-id wait.
    expect(await attempt('guess-x', '127.0.0.4')).toBe('HTTP 429');
    // The real charger from its known address is not held back.
    expect(await attempt('secret-password-2', '127.0.0.3')).toBe('accepted');

    expect(kinds.filter((k) => k === 'ocpp-auth-failed')).toHaveLength(4);
    expect(kinds.filter((k) => k === 'ocpp-auth-throttled')).toHaveLength(18);
    expect(lines.filter((l) => /wrong or missing password/.test(l.msg))).toHaveLength(1);

    // The waits end: after the clock passes them, the address may try again.
    system.clock.advance(16 * 60_000);
    expect(await attempt('guess-late', '127.0.0.2')).toBe('HTTP 401');
  });
});

describe('chargers without credentials', () => {
  it('logs a second connection for a password-less charger as a possible takeover, and counts it', async () => {
    const { log, lines } = await capturingLogger();
    const system = await startSystem(undefined, {}, log);
    try {
      const kinds: string[] = [];
      system.bus.on('security.event', (e) => kinds.push(e.kind));
      // On loopback nobody else can reach the port: no exposure flag for the API.
      expect(system.cs.unauthenticatedChargers()).toEqual([]);
      const first = await RawCharger.open(system.cs.port, 'CP001');
      const second = await RawCharger.open(system.cs.port, 'CP001');
      await first.whenClosed();
      expect(lines.filter((l) => /possible takeover/.test(l.msg))).toHaveLength(1);
      expect(kinds).toContain('ocpp-takeover');
      second.terminate();
    } finally {
      await system.stop();
    }
  });
});
