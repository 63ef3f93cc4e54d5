// OCPP dispatch: how long one applyCaps round takes when every connector's cap changes, with N
// strict OCPP 1.6 chargers on loopback (each answers in its own time, like the real thing). Rounds
// alternate "all down" and "all up", plus a mixed round where half go down and half go up (two
// phases: the increases wait for every decrease). Bounded: 20 rounds per size, deadlines on setup.
import ocppRpc from 'ocpp-rpc';
import { configSchema } from '../config/schema.ts';
import { Bus } from '../src/bus.ts';
import { systemClock } from '../src/clock.ts';
import { silentLogger } from '../src/log.ts';
import { createCentralSystem } from '../src/ocpp/central-system.ts';
import { MemoryTransactionStore } from '../src/state/memory-transaction-store.ts';
import { SiteState } from '../src/state/site-state.ts';
import type { ConnectorCap } from '../optimizer/types.ts';
import type { Bench, BenchTable } from './types.ts';
import { percentile } from './measure.ts';

const RPCClient = ocppRpc.RPCClient as unknown as new (options: Record<string, unknown>) => any;
const ROUNDS = 20;

export async function measure(chargerCount: number) {
  const ids = Array.from({ length: chargerCount }, (_, i) => `CP${String(i + 1).padStart(4, '0')}`);
  const config = configSchema.parse({
    grid: { maxCurrent: chargerCount * 32 },
    control: { profileMinIntervalMs: 0 },
    chargers: ids.map((id) => ({ id, connectors: 1, maxCurrent: 32 })),
    ocpp: { host: '127.0.0.1', port: 0 },
  });
  const bus = new Bus(silentLogger);
  const cs = createCentralSystem({ config, bus, clock: systemClock, log: silentLogger, state: new SiteState(config, bus) }, { transactions: new MemoryTransactionStore(), answerWaitMs: 10_000 });
  await cs.start();
  const clients = ids.map((identity) => {
    const client = new RPCClient({ endpoint: `ws://127.0.0.1:${cs.port}/ocpp`, identity, protocols: ['ocpp1.6'], strictMode: true, reconnect: false });
    client.handle('GetConfiguration', () => ({ configurationKey: [{ key: 'ChargeProfileMaxStackLevel', readonly: true, value: '3' }] }));
    client.handle('ChangeConfiguration', () => ({ status: 'Accepted' }));
    client.handle('SetChargingProfile', () => ({ status: 'Accepted' }));
    client.handle('ClearChargingProfile', () => ({ status: 'Accepted' }));
    return client;
  });
  try {
    const setupStarted = performance.now();
    for (let i = 0; i < clients.length; i += 100) {
      await Promise.all(
        clients.slice(i, i + 100).map(async (client, j) => {
          await client.connect();
          const ready = cs.whenReady(ids[i + j]);
          await client.call('BootNotification', { chargePointVendor: 'Bench', chargePointModel: 'B1' });
          await ready;
          await client.call('StartTransaction', { connectorId: 1, idTag: 'BENCH', meterStart: 0, timestamp: new Date().toISOString() });
        }),
      );
    }
    const setupMs = performance.now() - setupStarted;
    const caps = (f: (i: number) => number): ConnectorCap[] => ids.map((chargerId, i) => ({ chargerId, connectorId: 1, currentA: f(i), phases: 3, reason: { kind: 'charger', text: 'bench' } }));
    await cs.applyCaps(caps(() => 16));
    const uniform: number[] = [];
    const mixed: number[] = [];
    let sent = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const t0 = performance.now();
      const result = await cs.applyCaps(caps(() => (round % 2 === 0 ? 10 : 16)));
      uniform.push(performance.now() - t0);
      sent += result.sent;
    }
    for (let round = 0; round < ROUNDS; round++) {
      const t0 = performance.now();
      await cs.applyCaps(caps((i) => ((i + round) % 2 === 0 ? 10 : 16)));
      mixed.push(performance.now() - t0);
    }
    return { setupMs, uniform, mixed, sentPerRound: sent / ROUNDS };
  } finally {
    await Promise.all(clients.map((c) => c.close({ force: true }).catch(() => undefined)));
    await cs.stop();
  }
}

const bench: Bench = async () => {
  const rows: (string | number)[][] = [];
  for (const n of [50, 200, 1000]) {
    const r = await measure(n);
    rows.push([n, r.sentPerRound, percentile(r.uniform, 50), percentile(r.uniform, 99), percentile(r.mixed, 50), percentile(r.mixed, 99), r.setupMs / 1000]);
  }
  const table: BenchTable = {
    title: `OCPP applyCaps round: every cap changes, N strict 1.6 chargers on loopback (${ROUNDS} rounds each)`,
    columns: ['chargers', 'profiles per round', 'all down/up p50 ms', 'p99 ms', 'half down + half up p50 ms', 'p99 ms', 'connect+boot setup+start s'],
    rows,
    notes: [
      'a round returns when every charger has answered: decreases first, increases only after all decreases are confirmed',
      'the mixed round runs in two phases (the decreasing half, then the increasing half)',
    ],
  };
  return [table];
};

export default bench;
