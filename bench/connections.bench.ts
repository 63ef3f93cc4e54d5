// 1000 chargers connected to a real `ems run` process, each in a transaction sending MeterValues
// every 10 s: the EMS process's RSS and CPU, read from /proc. Bounded: a fixed window. The EMS
// runs with the V8 flags of deploy/ems.service (BENCH_NODE_ARGS overrides them, '' for none).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import ocppRpc from 'ocpp-rpc';
import type { Bench } from './types.ts';
import { deployedEms } from './upstream-deploy.ts';

const { RPCClient } = ocppRpc as unknown as { RPCClient: new (options: Record<string, unknown>) => any };
const CHARGERS = Number(process.env.BENCH_CONNECTIONS_CHARGERS ?? 1000);
const METER_INTERVAL_MS = 10_000;
const WINDOW_MS = Number(process.env.BENCH_CONNECTIONS_WINDOW_MS ?? 60_000);
const CLOCK_TICKS = 100;
/** As in deploy/ems.service and deploy/Dockerfile. */
const DEPLOY_NODE_ARGS = '--max-old-space-size=256 --max-semi-space-size=8';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** What a bench car would draw, A per phase. */
const WANT_A = 10;

/** The limits a bench charger holds (A per phase; a W limit at 230 V on 3 phases), and what its car draws under them. */
class ChargerLimits {
  private readonly byPurpose = new Map<string, number>();

  set(req: any): void {
    const profile = req?.csChargingProfiles;
    const schedule = profile?.chargingSchedule;
    const limit = Number(schedule?.chargingSchedulePeriod?.[0]?.limit);
    if (!profile || !Number.isFinite(limit)) return;
    this.byPurpose.set(profile.chargingProfilePurpose, schedule.chargingRateUnit === 'W' ? limit / 690 : limit);
  }

  clear(req: any): void {
    if (req?.chargingProfilePurpose) this.byPurpose.delete(req.chargingProfilePurpose);
    else this.byPurpose.clear();
  }

  get capped(): boolean {
    return this.drawA() < WANT_A;
  }

  drawA(): number {
    const tx = this.byPurpose.get('TxProfile') ?? this.byPurpose.get('TxDefaultProfile') ?? Infinity;
    return Math.max(0, Math.min(WANT_A, this.byPurpose.get('ChargePointMaxProfile') ?? Infinity, tx));
  }
}

/** The process's memory by kind (MB): /proc smaps_rollup (anonymous vs file-backed pages) and the JS heap from /metrics. */
interface MemorySplit {
  rssMb: number;
  anonMb: number;
  fileMb: number;
  /** Of the anonymous: glibc's main arena ([heap], brk). */
  brkMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
}

async function memorySplit(pid: number, httpPort: number): Promise<MemorySplit> {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? NaN) / 1024;
  let metrics = '';
  // Bounded: the HTTP side may open a moment after the OCPP port.
  for (let attempt = 0; !metrics; attempt++) {
    try {
      metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    } catch (error) {
      if (attempt >= 30) throw error;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
  const gauge = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(metrics)?.[1] ?? NaN) / 2 ** 20;
  // glibc's main malloc arena (the brk heap): where small native allocations of the main thread live.
  const brk = /\[heap\]\n(?:.*\n)*?Rss:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/smaps`, 'utf8'));
  return { rssMb: kb('Rss'), anonMb: kb('Anonymous'), fileMb: kb('Rss') - kb('Anonymous'), brkMb: Number(brk?.[1] ?? NaN) / 1024, heapUsedMb: gauge('nodejs_heap_size_used_bytes'), heapTotalMb: gauge('nodejs_heap_size_total_bytes'), externalMb: gauge('nodejs_external_memory_bytes') };
}

function procStats(pid: number): { rssMb: number; cpuS: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const cpuS = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  return { rssMb: rssKb / 1024, cpuS };
}

const bench: Bench = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ems-bench-'));
  const [ocppPort, httpPort] = [await freePort(), await freePort()];
  const ids = Array.from({ length: CHARGERS }, (_, i) => `CP${String(i + 1).padStart(4, '0')}`);
  const rows = [];
  for (let i = 0; i < ids.length; i += 20) rows.push({ id: `row-${i / 20}`, maxCurrent: 250, chargers: ids.slice(i, i + 20) });
  const configPath = join(dir, 'site.yaml');
  writeFileSync(
    configPath,
    stringify({
      site: { name: 'Bench site' },
      grid: { maxCurrent: 4000 },
      circuits: [{ id: 'main', maxCurrent: 4000, children: rows }],
      chargers: ids.map((id) => ({ id })),
      idTags: [{ idTag: 'BENCH', tier: 'staff' }],
      ocpp: { host: '127.0.0.1', port: ocppPort },
      http: { host: '127.0.0.1', port: httpPort },
      storage: { path: join(dir, 'ems.sqlite') },
    }),
  );
  // As deploy/ems.service runs it (the compiled dist/, built once; bench/upstream-deploy.ts): the
  // sources through tsx (bin/ems.js, the default until session 14) carry the transpiler's memory.
  const entry = process.env.BENCH_EMS_ENTRY ?? deployedEms(process.cwd()).entry;
  const ems = spawn(process.execPath, [...((process.env.BENCH_NODE_ARGS ?? DEPLOY_NODE_ARGS).split(' ').filter(Boolean)), entry, 'run', '--config', configPath], {
    env: { ...process.env, EMS_LOG_LEVEL: 'warn', EMS_ADMIN_PASSWORD: 'bench-password-1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const clients: any[] = [];
  const chargers: ChargerLimits[] = [];
  let failed = 0;
  const timers: NodeJS.Timeout[] = [];
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const probe = new RPCClient({ endpoint: `ws://127.0.0.1:${ocppPort}/ocpp`, identity: ids[0], protocols: ['ocpp1.6'], reconnect: false });
        await probe.connect();
        await probe.close({ force: true });
        break;
      } catch {
        if (Date.now() > deadline) throw new Error('ems run did not open its OCPP port in 30 s');
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    // The EMS with every charger configured and none connected, settled: what the connections add is measured from here.
    await new Promise((r) => setTimeout(r, 5_000));
    const idle = await memorySplit(ems.pid!, httpPort);
    const startConnect = performance.now();
    for (let i = 0; i < ids.length; i += 50) {
      await Promise.all(
        ids.slice(i, i + 50).map(async (id) => {
          const client = new RPCClient({ endpoint: `ws://127.0.0.1:${ocppPort}/ocpp`, identity: id, protocols: ['ocpp1.6'], reconnect: false });
          // The charger follows its caps (until session 13 it drew 10 A whatever it was sent, so the
          // bench measured the EMS flagging 1,000 uncontrollable chargers, not the path a site runs).
          const limits = new ChargerLimits();
          client.handle(({ method, params }: { method: string; params: any }) => {
            if (method === 'GetConfiguration') return { configurationKey: [], unknownKey: [] };
            if (method === 'SetChargingProfile') limits.set(params);
            if (method === 'ClearChargingProfile') limits.clear(params);
            return { status: 'Accepted' };
          });
          chargers.push(limits);
          try {
          await client.connect();
          clients.push(client);
          await client.call('BootNotification', { chargePointVendor: 'Bench', chargePointModel: 'B1' });
          await client.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Preparing' });
          const { transactionId } = await client.call('StartTransaction', { connectorId: 1, idTag: 'BENCH', meterStart: 0, timestamp: new Date().toISOString() });
          await client.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging' });
          let energyWh = 0;
          const send = () => {
            energyWh += Math.round(limits.drawA() * 3);
            void client
              .call('MeterValues', {
                connectorId: 1,
                transactionId,
                meterValue: [
                  {
                    timestamp: new Date().toISOString(),
                    sampledValue: [
                      ...[1, 2, 3].map((p) => ({ value: limits.drawA().toFixed(1), measurand: 'Current.Import', phase: `L${p}`, unit: 'A' })),
                      { value: String(Math.round(limits.drawA() * 690)), measurand: 'Power.Active.Import', unit: 'W' },
                      { value: String(energyWh), measurand: 'Energy.Active.Import.Register', unit: 'Wh' },
                    ],
                  },
                ],
              })
              .catch(() => undefined);
          };
          timers.push(setTimeout(() => timers.push(setInterval(send, METER_INTERVAL_MS)), Math.random() * METER_INTERVAL_MS));
          } catch {
            // On a loaded machine a charger's set-up can time out or lose its socket: counted, not fatal.
            failed++;
          }
        }),
      );
    }
    const connectS = (performance.now() - startConnect) / 1000;
    await new Promise((r) => setTimeout(r, 5_000));
    const before = procStats(ems.pid!);
    const t0 = performance.now();
    let peakRssMb = before.rssMb;
    while (performance.now() - t0 < WINDOW_MS) {
      await new Promise((r) => setTimeout(r, 2_000));
      peakRssMb = Math.max(peakRssMb, procStats(ems.pid!).rssMb);
    }
    const after = procStats(ems.pid!);
    const windowS = (performance.now() - t0) / 1000;
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const gauge = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(metrics)?.[1] ?? NaN) / 2 ** 20;
    const heapUsedMb = gauge('nodejs_heap_size_used_bytes');
    const externalMb = gauge('nodejs_external_memory_bytes');
    const cpuPctOfTwoCores = ((after.cpuS - before.cpuS) / windowS / 2) * 100;
    const loaded = await memorySplit(ems.pid!, httpPort);
    const connected = clients.length;
    /** KB per connected charger of one kind of memory, from idle to loaded. */
    const perCharger = (key: keyof MemorySplit) => (((loaded[key] - idle[key]) * 1024) / connected).toFixed(1);
    const heapSlackOf = (m: MemorySplit) => m.heapTotalMb - m.heapUsedMb;
    /** Anonymous pages that are neither the JS heap V8 committed nor external buffers: malloc (SQLite, ws, libuv, V8's own), thread stacks. */
    const nativeOf = (m: MemorySplit) => m.anonMb - m.heapTotalMb - m.externalMb;
    const splitRow = (label: string, m: MemorySplit) => [label, m.rssMb.toFixed(1), m.fileMb.toFixed(1), m.anonMb.toFixed(1), m.heapUsedMb.toFixed(1), heapSlackOf(m).toFixed(1), m.externalMb.toFixed(1), nativeOf(m).toFixed(1), m.brkMb.toFixed(1)];
    return [
      {
        title: `Connections: ${CHARGERS} chargers on one \`ems run\` (node ${process.env.BENCH_NODE_ARGS ?? DEPLOY_NODE_ARGS} ${entry}), MeterValues every ${METER_INTERVAL_MS / 1000} s (EMS process only)`,
        columns: ['chargers', 'connect+boot+start s', 'window s', 'RSS MB (end)', 'RSS MB (peak)', 'JS heap used MB', 'external MB', 'CPU % of 2 cores'],
        rows: [
          [
            CHARGERS,
            connectS.toFixed(1),
            windowS.toFixed(0),
            after.rssMb.toFixed(0),
            peakRssMb.toFixed(0),
            heapUsedMb.toFixed(0),
            externalMb.toFixed(0),
            cpuPctOfTwoCores.toFixed(1),
          ],
        ],
        notes: [
          `target: RSS under 300 MB — ${peakRssMb < 300 ? 'met' : 'NOT met'}; CPU under 25 % — ${cpuPctOfTwoCores < 25 ? 'met' : 'NOT met'}`,
          `chargers whose set-up failed (timed out or lost the socket on a loaded machine): ${failed}; machine load average ${loadavg().map((l) => l.toFixed(1)).join(' / ')} at the end`,
          `the chargers follow their caps (a car wanting ${WANT_A} A per phase draws the lowest of that, the ChargePointMaxProfile and the Tx/TxDefault limit it holds): ${chargers.filter((c) => c.capped).length} of ${chargers.length} held a cap under ${WANT_A} A at the end, drawing ${chargers.reduce((sum, c) => sum + c.drawA(), 0).toFixed(0)} A per phase in all under the 4,000 A grid limit; the EMS's uncontrollable chargers at the end (ems_connector_reserved_amperes{uncontrollable="true"}): ${(metrics.match(/^ems_connector_reserved_amperes\{[^}]*uncontrollable="true"[^}]*\}/gm) ?? []).length}`,
        ],
      },
      {
        title: `Connections: what the EMS holds per charger, ${CHARGERS} chargers configured, none connected (idle) and ${connected} connected after the window (MB; /proc/PID/smaps_rollup and the EMS's /metrics)`,
        columns: ['state', 'RSS', 'file-backed (node binary, libraries)', 'anonymous', 'JS heap used', 'JS heap committed, unused', 'external (Buffers, ArrayBuffers)', 'other anonymous (malloc: SQLite, ws, libuv, V8 internals; stacks)', 'of it: malloc main arena ([heap])'],
        rows: [
          splitRow('idle', idle),
          splitRow('connected', loaded),
          [
            'KB per connected charger',
            perCharger('rssMb'),
            perCharger('fileMb'),
            perCharger('anonMb'),
            perCharger('heapUsedMb'),
            (((heapSlackOf(loaded) - heapSlackOf(idle)) * 1024) / connected).toFixed(1),
            perCharger('externalMb'),
            (((nativeOf(loaded) - nativeOf(idle)) * 1024) / connected).toFixed(1),
            perCharger('brkMb'),
          ],
        ],
        notes: [
          'per charger: (connected − idle) ÷ connected chargers; "JS heap used" includes garbage not yet collected at the moment of the reading; "committed, unused" is what V8 keeps reserved after the set-up\'s peak',
        ],
      },
    ];
  } finally {
    timers.forEach((t) => clearInterval(t));
    await Promise.all(clients.map((c) => c.close({ force: true }).catch(() => undefined)));
    ems.kill('SIGTERM');
  }
};
export default bench;
