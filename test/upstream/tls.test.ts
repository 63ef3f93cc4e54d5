// Security Profile 2 towards the CSMS: the uplink is wss:// to a CSMS whose certificate the EMS
// checks against upstream.tls.ca, and the charger's upstreamPassword is its Basic auth.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { relayConfig, startLocalController, T0 } from './local-controller.ts';
import { StrictCharger, TestCsms } from './peers.ts';

const at = (offsetS: number) => new Date(T0 + offsetS * 1000).toISOString();

describeWithPeer('openssl', hasCommand('openssl'), 'local controller over TLS to the CSMS (wss://, Security Profile 2)', () => {
  let dir: string;
  let csms: TestCsms;
  let ems: Awaited<ReturnType<typeof startLocalController>> | undefined;
  let charger: StrictCharger | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ems-upstream-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    // The gateway's own client certificate (upstream.tls.cert/key), which the CSMS trusts as its CA.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'client-key.pem'), '-out', join(dir, 'client-cert.pem'), '-days', '1', '-subj', '/CN=ems-gateway'], { stdio: 'ignore' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    await charger?.close().catch(() => undefined);
    await ems?.stop();
    await csms?.stop();
  });

  async function start(tls: Record<string, string> | undefined, options: { clientCertificate?: boolean } = {}) {
    csms = new TestCsms();
    csms.tls = {
      cert: readFileSync(join(dir, 'cert.pem')),
      key: readFileSync(join(dir, 'key.pem')),
      ...(options.clientCertificate ? { ca: readFileSync(join(dir, 'client-cert.pem')), requestCert: true, rejectUnauthorized: true } : {}),
    };
    csms.passwords.set('CLOUD-CP16', 'cloud-password-16');
    await csms.start();
    ems = await startLocalController(relayConfig(csms.url, { upstream: { url: csms.url, callTimeoutMs: 5_000, reconnectMinMs: 20, reconnectMaxMs: 200, ...(tls ? { tls } : {}) } }));
    charger = new StrictCharger(ems.cs.port, 'CP16', 'ocpp1.6');
    charger.nowMs = () => ems!.clock.nowMs();
    await charger.connect();
  }

  it('relays over wss:// to a CSMS whose certificate the configured CA vouches for, with the charger’s password', async () => {
    await start({ ca: join(dir, 'cert.pem') });
    await waitFor(() => ems!.status('CP16').uplink === 'online', 'the TLS uplink');
    expect(await charger!.boot()).toMatchObject({ status: 'Accepted', interval: 123 });
    const started = await charger!.start16(1, 'CLOUD01', at(1));
    expect(started.transactionId).toBe(9001);
    expect(csms.from('CLOUD-CP16').map((r) => r.action)).toEqual(['BootNotification', 'StartTransaction']);
  });

  it('refuses a CSMS certificate no configured CA vouches for: the uplink stays down, the charger is answered and its transaction held', async () => {
    await start(undefined);
    await waitFor(() => ems!.status('CP16').uplink === 'offline', 'the uplink refused by the TLS check');
    expect(ems!.status('CP16').lastError).toMatch(/certificate/i);
    expect(await charger!.boot()).toMatchObject({ status: 'Accepted' });
    await charger!.start16(1, 'LOCAL01', at(1));
    expect(ems!.status('CP16').queueLength).toBeGreaterThanOrEqual(1);
    expect(csms.received).toEqual([]);
  });

  it('presents upstream.tls.cert/key to a CSMS that wants a client certificate; without them the CSMS refuses the handshake and the charger is answered by the EMS', async () => {
    await start({ ca: join(dir, 'cert.pem'), cert: join(dir, 'client-cert.pem'), key: join(dir, 'client-key.pem') }, { clientCertificate: true });
    await waitFor(() => ems!.status('CP16').uplink === 'online', 'the uplink with the client certificate');
    expect(await charger!.boot()).toMatchObject({ status: 'Accepted', interval: 123 });
    expect(csms.from('CLOUD-CP16').map((r) => r.action)).toEqual(['BootNotification']);
    await charger!.close();
    await ems!.stop();
    await csms.stop();

    await start({ ca: join(dir, 'cert.pem') }, { clientCertificate: true });
    await waitFor(() => ems!.status('CP16').uplink === 'offline', 'the uplink refused without a client certificate');
    expect(await charger!.boot()).toMatchObject({ status: 'Accepted' });
    expect(csms.received).toEqual([]);
  });
});
