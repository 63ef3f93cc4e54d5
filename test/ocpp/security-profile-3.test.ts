// Security Profile 3: mutual TLS. Certificates are made here with openssl: a CA, the central
// system's server certificate, and charger certificates for the right id (by CN and by SAN), another
// id, an expired one and one from a foreign CA. Only the right ones get through.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { RawCharger } from './raw-frames.ts';
import { startSystem, testConfig, type System } from './system.ts';

describeWithPeer('openssl', hasCommand('openssl'), 'OCPP Security Profile 3 (client certificates)', () => {
  let dir: string;
  let system: System | undefined;
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  /** A key and a certificate signed by `ca` (or self-signed when ca is undefined). */
  const issue = (name: string, subject: string, options: { ca?: string; days?: number; san?: string } = {}) => {
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    if (options.san) writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${options.san}\n`);
    const ext = options.san ? ['-extfile', `${name}.ext`] : [];
    const args = ['x509', '-req', '-in', `${name}.csr`, '-out', `${name}.pem`, '-days', String(options.days ?? 2)];
    if (options.ca) args.push('-CA', `${options.ca}.pem`, '-CAkey', `${options.ca}.key`, '-CAcreateserial');
    else args.push('-key', `${name}.key`);
    openssl(...args, ...ext);
  };
  const file = (name: string) => readFileSync(join(dir, name));
  const tlsOf = (name?: string) => ({ scheme: 'wss' as const, ca: file('ca.pem'), ...(name ? { cert: file(`${name}.pem`), key: file(`${name}.key`) } : {}) });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ems-sp3-'));
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Site charger CA');
    issue('server', '/CN=ems.local', { ca: 'ca', san: 'IP:127.0.0.1,DNS:localhost' });
    issue('cp001', '/CN=CP001', { ca: 'ca' });
    issue('cp001-san', '/O=Vendor/CN=serial-4711', { ca: 'ca', san: 'DNS:CP001' });
    issue('cp002', '/CN=CP002', { ca: 'ca' });
    issue('expired', '/CN=CP001', { ca: 'ca', days: -1 });
    issue('foreign', '/CN=CP001');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });

  const start = async () => {
    const config = testConfig({
      ocpp: { host: '127.0.0.1', port: 0, tls: { cert: join(dir, 'server.pem'), key: join(dir, 'server.key'), ca: join(dir, 'ca.pem'), clientCert: 'required' } },
    });
    system = await startSystem(config);
    return system;
  };

  it('accepts a charger whose certificate names its id, in the CN or in a SAN', async () => {
    const { cs, events } = await start();
    for (const cert of ['cp001', 'cp001-san']) {
      const charger = await RawCharger.open(cs.port, 'CP001', tlsOf(cert));
      charger.send(JSON.stringify([2, `hb-${cert}`, 'Heartbeat', {}]));
      expect((await charger.answerTo(`hb-${cert}`))[0]).toBe(3);
      charger.terminate();
      await charger.whenClosed();
    }
    expect(events['charger.connected'].map((e) => e.chargerId)).toEqual(['CP001', 'CP001']);
  });

  it('refuses a valid certificate of another charger (403 at the upgrade)', async () => {
    const { cs, events } = await start();
    await expect(RawCharger.open(cs.port, 'CP001', tlsOf('cp002'))).rejects.toThrow(/403/);
    expect(events['charger.connected']).toEqual([]);
  });

  it('refuses an expired certificate, one from a foreign CA and none at the TLS handshake', async () => {
    const { cs, events } = await start();
    for (const cert of ['expired', 'foreign', undefined]) {
      const error = await RawCharger.open(cs.port, 'CP001', tlsOf(cert)).then(
        (c) => (c.terminate(), undefined),
        (e: Error) => e,
      );
      expect(error, `certificate ${cert ?? 'none'}`).toBeInstanceOf(Error);
      expect(error!.message).not.toMatch(/^HTTP/);
    }
    expect(events['charger.connected']).toEqual([]);
  });
});
