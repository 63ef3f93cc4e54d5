// Local controller: what the relay adds. 200 strict 1.6 chargers send MeterValues once a second
// each (staggered), first straight to a CSMS, then through a real `ems run` in local-controller
// mode in front of the same CSMS; round trip charger → CSMS → charger, p50/p99. Memory per
// charger: the EMS process's RSS before and after its 200 chargers connected (with and without
// the relay). Bounded: fixed windows, loopback only.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import ocppRpc from 'ocpp-rpc';
import { stringify } from 'yaml';
import type { Bench } from './types.ts';

const { RPCClient, RPCServer } = ocppRpc as unknown as {
  RPCClient: new (options: Record<string, unknown>) => any;
  RPCServer: new (options: Record<string, unknown>) => any;
};
const CHARGERS = Number(process.env.BENCH_UPSTREAM_CHARGERS ?? 200);
const PERIOD_MS = 1_000;
const WINDOW_MS = Number(process.env.BENCH_UPSTREAM_WINDOW_MS ?? 20_000);
const WARMUP_MS = 3_000;
const DEPLOY_NODE_ARGS = '--max-old-space-size=256 --max-semi-space-size=4';

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

const cpuS = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** A CSMS in this process, strict, answering what chargers send. */
async function startCsms(port: number): Promise<{ close(): Promise<void> }> {
  const rpc = new RPCServer({ protocols: ['ocpp1.6'], strictMode: true });
  let nextTransactionId = 1;
  rpc.on('client', (client: any) =>
    client.handle(({ method }: { method: string }) => {
      if (method === 'BootNotification') return { status: 'Accepted', currentTime: new Date().toISOString(), interval: 300 };
      if (method === 'Heartbeat') return { currentTime: new Date().toISOString() };
      if (method === 'StartTransaction') return { transactionId: nextTransactionId++, idTagInfo: { status: 'Accepted' } };
      if (method === 'StopTransaction' || method === 'Authorize') return { idTagInfo: { status: 'Accepted' } };
      return {};
    }),
  );
  const http = createHttpServer((_req, res) => res.writeHead(404).end());
  http.on('upgrade', rpc.handleUpgrade);
  await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', () => resolve()));
  return {
    async close() {
      await rpc.close({ force: true });
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}

function chargerClient(url: string, identity: string): any {
  const client = new RPCClient({ endpoint: url, identity, protocols: ['ocpp1.6'], strictMode: true, reconnect: false, callTimeoutMs: 30_000 });
  client.handle(({ method }: { method: string }) => (method === 'GetConfiguration' ? { configurationKey: [], unknownKey: [] } : { status: 'Accepted' }));
  return client;
}

const meterValues = () => ({
  connectorId: 1,
  meterValue: [
    {
      timestamp: new Date().toISOString(),
      sampledValue: [...[1, 2, 3].map((p) => ({ value: '10.0', measurand: 'Current.Import', phase: `L${p}`, unit: 'A' })), { value: '6900', measurand: 'Power.Active.Import', unit: 'W' }],
    },
  ],
});

/** Connects every charger to `url`, then each sends MeterValues every PERIOD_MS; returns the round trips after warm-up (ms). */
async function measure(url: string, ids: string[]): Promise<{ rttMs: number[]; clients: any[]; sent: number; answered: number }> {
  const clients: any[] = [];
  for (let i = 0; i < ids.length; i += 50) {
    await Promise.all(
      ids.slice(i, i + 50).map(async (id) => {
        const client = chargerClient(url, id);
        await client.connect();
        await client.call('BootNotification', { chargePointVendor: 'Bench', chargePointModel: 'Relay' });
        clients.push(client);
      }),
    );
  }
  const rttMs: number[] = [];
  let sent = 0;
  let answered = 0;
  const startedAt = performance.now();
  const timers: NodeJS.Timeout[] = [];
  await new Promise<void>((resolve) => {
    for (const client of clients) {
      const send = () => {
        sent++;
        const t = performance.now();
        void client.call('MeterValues', meterValues()).then(
          () => {
            answered++;
            if (t - startedAt >= WARMUP_MS) rttMs.push(performance.now() - t);
          },
          () => undefined,
        );
      };
      timers.push(setTimeout(() => timers.push(setInterval(send, PERIOD_MS)), Math.random() * PERIOD_MS));
    }
    setTimeout(resolve, WARMUP_MS + WINDOW_MS);
  });
  for (const timer of timers) clearTimeout(timer);
  return { rttMs: rttMs.sort((a, b) => a - b), clients, sent, answered };
}

interface Sequential {
  meterValuesMs: number[];
  /** StartTransaction and StopTransaction round trips (the EMS writes a session for each). */
  transactionMs: number[];
}

/** One more charger, one message at a time (no queueing anywhere): the bare round trip, ms. */
async function sequential(url: string, identity: string, count = 300, transactions = 30): Promise<Sequential> {
  const client = chargerClient(url, identity);
  await client.connect();
  await client.call('BootNotification', { chargePointVendor: 'Bench', chargePointModel: 'Relay' });
  await new Promise((r) => setTimeout(r, 1_000));
  const timed = async (list: number[], action: string, params: unknown) => {
    const t = performance.now();
    const conf = await client.call(action, params);
    list.push(performance.now() - t);
    return conf;
  };
  const meterValuesMs: number[] = [];
  for (let i = 0; i < count; i++) await timed(meterValuesMs, 'MeterValues', meterValues());
  const transactionMs: number[] = [];
  for (let i = 0; i < transactions; i++) {
    const started = await timed(transactionMs, 'StartTransaction', { connectorId: 1, idTag: 'BENCH', meterStart: i * 1000, timestamp: new Date().toISOString() });
    await timed(transactionMs, 'StopTransaction', { transactionId: started.transactionId, meterStop: i * 1000 + 500, timestamp: new Date().toISOString() });
  }
  await client.close({ force: true });
  return { meterValuesMs: meterValuesMs.sort((a, b) => a - b), transactionMs: transactionMs.sort((a, b) => a - b) };
}

async function startEms(dir: string, ids: string[], ocppPort: number, upstreamUrl: string | undefined): Promise<ChildProcess> {
  const configPath = join(dir, `site-${upstreamUrl ? 'relay' : 'plain'}.yaml`);
  writeFileSync(
    configPath,
    stringify({
      site: { name: 'Relay bench' },
      grid: { maxCurrent: 4000 },
      chargers: ids.map((id) => ({ id })),
      ocpp: { host: '127.0.0.1', port: ocppPort },
      http: { host: '127.0.0.1', port: 0 },
      storage: { path: join(dir, `ems-${upstreamUrl ? 'relay' : 'plain'}.sqlite`) },
      ...(upstreamUrl ? { upstream: { url: upstreamUrl } } : {}),
    }),
  );
  const child = spawn(process.execPath, [...DEPLOY_NODE_ARGS.split(' '), ...(process.env.BENCH_EMS_NODE_ARGS?.split(' ').filter(Boolean) ?? []), 'bin/ems.js', 'run', '--config', configPath], {
    env: { ...process.env, EMS_LOG_LEVEL: process.env.BENCH_EMS_LOG_LEVEL ?? 'warn', EMS_ADMIN_PASSWORD: 'bench-password-1' },
    stdio: ['ignore', process.env.BENCH_EMS_LOG_LEVEL ? 'inherit' : 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const probe = new RPCClient({ endpoint: `ws://127.0.0.1:${ocppPort}/ocpp`, identity: 'probe-unknown', protocols: ['ocpp1.6'], reconnect: false });
      await probe.connect();
      await probe.close({ force: true });
      return child;
    } catch (error) {
      // 404 for an unknown identity means the listener is up.
      if ((error as { code?: number }).code === 404) return child;
      if (Date.now() > deadline) throw new Error('ems run did not open its OCPP port in 30 s');
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const seqRow = (s: Sequential) => [
  s.meterValuesMs.length,
  percentile(s.meterValuesMs, 50),
  percentile(s.meterValuesMs, 99),
  s.transactionMs.length,
  percentile(s.transactionMs, 50),
  percentile(s.transactionMs, 99),
];

const bench: Bench = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ems-bench-upstream-'));
  const ids = Array.from({ length: CHARGERS }, (_, i) => `CP${String(i + 1).padStart(4, '0')}`);
  const csmsPort = await freePort();
  const csms = await startCsms(csmsPort);
  const csmsUrl = `ws://127.0.0.1:${csmsPort}/cloud`;
  const rows: (string | number)[][] = [];
  let alone: (string | number)[][] = [];
  const memory: (string | number)[][] = [];
  try {
    alone = [];
    const directAlone = await sequential(csmsUrl, ids[0]!);
    alone.push(['direct to the CSMS', ...seqRow(directAlone)]);
    const direct = await measure(csmsUrl, ids);
    await Promise.all(direct.clients.map((c) => c.close({ force: true })));
    rows.push(['direct to the CSMS', direct.rttMs.length, percentile(direct.rttMs, 50), percentile(direct.rttMs, 99), percentile(direct.rttMs, 100), '-', '-']);

    for (const mode of (process.env.BENCH_UPSTREAM_MODES ?? 'plain,relay').split(',') as ('plain' | 'relay')[]) {
      const ocppPort = await freePort();
      const ems = await startEms(dir, ids, ocppPort, mode === 'relay' ? csmsUrl : undefined);
      try {
        await new Promise((r) => setTimeout(r, 2_000));
        if (mode === 'relay') {
          const relayAlone = await sequential(`ws://127.0.0.1:${ocppPort}/ocpp`, ids[0]!);
          alone.push(['charger → EMS → CSMS and back (local controller)', ...seqRow(relayAlone)]);
        }
        const idleMb = rssMb(ems.pid!);
        const cpuBefore = cpuS(ems.pid!);
        const wallBefore = performance.now();
        const run = await measure(`ws://127.0.0.1:${ocppPort}/ocpp`, ids);
        const emsCpuS = cpuS(ems.pid!) - cpuBefore;
        const emsCpuPct = (emsCpuS / ((performance.now() - wallBefore) / 1000)) * 100;
        const cpuMsPerMessage = (emsCpuS * 1000) / run.answered;
        const loadedMb = rssMb(ems.pid!);
        await Promise.all(run.clients.map((c) => c.close({ force: true })));
        const label = mode === 'relay' ? 'charger → EMS → CSMS and back (local controller)' : 'charger → EMS and back (plain central system, no CSMS)';
        rows.push([label, run.rttMs.length, percentile(run.rttMs, 50), percentile(run.rttMs, 99), percentile(run.rttMs, 100), emsCpuPct, cpuMsPerMessage]);
        memory.push([mode === 'relay' ? 'local controller (relay + upstream socket)' : 'plain central system', idleMb, loadedMb, ((loadedMb - idleMb) * 1024) / CHARGERS]);
      } finally {
        ems.kill('SIGTERM');
        await new Promise((r) => ems.once('exit', r));
      }
    }
  } finally {
    await csms.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const relayRow = rows.find((r) => String(r[0]).includes('local controller'));
  const added = (p: number) => (relayRow ? (relayRow[p] as number) - (rows[0]![p] as number) : NaN);
  return [
    {
      title: `Local controller: MeterValues round trip charger → CSMS → charger, ${CHARGERS} strict 1.6 chargers, one message per charger per ${PERIOD_MS / 1000} s, ${WINDOW_MS / 1000} s window (ms)`,
      columns: ['path', 'samples', 'p50 ms', 'p99 ms', 'max ms', 'EMS CPU % of one core', 'EMS CPU ms per answered message (incl. connect, boot, setup)'],
      rows,
      notes: [
        `added by the relay: p50 ${added(2).toFixed(2)} ms, p99 ${added(3).toFixed(2)} ms (target: under 5 ms p99 — ${added(3) < 5 ? 'met' : 'NOT met'})`,
        'the EMS runs as its own `ems run` process with the deploy V8 flags; chargers and CSMS share the bench process',
        `machine load average during the run: ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores (latency on a loaded machine is mostly waiting for a CPU; the CPU column is the load-independent cost)`,
      ],
    },
    {
      title: 'Local controller: the bare forwarding path, one charger, one message at a time (300 MeterValues, then 30 StartTransaction + StopTransaction pairs; ms)',
      columns: ['path', 'MeterValues', 'p50 ms', 'p99 ms', 'Start/Stop', 'p50 ms', 'p99 ms'],
      rows: alone,
      notes:
        alone.length === 2
          ? [
              `added by the relay, one charger, MeterValues: p50 ${((alone[1]![2] as number) - (alone[0]![2] as number)).toFixed(2)} ms, p99 ${((alone[1]![3] as number) - (alone[0]![3] as number)).toFixed(2)} ms`,
              `added by the relay, one charger, Start/StopTransaction: p50 ${((alone[1]![5] as number) - (alone[0]![5] as number)).toFixed(2)} ms, p99 ${((alone[1]![6] as number) - (alone[0]![6] as number)).toFixed(2)} ms`,
            ]
          : [],
    },
    {
      title: `Local controller: EMS process memory, ${CHARGERS} chargers connected and sending (RSS)`,
      columns: ['mode', 'RSS MB idle', 'RSS MB with chargers', 'KB per charger'],
      rows: memory,
    },
  ];
};

export default bench;
