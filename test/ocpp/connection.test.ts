import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createServer } from 'node:net';
import { Bus } from '../../src/bus.ts';
import { ManualClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { createCentralSystem } from '../../src/ocpp/central-system.ts';
import { OcppListenError } from '../../src/ocpp/errors.ts';
import { MemoryTransactionStore } from '../../src/state/memory-transaction-store.ts';
import { SiteState } from '../../src/state/site-state.ts';
import { FakeCharger } from './fake-charger.ts';
import { startSystem, testConfig, type System } from './system.ts';

/** The HTTP status the server answers a WebSocket upgrade with (101 when it accepts). */
function handshakeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['ocpp1.6'], { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('error', (error) => reject(error));
  });
}

const basic = (user: string, password: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

describe('OCPP endpoint', () => {
  let system: System;
  afterEach(async () => system?.stop());

  it('refuses a charger id that is not in the config with 404', async () => {
    system = await startSystem();
    expect(await handshakeStatus(`ws://127.0.0.1:${system.cs.port}/ocpp/CP999`)).toBe(404);
    expect(system.events['charger.connected']).toHaveLength(0);
  });

  it('refuses a known id on a path other than /ocpp/{id} with 404', async () => {
    system = await startSystem();
    expect(await handshakeStatus(`ws://127.0.0.1:${system.cs.port}/other/CP001`)).toBe(404);
  });

  it('accepts a charger without a password on ws://host:port/ocpp/{id}', async () => {
    system = await startSystem();
    expect(await handshakeStatus(`ws://127.0.0.1:${system.cs.port}/ocpp/CP001`)).toBe(101);
  });

  it('requires the charger password (Security Profile 1): missing or wrong gets 401', async () => {
    system = await startSystem();
    const url = `ws://127.0.0.1:${system.cs.port}/ocpp/CP002`;
    expect(await handshakeStatus(url)).toBe(401);
    expect(await handshakeStatus(url, basic('CP002', 'wrong-password-xx'))).toBe(401);
    expect(await handshakeStatus(url, basic('CP001', 'secret-password-2'))).toBe(401);
    expect(await handshakeStatus(url, basic('CP002', 'secret-password-2'))).toBe(101);
  });

  it('reports connect and disconnect on the bus and in the site state', async () => {
    system = await startSystem();
    const charger = await system.charger('CP001');
    expect(system.events['charger.connected']).toMatchObject([{ chargerId: 'CP001', protocol: 'ocpp1.6' }]);
    expect(system.state.chargers.get('CP001')?.online).toBe(true);
    const gone = new Promise((resolve) => system.bus.on('charger.disconnected', resolve));
    await charger.close();
    await gone;
    expect(system.state.chargers.get('CP001')?.online).toBe(false);
    expect(system.cs.connectedChargers()).toEqual([]);
  });

  it('answers BootNotification Accepted with the time and a heartbeat interval, and Heartbeat with the time', async () => {
    system = await startSystem(undefined, { heartbeatIntervalS: 120 });
    const charger = new FakeCharger({ port: system.cs.port, identity: 'CP001' });
    await charger.connect();
    const boot = await charger.boot();
    expect(boot).toEqual({ status: 'Accepted', currentTime: '2026-11-24T10:00:00.000Z', interval: 120 });
    expect(await charger.call('Heartbeat', {})).toEqual({ currentTime: '2026-11-24T10:00:00.000Z' });
    await charger.close();
  });

  it('fails to start with OcppListenError when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const config = testConfig({ ocpp: { host: '127.0.0.1', port } });
    const bus = new Bus(silentLogger);
    const cs = createCentralSystem({ config, bus, clock: new ManualClock(0), state: new SiteState(config, bus), log: silentLogger }, { transactions: new MemoryTransactionStore() });
    await expect(cs.start()).rejects.toBeInstanceOf(OcppListenError);
    await new Promise((resolve) => blocker.close(resolve));
  });

  it('closes every charger socket on stop and reports them disconnected', async () => {
    system = await startSystem();
    const charger = await system.charger('CP001');
    const closed = new Promise((resolve) => charger.client.once('close', resolve));
    await system.stop();
    await closed;
    expect(system.events['charger.disconnected']).toMatchObject([{ chargerId: 'CP001' }]);
    expect(system.cs.port).toBe(0);
  });
});
