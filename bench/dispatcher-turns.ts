// The longest turn of the event loop during a profile round that changes every cap (a grid step),
// in CPU ms, A/B between checkouts on a loaded machine (#14: a relayed frame that arrives during a
// turn waits for all of it). A ProfileDispatcher of the checkout with N one-connector chargers,
// 4 in 5 in a transaction, each holding its profiles already; every slot written to SQLite (WAL,
// synchronous=NORMAL, as the EMS's holdings store) and reported on a bus with a listener; each
// charger's sendProfile serialises the SetChargingProfile frame and is answered 1-20 ms later (no
// socket: the transport's own cost per call, ~0.1 ms, comes on top in the EMS). A chain of
// setImmediate ticks reads process.cpuUsage() between turns: the largest difference is the longest
// turn (CPU, so waiting for a core does not count; run with --single-threaded so the collector's
// work is on this thread and counted where it happens). One process per checkout per round,
// checkouts taking turns going first.
//   node --import tsx bench/dispatcher-turns.ts <checkout> [<checkout> ...]
//   env: TURNS_CHARGERS (200), TURNS_ROUNDS (5), TURNS_STEPS (20 grid steps per process)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const CHARGERS = Number(process.env.TURNS_CHARGERS ?? 200);
const STEPS = Number(process.env.TURNS_STEPS ?? 20);

async function child(root: string): Promise<void> {
  const Database = (await import('better-sqlite3')).default;
  const { Bus } = await import(`${root}/src/bus.ts`);
  const { systemClock } = await import(`${root}/src/clock.ts`);
  const { silentLogger } = await import(`${root}/src/log.ts`);
  const { ChargerHoldings } = await import(`${root}/src/ocpp/charger-holdings.ts`);
  const { ProfileDispatcher } = await import(`${root}/src/ocpp/profile-dispatcher.ts`);
  const dir = mkdtempSync(join(tmpdir(), 'dispatcher-turns-'));
  const db = new Database(join(dir, 'h.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE charger_holdings (charger_id TEXT, slot TEXT, limit_a REAL, transaction_id INTEGER, updated_at_ms INTEGER, PRIMARY KEY (charger_id, slot))');
  const upsert = db.prepare(
    'INSERT INTO charger_holdings VALUES (@chargerId, @slot, @limitA, @transactionId, @atMs) ON CONFLICT (charger_id, slot) DO UPDATE SET limit_a = excluded.limit_a, transaction_id = excluded.transaction_id, updated_at_ms = excluded.updated_at_ms',
  );
  const del = db.prepare('DELETE FROM charger_holdings WHERE charger_id = ? AND slot = ?');
  const bus = new Bus(silentLogger);
  let reports = 0;
  bus.on('profile.status', () => reports++);
  const targets = new Map<string, unknown>();
  const active = new Map<string, number>();
  let frames = 0;
  for (let i = 0; i < CHARGERS; i++) {
    const id = `CP${i}`;
    const sink = {
      save: (slot: string, limitA: number, transactionId?: number) => void upsert.run({ chargerId: id, slot, limitA, transactionId: transactionId ?? null, atMs: Date.now() }),
      remove: (slot: string) => void del.run(id, slot),
    };
    targets.set(id, {
      chargerId: id,
      ready: true,
      capabilities: { rateUnit: 'A', maxStackLevel: 8, maxPeriods: 5 },
      config: { id, connectors: 1, maxCurrent: 32, minCurrent: 6, phases: 3 },
      log: silentLogger,
      holdings: new ChargerHoldings({ chargerId: id, connectors: 1, maxA: 32, shareA: 16 }, sink),
      sendProfile: (intent: unknown) => {
        frames += JSON.stringify([2, `${id}-${frames}`, 'SetChargingProfile', intent]).length > 0 ? 1 : 0;
        // Answered 1-20 ms later, as 200 chargers in their own processes would, not all in one batch.
        return new Promise((r) => setTimeout(() => r('Accepted'), 1 + (frames % 20)));
      },
      stepDownStackLevel: () => undefined,
      uncontrollableFound: () => undefined,
    });
    if (i % 5 !== 4) active.set(id, 1000 + i);
  }
  const dispatcher = new ProfileDispatcher({
    bus,
    clock: systemClock,
    log: silentLogger,
    voltageV: 230,
    profileDurationS: 600,
    profileMinIntervalMs: 0,
    answerWaitMs: 2000,
    target: (id: string) => targets.get(id),
    activeTransaction: (id: string) => active.get(id),
  });
  const capsAt = (a: number) => [...targets.keys()].map((chargerId, i) => ({ chargerId, connectorId: 1, currentA: a + (i % 4), phases: 3, reason: { kind: 'charger', text: '' } }));
  for (let r = 0; r < 3; r++) await dispatcher.applyCaps(capsAt(10 + r)); // warm-up
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const longest: number[] = [];
  const turnsPerRound: number[] = [];
  for (let step = 0; step < STEPS; step++) {
    // Down then up: every cap changes each round (decreases, then increases confirmed after them).
    const caps = capsAt(step % 2 === 0 ? 7 : 14);
    let running = true;
    let last = cpuMs();
    let max = 0;
    let turns = 0;
    const tick = () => {
      const now = cpuMs();
      max = Math.max(max, now - last);
      last = now;
      turns++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    await dispatcher.applyCaps(caps);
    running = false;
    await new Promise((r) => setImmediate(r));
    longest.push(max);
    turnsPerRound.push(turns);
  }
  longest.sort((a, b) => a - b);
  db.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(JSON.stringify({ longestTurnMs: { p50: longest[longest.length >> 1], max: longest[longest.length - 1] }, turnsPerRound: turnsPerRound[turnsPerRound.length >> 1], reports, frames }));
}

if (process.argv[2] === '--child') {
  await child(resolve(process.argv[3]!));
} else {
  const roots = process.argv.slice(2);
  const rounds = Number(process.env.TURNS_ROUNDS ?? 5);
  const results = new Map<string, { p50: number[]; max: number[] }>();
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? roots : [...roots].reverse();
    for (const root of order) {
      const out = execFileSync(process.execPath, ['--single-threaded', '--import', 'tsx', SELF, '--child', root], { encoding: 'utf8', cwd: root });
      const parsed = JSON.parse(out.trim().split('\n').pop()!);
      const entry = results.get(root) ?? { p50: [], max: [] };
      entry.p50.push(parsed.longestTurnMs.p50);
      entry.max.push(parsed.longestTurnMs.max);
      results.set(root, entry);
      console.log(`round ${r + 1} ${root}: ${JSON.stringify(parsed)} load ${loadavg()[0]!.toFixed(1)}`);
    }
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
  for (const [root, v] of results) console.log(`${root}: longest turn per round, CPU ms: median of the rounds' medians ${median(v.p50).toFixed(2)}, of their maxima ${median(v.max).toFixed(2)} (${CHARGERS} chargers)`);
}
