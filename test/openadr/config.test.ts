import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openadrSchema } from '../../config/schema.ts';
import { checkConfig } from '../../src/cli/check-config.ts';
import { openAdrConfigWarnings } from '../../src/openadr/config-checks.ts';
import { createTestPki } from '../fixtures/openadr/certs.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';

const problems = (entry: Record<string, unknown>) => {
  const result = openadrSchema.safeParse(entry);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('openadr config', () => {
  it('reads the DESIGN.md example with numeric SIMPLE level keys', () => {
    const parsed = openadrSchema.parse({
      id: 'utility',
      version: '2.0b',
      vtnUrl: 'https://vtn.example.com/OpenADR2/Simple/2.0b',
      venName: 'depot-north',
      pollIntervalS: 10,
      tls: { ca: 'certs/ca.pem', cert: 'certs/ven.pem', key: 'certs/ven.key' },
      simpleLevels: { 1: 100000, 2: 60000, 3: 20000 },
    });
    expect(parsed.simpleLevels).toEqual({ '1': 100000, '2': 60000, '3': 20000 });
    expect(parsed).toMatchObject({ reportIntervalS: 60, optOut: false, randomize: true, programs: [] });
  });

  it.each([
    [{ version: '2.0b', vtnUrl: 'https://vtn.example.com/x' }, 'tls.cert: 2.0b needs a client certificate (mutual TLS): set tls.cert and tls.key'],
    [{ version: '2.0b', vtnUrl: 'http://127.0.0.1/x', client: { id: 'a', secret: 'b' } }, 'client: client credentials are for 3.1; 2.0b authenticates with tls.cert'],
    [{ version: '3.1', vtnUrl: 'https://vtn.example.com', tls: { cert: 'a.pem' } }, 'tls: give both cert and key for a client certificate'],
    [{ version: '3.1', vtnUrl: 'https://vtn.example.com', simpleLevels: { 4: 1000 } }, 'simpleLevels.4: SIMPLE levels are 0..3'],
    [{ version: '3.0', vtnUrl: 'https://vtn.example.com' }, 'version: Invalid option: expected one of "2.0b"|"3.1"'],
  ])('says what is wrong with %j', (entry, message) => {
    expect(problems({ id: 'u', venName: 'v', ...entry })).toContain(message);
  });
});

describeWithPeer('openssl', hasCommand('openssl'), 'ems check-config on an OpenADR setup', () => {
  it('warns about a plain-HTTP webhook and VTN, and certificates that expire within 30 days, and still passes', () => {
    const pki = createTestPki(); // certificates valid for 2 days
    const dir = mkdtempSync(join(tmpdir(), 'ems-oadr-check-'));
    const path = join(dir, 'site.yaml');
    writeFileSync(
      path,
      [
        'grid: { maxCurrent: 63 }',
        'chargers: [ { id: CP1 } ]',
        'openadr:',
        `  - { id: utility, version: '2.0b', vtnUrl: 'https://127.0.0.1:8443/OpenADR2/Simple/2.0b', venName: depot, tls: { ca: '${pki.caPath}', cert: '${pki.clientCertPath}', key: '${pki.clientKeyPath}' } }`,
        `  - { id: dso, version: '3.1', vtnUrl: 'http://127.0.0.1:8080/openadr3', venName: depot, client: { id: a, secret: b }, webhook: { publicUrl: 'http://127.0.0.1:9000/cb' } }`,
      ].join('\n'),
    );
    const stdout: string[] = [];
    const stderr: string[] = [];
    const code = checkConfig(path, { stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l) });
    expect(code).toBe(0);
    expect(stdout[0]).toMatch(/^ok: /);
    expect(stderr).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^openadr\.0\.tls\.cert: warning: the certificate .* expires in [01] day\(s\)/),
        expect.stringMatching(/^openadr\.0\.tls\.ca: warning: the certificate .* expires in [01] day\(s\)/),
        expect.stringMatching(/^openadr\.1\.webhook\.publicUrl: warning: the VTN would call http:\/\/127\.0\.0\.1:9000\/cb over plain HTTP/),
        expect.stringMatching(/^openadr\.1\.webhook\.tls: warning: /),
        expect.stringMatching(/^openadr\.1\.vtnUrl: warning: plain HTTP to the VTN/),
      ]),
    );
    expect(openAdrConfigWarnings({ openadr: [] }, Date.now())).toEqual([]);
  });
});
