// `ems run` refuses to start with one clear line on stderr (no stack trace) and exit 1 for every
// start-up error the security issue measured: a missing TLS file, a port in use, a bad host, a
// storage that is not a database, a storage path that is a folder, a storage under /proc; it never
// hangs (the test's own timeout is the bound).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

const BIN = join(process.cwd(), 'bin/ems.js');

function run(extra: Record<string, unknown>): Promise<{ code: number | string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ems-startup-'));
  const config = {
    site: { name: 'Start-up errors' },
    grid: { maxCurrent: 63 },
    chargers: [{ id: 'CP1' }],
    ocpp: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    storage: { path: join(dir, 'ems.sqlite') },
    ...extra,
  };
  writeFileSync(join(dir, 'site.yaml'), stringify(config));
  const child = spawn(process.execPath, [BIN, 'run', '--config', join(dir, 'site.yaml')], {
    cwd: dir,
    env: { ...process.env, EMS_ADMIN_PASSWORD: 'process-test-password-1', EMS_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code: code ?? signal ?? -1, stderr })));
}

describe('ems run start-up errors', () => {
  let busy: Server;
  let busyPort = 0;
  let notADatabase = '';
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    busyPort = (busy.address() as { port: number }).port;
    notADatabase = join(mkdtempSync(join(tmpdir(), 'ems-startup-')), 'ems.sqlite');
    writeFileSync(notADatabase, 'this is not an SQLite database\n'.repeat(200));
  });
  afterAll(() => new Promise<void>((resolve) => busy.close(() => resolve())));

  const cases: [string, () => Record<string, unknown>, RegExp][] = [
    ['a missing HTTPS certificate', () => ({ http: { host: '127.0.0.1', port: 0, tls: { cert: '/nonexistent/cert.pem', key: '/nonexistent/key.pem' } } }), /^ems: cannot start: cannot read the HTTPS files \(http\.tls\): ENOENT.*\/nonexistent\/cert\.pem/],
    ['a missing OCPP certificate', () => ({ ocpp: { host: '127.0.0.1', port: 0, tls: { cert: '/nonexistent/cert.pem', key: '/nonexistent/key.pem' } } }), /^ems: cannot start: cannot read the OCPP TLS files \(ocpp\.tls\)/],
    ['the OCPP port in use', () => ({ ocpp: { host: '127.0.0.1', port: busyPort } }), /^ems: cannot start: .*OCPP.*127\.0\.0\.1:\d+.*in use/i],
    ['the HTTP port in use', () => ({ http: { host: '127.0.0.1', port: busyPort } }), /^ems: cannot start: cannot serve HTTP on 127\.0\.0\.1:\d+ \(http\.host\/http\.port\): the port is in use/],
    ['a host that is no address', () => ({ ocpp: { host: '127.0.0.999', port: 0 } }), /^ems: cannot start: cannot listen for OCPP on 127\.0\.0\.999:0: getaddrinfo/],
    ['a storage file that is not a database', () => ({ storage: { path: notADatabase } }), /^ems: cannot start: .*(not a database|storage)/i],
    ['a storage path that is a folder', () => ({ storage: { path: tmpdir() } }), /^ems: cannot start: cannot open database/],
    ['a storage under /proc', () => ({ storage: { path: '/proc/ems.sqlite' } }), /storage\.path: storage\.path must be a file on a real filesystem, not under \/proc/],
  ];

  it.each(cases)('refuses %s with exit 1 and one clear line, no stack trace', async (_name, extra, message) => {
    const { code, stderr } = await run(extra());
    expect(code, stderr).toBe(1);
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(stderr.trim().split('\n').length, stderr).toBeLessThanOrEqual(2);
  }, 180_000);
});
