// What the operator sees of local-controller mode: the API, and Prometheus metrics, per charger.
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, createApiFixture, type ApiFixture } from '../api/api-fixture.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { relayConfig, startLocalController, T0 } from './local-controller.ts';
import { StrictCharger, TestCsms } from './peers.ts';

describe('local controller in the API and metrics', () => {
  let csms: TestCsms;
  let ems: Awaited<ReturnType<typeof startLocalController>>;
  let api: ApiFixture;
  let charger: StrictCharger;

  afterEach(async () => {
    await charger?.close().catch(() => undefined);
    await api?.close();
    await ems?.stop();
    await csms?.stop();
  });

  it('shows per charger the charger link, the uplink, the last message each way and the queue length', async () => {
    csms = new TestCsms();
    await csms.start();
    const config = relayConfig(csms.url, { http: { host: '127.0.0.1', port: 0 } });
    ems = await startLocalController(config);
    api = await createApiFixture({ config, deps: { upstream: () => ems.upstream.status() } });
    const token = (await api.login('admin', ADMIN_PASSWORD)).token;
    const get = async (url: string) => (await api.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } }));

    charger = new StrictCharger(ems.cs.port, 'CP16', 'ocpp1.6');
    await charger.connect();
    await waitFor(() => csms.clients.has('CLOUD-CP16'), 'uplink');
    await charger.boot();
    const online = (await get('/api/v1/upstream')).json();
    expect(online.enabled).toBe(true);
    const cp16 = online.chargers.find((c: any) => c.chargerId === 'CP16');
    expect(cp16).toMatchObject({ upstreamId: 'CLOUD-CP16', chargerLink: 'connected', uplink: 'online', queueLength: 0, lastError: null });
    for (const key of ['lastFromCharger', 'lastToCharger', 'lastFromCsms', 'lastToCsms']) expect(cp16[key], key).toBe(new Date(T0).toISOString());
    expect(online.chargers.find((c: any) => c.chargerId === 'CS201')).toMatchObject({ chargerLink: 'disconnected', uplink: 'closed', lastFromCharger: null });

    await csms.stop();
    await waitFor(() => ems.status('CP16').uplink !== 'online', 'uplink down');
    await charger.start16(1, 'LOCAL01', new Date(T0).toISOString());
    const chargers = (await get('/api/v1/chargers')).json();
    expect(chargers.find((c: any) => c.id === 'CP16').upstream).toMatchObject({ chargerLink: 'connected', uplink: 'offline', queueLength: 1 });
    const metrics = (await get('/metrics')).body;
    expect(metrics).toContain('ems_upstream_connected{charger="CP16"} 0');
    expect(metrics).toContain('ems_upstream_queue_length{charger="CP16"} 1');
    expect(metrics).toContain(`ems_upstream_last_message_timestamp_seconds{charger="CP16",direction="from_charger"} ${T0 / 1000}`);
  });

  it('says local-controller mode is off without an upstream section', async () => {
    api = await createApiFixture();
    const token = (await api.login('admin', ADMIN_PASSWORD)).token;
    const res = await api.inject({ method: 'GET', url: '/api/v1/upstream', headers: { authorization: `Bearer ${token}` } });
    expect(res.json()).toEqual({ enabled: false, chargers: [] });
    const chargers = (await api.inject({ method: 'GET', url: '/api/v1/chargers', headers: { authorization: `Bearer ${token}` } })).json();
    expect(chargers.every((c: any) => c.upstream === null)).toBe(true);
  });
});
