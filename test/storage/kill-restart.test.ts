// A real EMS process (bin/ems.js run) is killed with SIGKILL right after it acknowledged
// transactions to a charger over OCPP; the restarted EMS still knows every one of them and asks
// the returning charger for its status (TriggerMessage StatusNotification).
import { rmSync } from 'node:fs';
import ocppRpc from 'ocpp-rpc';
import { afterAll, describe, expect, it } from 'vitest';
import { startEms, type EmsProcess } from '../helpers/ems-process.ts';

const RPCClient = ocppRpc.RPCClient as unknown as new (options: Record<string, unknown>) => any;
const PASSWORD = 'restart-test-pass';
const SITE = {
  site: { name: 'Restart Test' },
  grid: { maxCurrent: 63 },
  chargers: [
    { id: 'CP001', connectors: 2 },
    { id: 'CP002', connectors: 1 },
  ],
  idTags: [{ idTag: 'TAG1', tier: 'staff' }, { idTag: 'TAG2', tier: 'fleet' }],
};

function charger(port: number, identity: string) {
  const client = new RPCClient({ endpoint: `ws://127.0.0.1:${port}/ocpp`, identity, protocols: ['ocpp1.6'], strictMode: true, reconnect: false });
  const received: string[] = [];
  client.handle(({ method, params }: { method: string; params: any }) => {
    received.push(method === 'TriggerMessage' ? `TriggerMessage ${params.requestedMessage}` : method);
    switch (method) {
      case 'GetConfiguration':
        return { configurationKey: [{ key: 'ChargeProfileMaxStackLevel', readonly: true, value: '3' }] };
      case 'ChangeConfiguration':
      case 'SetChargingProfile':
      case 'ClearChargingProfile':
      case 'TriggerMessage':
        return { status: 'Accepted' };
      default:
        return {};
    }
  });
  return { client, received };
}

async function api(port: number, path: string, token?: string, init: RequestInit = {}) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers ?? {}) },
  });
  return { status: res.status, body: res.status === 204 ? undefined : await res.json() };
}

describe('kill -9 and restart', () => {
  let ems: EmsProcess | undefined;
  const env = { EMS_ADMIN_PASSWORD: PASSWORD };

  afterAll(async () => {
    if (!ems) return;
    if (ems.alive()) {
      ems.kill();
      await ems.exited;
    }
    rmSync(ems.dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged transaction and steering setting, and restores the sessions', { timeout: 300_000 }, async () => {
    ems = await startEms(SITE, env);
    const cp1 = charger(ems.ocppPort, 'CP001');
    const cp2 = charger(ems.ocppPort, 'CP002');
    await cp1.client.connect();
    await cp2.client.connect();
    await cp1.client.call('BootNotification', { chargePointVendor: 'Test', chargePointModel: 'K9' });
    await cp2.client.call('BootNotification', { chargePointVendor: 'Test', chargePointModel: 'K9' });
    const now = new Date().toISOString();
    const acknowledged: number[] = [];
    for (const [c, connectorId, idTag] of [[cp1, 1, 'TAG1'], [cp1, 2, 'TAG2'], [cp2, 1, 'TAG1']] as const) {
      const conf = await c.client.call('StartTransaction', { connectorId, idTag, meterStart: 500, timestamp: now });
      expect(conf.idTagInfo.status).toBe('Accepted');
      acknowledged.push(conf.transactionId);
    }
    const login = await api(ems.httpPort, '/api/v1/auth/login', undefined, { method: 'POST', body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
    const token = login.body.token as string;
    const departure = new Date(Math.ceil((Date.now() + 6 * 3_600_000) / 60_000) * 60_000).toISOString(); // in the future: a past one is refused
    const patch = await api(ems.httpPort, '/api/v1/connectors/CP001/2/session', token, { method: 'PATCH', body: JSON.stringify({ departure, energyNeedWh: 25_000 }) });
    expect(patch.status).toBe(200);

    // Acknowledged above; now the process dies without any chance to flush or close.
    ems.kill('SIGKILL');
    await ems.exited;
    await cp1.client.close({ force: true }).catch(() => {});
    await cp2.client.close({ force: true }).catch(() => {});

    ems = await startEms(SITE, env, { dir: ems.dir });
    const again = await api(ems.httpPort, '/api/v1/auth/login', undefined, { method: 'POST', body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
    expect(again.status).toBe(200);
    const sessions = await api(ems.httpPort, '/api/v1/sessions', again.body.token);
    const open = sessions.body.recent.filter((t: { stoppedAt: string | null }) => t.stoppedAt === null).map((t: { transactionId: number }) => t.transactionId);
    expect(open.sort()).toEqual([...acknowledged].sort());
    const state = await api(ems.httpPort, '/api/v1/state', again.body.token);
    const session = (chargerId: string, connectorId: number) =>
      state.body.connectors.find((c: { chargerId: string; connectorId: number }) => c.chargerId === chargerId && c.connectorId === connectorId).session;
    expect(session('CP001', 1).transactionId).toBe(acknowledged[0]);
    expect(session('CP001', 2)).toMatchObject({ transactionId: acknowledged[1], departure, energyNeedWh: 25_000 });
    expect(session('CP002', 1).transactionId).toBe(acknowledged[2]);
    const audit = await api(ems.httpPort, '/api/v1/audit?action=session.update', again.body.token);
    expect(audit.body).toEqual([expect.objectContaining({ actor: 'admin', target: `CP001/2#${acknowledged[1]}` })]);

    // The charger can close the transaction it started before the crash.
    const back = charger(ems.ocppPort, 'CP001');
    await back.client.connect();
    // The restarted EMS asks the charger that is back for its connector states.
    const deadline = Date.now() + 15_000;
    while (!back.received.includes('TriggerMessage StatusNotification') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(back.received).toContain('TriggerMessage StatusNotification');
    const stop = await back.client.call('StopTransaction', { transactionId: acknowledged[0], meterStop: 4500, timestamp: new Date().toISOString() });
    expect(stop).toBeDefined();
    const after = await api(ems.httpPort, '/api/v1/sessions', again.body.token);
    const closed = after.body.recent.find((t: { transactionId: number }) => t.transactionId === acknowledged[0]);
    expect(closed).toMatchObject({ energyWh: 4000 });
    await back.client.close({ force: true }).catch(() => {});
  });
});
