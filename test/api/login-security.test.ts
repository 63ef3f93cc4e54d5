// Login under attack: a flood from one client (or with many usernames) never locks out a correct
// login from another; the real client address behind a trusted proxy; a lockout no table flush
// resets; weak passwords refused everywhere; the setup token on the terminal only.
import fc from 'fast-check';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createAuth } from '../../src/api/auth.ts';
import { passwordProblem } from '../../src/api/password-policy.ts';
import { ManualClock } from '../../src/clock.ts';
import { FailureBackoff } from '../../src/failure-backoff.ts';
import { openStorage } from '../../src/storage/open-storage.ts';
import { ADMIN_PASSWORD, createApiFixture, testConfig } from './api-fixture.ts';

const login = (username: string, password: string, extra: Record<string, unknown> = {}) => ({ method: 'POST' as const, url: '/api/v1/auth/login', payload: { username, password }, ...extra });

describe('login fairness', () => {
  it('a flood from one client with random usernames never stops a correct login from another', async () => {
    // Real-cost hashing, so the flood's checks overlap the real login's as in production.
    const api = await createApiFixture({ deps: { auth: { scryptN: 1 << 15 } } });
    try {
      let stop = false;
      const floodCodes: number[] = [];
      const flooder = async (n: number) => {
        for (let i = 0; !stop; i++) {
          const res = await api.inject(login(`user-${n}-${i}`, 'guess-guess-guess', { remoteAddress: '127.0.0.66' }));
          floodCodes.push(res.statusCode);
        }
      };
      const flood = Array.from({ length: 16 }, (_, n) => flooder(n));
      const real: number[] = [];
      for (let i = 0; i < 5; i++) real.push((await api.inject(login('admin', ADMIN_PASSWORD, { remoteAddress: '127.0.0.77' }))).statusCode);
      stop = true;
      await Promise.all(flood);
      expect(real).toEqual([200, 200, 200, 200, 200]);
      expect(floodCodes.length).toBeGreaterThan(16);
      expect(floodCodes.every((c) => c === 401 || c === 429)).toBe(true);
      // Many usernames did not buy the flooder more guesses: its address backed off after a few.
      expect(floodCodes.filter((c) => c === 401).length).toBeLessThanOrEqual(5);
    } finally {
      await api.close();
    }
  }, 60_000);

  it('locks an address out whatever usernames it tries, and never the user for other addresses', async () => {
    const api = await createApiFixture();
    try {
      for (let i = 0; i < 5; i++) expect((await api.inject(login(`name-${i}`, 'wrong-wrong-wrong', { remoteAddress: '127.0.0.9' }))).statusCode).toBe(401);
      const locked = await api.inject(login('admin', ADMIN_PASSWORD, { remoteAddress: '127.0.0.9' }));
      expect(locked.statusCode).toBe(429);
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
      expect((await api.inject(login('admin', ADMIN_PASSWORD, { remoteAddress: '127.0.0.10' }))).statusCode).toBe(200);
    } finally {
      await api.close();
    }
  });

  it('with http.trustProxy takes the client address from X-Forwarded-For, so one client behind the proxy cannot lock out the rest', async () => {
    const attack = async (trustProxy: boolean) => {
      const api = await createApiFixture({ config: testConfig({ http: { host: '127.0.0.1', port: 0, trustProxy } }) });
      try {
        const viaProxy = (client: string) => ({ remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': client } });
        for (let i = 0; i < 6; i++) await api.inject(login('admin', 'wrong-wrong-wrong', viaProxy('127.0.0.50')));
        return (await api.inject(login('admin', ADMIN_PASSWORD, viaProxy('127.0.0.51')))).statusCode;
      } finally {
        await api.close();
      }
    };
    expect(await attack(true)).toBe(200);
    // Without it every client shares the proxy's address: the reason the option exists.
    expect(await attack(false)).toBe(429);
  });

  it('a backoff cannot be reset by flooding the table with other keys', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 300 }), fc.integer({ min: 0, max: 50_000 }), (others, elapsedMs) => {
        const clock = new ManualClock(0);
        const backoff = new FailureBackoff(clock, { freeFailures: 2, baseMs: 60_000, maxMs: 600_000, forgetAfterMs: 900_000, maxKeys: 16 });
        for (let i = 0; i < 4; i++) backoff.fail('attacker');
        const before = backoff.waitMs('attacker');
        for (const key of others) if (key !== 'attacker') backoff.fail(`x${key}`);
        clock.advance(elapsedMs);
        expect(backoff.size).toBeLessThanOrEqual(17);
        expect(backoff.waitMs('attacker')).toBe(Math.max(0, before - elapsedMs));
      }),
    );
  });
});

describe('password policy', () => {
  it.each(['password', '12345678', '        ', '            ', 'password1234', 'Password1234', 'aaaaaaaaaaaaaaaa', 'abcdefghijklmnop', '123456789012', 'short-pass1'])('refuses %j', (weak) => {
    expect(passwordProblem(weak)).toBeDefined();
  });
  it.each(['demo-admin-password', 'admin-password-1', 'correct horse battery', 'Zw8#kq!pL02m'])('accepts %j', (good) => {
    expect(passwordProblem(good)).toBeUndefined();
  });

  it('refuses weak passwords in the users API and the password change', async () => {
    const api = await createApiFixture();
    try {
      const { token } = await api.login('admin', ADMIN_PASSWORD);
      const bearer = { authorization: `Bearer ${token}` };
      for (const password of ['password', '12345678', '        ', 'password1234']) {
        const created = await api.inject({ method: 'POST', url: '/api/v1/users', headers: bearer, payload: { username: 'weak', password, role: 'viewer' } });
        expect(created.statusCode, password).toBe(400);
        const changed = await api.inject({ method: 'PATCH', url: '/api/v1/users/admin', headers: bearer, payload: { password } });
        expect(changed.statusCode, password).toBe(400);
      }
    } finally {
      await api.close();
    }
  });

  it('creates no admin from a weak EMS_ADMIN_PASSWORD, and prints the setup token to the terminal only, never to the log', async () => {
    const clock = new ManualClock(0);
    const store = openStorage(':memory:', clock);
    const logged: string[] = [];
    const log = pino({ level: 'trace' }, new Writable({ write: (chunk, _enc, done) => (logged.push(String(chunk)), done()) }));
    const printed: string[] = [];
    const auth = createAuth(store, clock, log, { env: { EMS_ADMIN_PASSWORD: 'demo-admin' }, print: (l) => printed.push(l), scryptN: 1 << 10 });
    const { setupToken } = await auth.bootstrap();
    expect(store.users.count()).toBe(0);
    expect(setupToken).toBeTruthy();
    expect(printed.join('\n')).toContain(setupToken!);
    expect(logged.join('\n')).not.toContain(setupToken!);
    expect(logged.join('\n')).toMatch(/EMS_ADMIN_PASSWORD is too weak/);
    await expect(auth.setup(setupToken!, 'password1234')).rejects.toThrow(/common/);
    expect((await auth.setup(setupToken!, 'a-strong-first-password')).role).toBe('admin');
    store.close();
  });
});
