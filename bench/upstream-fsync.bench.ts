// Where the durable writes of a charging session happen: a real `ems run` under strace, one strict
// 1.6 charger doing 10 StartTransaction/StopTransaction pairs (plain central system, then local
// controller in front of a strict CSMS); fsync/fdatasync counted on the event-loop thread and off
// it. Load-independent (a count, not a time). Needs strace; skipped without it. Loopback, bounded.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ocppRpc from 'ocpp-rpc';
import type { Bench } from './types.ts';

const { RPCClient, RPCServer } = ocppRpc as unknown as {
  RPCClient: new (options: Record<string, unknown>) => any;
  RPCServer: new (options: Record<string, unknown>) => any;
};
const PAIRS = Number(process.env.BENCH_FSYNC_PAIRS ?? 10);
/** A/B: another checkout whose `ems run` is counted beside this one's (as in upstream.bench.ts). */
const BASELINE = process.env.BENCH_UPSTREAM_BASELINE;

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

async function count(mode: 'plain' | 'relay', cwd?: string): Promise<{ onLoop: number; offLoop: number; onLoopMs: number; maxOnLoopMs: number; files: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'ems-bench-fsync-'));
  let http: ReturnType<typeof createHttpServer> | undefined;
  let csmsUrl: string | undefined;
  if (mode === 'relay') {
    const rpc = new RPCServer({ protocols: ['ocpp1.6'], strictMode: true });
    let next = 1;
    rpc.on('client', (c: any) =>
      c.handle(({ method }: { method: string }) =>
        method === 'BootNotification' ? { status: 'Accepted', currentTime: new Date().toISOString(), interval: 300 } : method === 'StartTransaction' ? { transactionId: next++, idTagInfo: { status: 'Accepted' } } : {},
      ),
    );
    http = createHttpServer();
    http.on('upgrade', rpc.handleUpgrade);
    await new Promise<void>((r) => http!.listen(0, '127.0.0.1', () => r()));
    csmsUrl = `ws://127.0.0.1:${(http.address() as { port: number }).port}/cloud`;
  }
  const ocppPort = await freePort();
  writeFileSync(
    join(dir, 'site.yaml'),
    [
      'site: { name: fsync }',
      'grid: { maxCurrent: 100 }',
      'chargers: [ { id: CP1 } ]',
      'idTags: [ { idTag: T1 } ]',
      `ocpp: { host: 127.0.0.1, port: ${ocppPort} }`,
      'http: { host: 127.0.0.1, port: 0 }',
      `storage: { path: ${join(dir, 'ems.sqlite')} }`,
      ...(csmsUrl ? [`upstream: { url: "${csmsUrl}" }`] : []),
    ].join('\n'),
  );
  const trace = join(dir, 'trace');
  const child = spawn('strace', ['-f', '-T', '-e', 'trace=fsync,fdatasync', '-o', trace, process.execPath, 'bin/ems.js', 'run', '--config', join(dir, 'site.yaml')], {
    env: { ...process.env, EMS_ADMIN_PASSWORD: 'bench-password-1', EMS_LOG_LEVEL: 'warn' },
    stdio: 'ignore',
    ...(cwd ? { cwd } : {}),
  });
  let emsPid: number | undefined;
  try {
    let client: any;
    const deadline = Date.now() + 60_000;
    while (!client) {
      const c = new RPCClient({ endpoint: `ws://127.0.0.1:${ocppPort}/ocpp`, identity: 'CP1', protocols: ['ocpp1.6'], strictMode: true, reconnect: false });
      c.handle(() => ({ status: 'Accepted' }));
      try {
        await c.connect();
        client = c;
      } catch {
        if (Date.now() > deadline) throw new Error('ems run did not open its OCPP port in 60 s');
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    await client.call('BootNotification', { chargePointVendor: 'Bench', chargePointModel: 'Fsync' });
    await new Promise((r) => setTimeout(r, 3_000));
    emsPid = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(' ')[0]);
    const before = readFileSync(trace, 'utf8').split('\n').length - 1;
    for (let i = 0; i < PAIRS; i++) {
      const started = await client.call('StartTransaction', { connectorId: 1, idTag: 'T1', meterStart: i * 10, timestamp: new Date().toISOString() });
      await client.call('StopTransaction', { transactionId: started.transactionId, meterStop: i * 10 + 5, timestamp: new Date().toISOString() });
    }
    await new Promise((r) => setTimeout(r, 300));
    const all = readFileSync(trace, 'utf8').split('\n').slice(before);
    const lines = all.filter((l) => /fsync|fdatasync/.test(l) && !/resumed/.test(l));
    const onLoopLines = lines.filter((l) => Number(l.split(' ')[0]) === emsPid);
    // strace -T: the time in the call, at the end of the line (or of its "resumed" line).
    const onLoopTimesMs = all.filter((l) => Number(l.split(' ')[0]) === emsPid && /sync/.test(l) && !/unfinished/.test(l)).map((l) => Number(/<([\d.]+)>\s*$/.exec(l)?.[1] ?? 0) * 1000);
    const files = [...new Set(onLoopLines.map((l) => /\((\d+)/.exec(l)?.[1]))].map((fd) => {
      try {
        return readlinkSync(`/proc/${emsPid}/fd/${fd}`).replace(dir, '…');
      } catch {
        return `fd ${fd}`;
      }
    });
    await client.close({ force: true });
    return { onLoop: onLoopLines.length, offLoop: lines.length - onLoopLines.length, onLoopMs: onLoopTimesMs.reduce((a, b) => a + b, 0), maxOnLoopMs: Math.max(0, ...onLoopTimesMs), files };
  } finally {
    // strace outlives a SIGTERM of its own while its tracee runs: end the EMS, strace follows it.
    const exited = new Promise((r) => child.once('exit', r));
    if (emsPid) process.kill(emsPid, 'SIGTERM');
    else child.kill('SIGKILL');
    await exited;
    http?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const bench: Bench = async () => {
  if (spawnSync('strace', ['-V']).status !== 0) return [{ title: 'Local controller: fsyncs per session (skipped: strace is not installed)', columns: [], rows: [] }];
  const rows: (string | number)[][] = [];
  for (const mode of ['plain', 'relay'] as const) {
    for (const cwd of BASELINE ? [undefined, BASELINE] : [undefined]) {
      const { onLoop, offLoop, onLoopMs, maxOnLoopMs, files } = await count(mode, cwd);
      rows.push([`${cwd ? 'baseline: ' : ''}${mode === 'relay' ? 'local controller (relay)' : 'plain central system'}`, onLoop, offLoop, onLoopMs, maxOnLoopMs, files.join(', ') || '-']);
    }
  }
  return [
    {
      title: `Local controller: fsync/fdatasync during ${PAIRS} StartTransaction + StopTransaction pairs, ems run under strace, one charger`,
      columns: ['mode', 'on the event-loop thread', 'off it (thread pool, worker)', 'ms in them on the event loop (strace -T)', 'longest on the event loop, ms', 'files synced on the event loop'],
      rows,
      notes: [
        'an fsync on the event-loop thread stalls every charger for its duration (tens of ms on a busy disk); on the thread pool it delays only the answer it guards',
        ...(BASELINE ? [`baseline: \`ems run\` of ${BASELINE}, run right after this checkout's in the same mode`] : []),
      ],
    },
  ];
};

export default bench;
