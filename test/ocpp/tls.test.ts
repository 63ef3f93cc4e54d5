import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createCentralSystem } from '../../src/ocpp/central-system.ts';
import { OcppListenError } from '../../src/ocpp/errors.ts';
import { MemoryTransactionStore } from '../../src/state/memory-transaction-store.ts';
import { Bus } from '../../src/bus.ts';
import { ManualClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { SiteState } from '../../src/state/site-state.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { FakeCharger } from './fake-charger.ts';
import { startSystem, testConfig, type System } from './system.ts';

describeWithPeer('openssl', hasCommand('openssl'), 'OCPP over TLS (wss://, Security Profile 2)', () => {
  let dir: string;
  let system: System | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ems-ocpp-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => system?.stop());

  it('serves wss:// with the configured certificate and still checks the password', async () => {
    const config = testConfig({ ocpp: { host: '127.0.0.1', port: 0, tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } } });
    system = await startSystem(config);
    const charger = await system.charger('CP002', { scheme: 'wss', wsOpts: { ca: readFileSync(join(dir, 'cert.pem')) } });
    expect(await charger.call('Heartbeat', {})).toHaveProperty('currentTime');
    const intruder = new FakeCharger({ port: system.cs.port, identity: 'CP002', password: 'not-the-password', scheme: 'wss', wsOpts: { ca: readFileSync(join(dir, 'cert.pem')) } });
    await expect(intruder.connect()).rejects.toThrow(/401|Unauthorized/i);
  });

  it('refuses to start with a clear error when the TLS files cannot be read', async () => {
    const config = testConfig({ ocpp: { host: '127.0.0.1', port: 0, tls: { cert: join(dir, 'missing.pem'), key: join(dir, 'key.pem') } } });
    const bus = new Bus(silentLogger);
    const cs = createCentralSystem({ config, bus, clock: new ManualClock(0), state: new SiteState(config, bus), log: silentLogger }, { transactions: new MemoryTransactionStore() });
    await expect(cs.start()).rejects.toBeInstanceOf(OcppListenError);
  });
});
