// What a WAL checkpoint costs the event loop: commits through openStorage (the local controller's
// queue rows, ~1.5 KB each, about four WAL frames a commit) at a steady rate, timed one by one on
// the event loop, with SQLite's automatic checkpoint (it runs inside the commit that crosses 1,000
// WAL pages, on the event loop, and fsyncs there) and with the WalCheckpointer (the EMS's
// connections at wal_autocheckpoint=0, a worker thread checkpoints). The two modes alternate,
// round after round, so a machine whose load changes weighs on both alike. Bounded: fixed counts,
// a temp directory removed at the end.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realWait, systemClock } from '../src/clock.ts';
import { silentLogger } from '../src/log.ts';
import { openStorage } from '../src/storage/open-storage.ts';
import { WalCheckpointer } from '../src/storage/wal-checkpointer.ts';
import type { Bench } from './types.ts';

const WRITES = Number(process.env.BENCH_CHECKPOINT_WRITES ?? 3_000);
const PER_SECOND = 100;
const ROUNDS = Number(process.env.BENCH_CHECKPOINT_ROUNDS ?? 3);
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function run(mode: 'sqlite' | 'worker'): Promise<(string | number)[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ems-bench-checkpoint-'));
  const load = loadavg();
  const store = openStorage(join(dir, 'ems.sqlite'), systemClock);
  const checkpointer =
    mode === 'worker' ? new WalCheckpointer({ path: store.path, autoCheckpoint: (pages) => store.autoCheckpoint(pages), wait: realWait, log: silentLogger }) : undefined;
  try {
    await checkpointer?.start();
    const payload = { pad: 'x'.repeat(1_500) };
    const ms: number[] = [];
    let maxFrames = 0;
    for (let i = 0; i < WRITES; i++) {
      const t = performance.now();
      store.upstream.enqueue({ chargerId: 'CP1', action: 'MeterValues', payload, queuedAtMs: i });
      ms.push(performance.now() - t);
      if (i % 20 === 0) maxFrames = Math.max(maxFrames, readFileSync(`${store.path}-shm`).readUInt32LE(16));
      await new Promise((resolve) => setTimeout(resolve, 1_000 / PER_SECOND));
    }
    ms.sort((a, b) => a - b);
    const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!;
    return [
      mode === 'worker' ? 'worker thread (WalCheckpointer)' : "SQLite's automatic checkpoint (on the event loop)",
      load,
      q(0.5),
      q(0.99),
      q(0.999),
      ms[ms.length - 1]!,
      ms.filter((m) => m > 5).length,
      checkpointer ? checkpointer.checkpoints : '-',
      maxFrames,
      checkpointer?.fallbackReason ?? '-',
    ];
  } finally {
    await checkpointer?.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const bench: Bench = async () => {
  const rows: (string | number)[][] = [];
  const startedAt = loadavg();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const mode of round % 2 ? (['sqlite', 'worker'] as const) : (['worker', 'sqlite'] as const)) rows.push([round, ...(await run(mode))]);
  }
  return [
    {
      title: `Storage: one commit on the event loop, ${WRITES} commits at ${PER_SECOND} a second (queue rows of ~1.5 KB, ~4 WAL frames each), who checkpoints the WAL (ms)`,
      columns: ['round', 'checkpoints by', 'uptime load at the start', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'commits over 5 ms', 'worker checkpoints', 'most WAL frames seen', 'fallback'],
      rows,
      notes: [
        "a commit that takes long holds the event loop: every charger's frame waits behind it",
        `uptime load averages (1/5/15 min): ${startedAt} at the start, ${loadavg()} at the end, on 2 cores shared with other work`,
      ],
    },
  ];
};

export default bench;
