// Local controller: what the relay adds. 200 strict 1.6 chargers send MeterValues once a second
// each (staggered), straight to a CSMS, to a plain `ems run` (no CSMS) and through an `ems run` in
// local-controller mode in front of the same CSMS; round trip charger → CSMS → charger, p50/p99.
// The chargers run in this process, the CSMS (bench/upstream-csms.mjs) and each EMS in their own.
// The three paths are run in turn, round after round (BENCH_UPSTREAM_ROUNDS), so a machine whose
// load changes meanwhile weighs on each alike; the added latency is taken per round and its median
// reported, with the load-independent figures beside it: the EMS's CPU per message (relay minus
// plain is what the relay costs) and its event-loop delay (bench/loop-delay-probe.mjs). Memory per
// charger: the EMS process's RSS before and after its 200 chargers connected. Bounded: fixed
// windows and rounds, loopback only.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import ocppRpc from 'ocpp-rpc';
import { stringify } from 'yaml';
import { waitForOcppPort } from './ocpp-port.ts';
import { deployedEms } from './upstream-deploy.ts';
import type { Bench } from './types.ts';

const { RPCClient } = ocppRpc as unknown as {
  RPCClient: new (options: Record<string, unknown>) => any;
};
const CHARGERS = Number(process.env.BENCH_UPSTREAM_CHARGERS ?? 200);
const PERIOD_MS = 1_000;
const WINDOW_MS = Number(process.env.BENCH_UPSTREAM_WINDOW_MS ?? 20_000);
const WARMUP_MS = 3_000;
const ROUNDS = Number(process.env.BENCH_UPSTREAM_ROUNDS ?? 3);
/** Before each run, wait (at most BENCH_QUIET_WAIT_MS) for the 1-minute load average to fall below this. */
const QUIET_LOAD = Number(process.env.BENCH_QUIET_LOAD ?? Infinity);
const QUIET_WAIT_MS = Number(process.env.BENCH_QUIET_WAIT_MS ?? 120_000);
const PROBE = fileURLToPath(new URL('./loop-delay-probe.mjs', import.meta.url));

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

const CSMS = fileURLToPath(new URL('./upstream-csms.mjs', import.meta.url));

/**
 * The CSMS (bench/upstream-csms.mjs, strict) in its own process, with the loop-delay probe: in the
 * bench process it shared one event loop with the 200 chargers, and a relayed message crossed that
 * loop twice (at the CSMS and back at its charger), a direct one once.
 */
async function startCsms(port: number, dir: string): Promise<{ child: ChildProcess; close(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', PROBE, CSMS, String(port)], {
    env: { ...process.env, EMS_LOOP_DELAY_FILE: loopDelayFile(dir, 'csms') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the bench CSMS did not listen within 30 s')), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (!chunk.toString().includes('listening')) return;
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the bench CSMS exited (${code}) before it listened`));
    });
  });
  return {
    child,
    async close() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** When a bench charger last got a call from the EMS (its set-up after a boot: configuration, triggers, floor profiles). */
let lastEmsCallAtMs = 0;
/** The window starts once the EMS has called no charger for this long (bounded by SETTLE_MAX_MS). */
const SETTLE_QUIET_MS = 2_000;
const SETTLE_MAX_MS = 60_000;

function chargerClient(url: string, identity: string): any {
  const client = new RPCClient({ endpoint: url, identity, protocols: ['ocpp1.6'], strictMode: true, reconnect: false, callTimeoutMs: 30_000 });
  client.handle(({ method }: { method: string }) => {
    lastEmsCallAtMs = performance.now();
    return method === 'GetConfiguration' ? { configurationKey: [], unknownKey: [] } : { status: 'Accepted' };
  });
  return client;
}

/**
 * Waits (bounded) until the EMS has finished setting up the chargers that just booted: 200 boots
 * make several EMS calls each (GetConfiguration, ChangeConfiguration, TriggerMessage, floor profiles,
 * GetCompositeSchedule), which the direct path never has. Until session 5 that burst fell into the
 * measured window of the EMS paths only. Returns how long it took, ms.
 */
async function settled(): Promise<number> {
  const startedAt = performance.now();
  while (performance.now() - lastEmsCallAtMs < SETTLE_QUIET_MS && performance.now() - startedAt < SETTLE_MAX_MS) await new Promise((r) => setTimeout(r, 200));
  return performance.now() - startedAt;
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

const SESSION_MS = Number(process.env.BENCH_UPSTREAM_SESSION_MS ?? 60_000);
/**
 * The `startstop` load: sessions this short (a Start, a few MeterValues, a Stop, ~80 Start/Stop a
 * second at 200 chargers), so that a run has thousands of Start/Stop samples and its p99 is not one
 * long task: the window runs until BENCH_UPSTREAM_TX_SAMPLES Start/Stop round trips were recorded
 * through the EMS, at most BENCH_UPSTREAM_MAX_WINDOW_MS.
 */
const STARTSTOP_SESSION_MS = Number(process.env.BENCH_UPSTREAM_STARTSTOP_SESSION_MS ?? 4_000);
const TX_SAMPLES = Number(process.env.BENCH_UPSTREAM_TX_SAMPLES ?? 3_000);
const MAX_WINDOW_MS = Number(process.env.BENCH_UPSTREAM_MAX_WINDOW_MS ?? 60_000);
type LoadName = 'meter' | 'sessions' | 'startstop';

interface Load {
  /** Every round trip after warm-up (ms), sorted. */
  rttMs: number[];
  /** Start/StopTransaction round trips after warm-up (ms), sorted (the `sessions` load only). */
  transactionMs: number[];
  /** MeterValues round trips after warm-up (ms), sorted: per message class, as the target is judged. */
  meterValuesMs: number[];
  clients: any[];
  sent: number;
  answered: number;
  /** How long the EMS took to set the chargers up after their boots (the window starts after), ms. */
  settleMs: number;
  /** The measured window after warm-up, ms. */
  windowMs?: number;
}

/** One group of chargers of a run: all of them on `url` (the path measured, or its direct twins). */
interface Group {
  url: string;
  ids: string[];
}

/**
 * Connects every charger of every group, then each sends one message every PERIOD_MS: MeterValues
 * only (`meter`), or a charging session after another (StartTransaction, MeterValues with its id,
 * StopTransaction after SESSION_MS: 200 chargers make 3.3 starts and 3.3 stops a second, each one
 * a write in the EMS; `startstop`: after STARTSTOP_SESSION_MS). A charger whose last call is
 * unanswered skips its turn. The groups run in the same window on the same schedule (a second
 * group is the first's direct twins: the same load on the same machine at the same moment). The
 * window is WINDOW_MS after warm-up, or for `startstop` until the first group has TX_SAMPLES
 * Start/Stop samples (at most MAX_WINDOW_MS).
 */
async function measure(groups: Group[], load: LoadName, atWindowStart: () => Promise<void>): Promise<Load[]> {
  const clientsOf: any[][] = groups.map(() => []);
  for (const [g, group] of groups.entries()) {
    for (let i = 0; i < group.ids.length; i += 50) {
      await Promise.all(
        group.ids.slice(i, i + 50).map(async (id) => {
          const client = chargerClient(group.url, id);
          await client.connect();
          await client.call('BootNotification', { chargePointVendor: 'Bench', chargePointModel: 'Relay' });
          clientsOf[g]!.push(client);
        }),
      );
    }
  }
  const settleMs = await settled();
  await atWindowStart();
  const results = groups.map((_, g) => ({ rttMs: [] as number[], transactionMs: [] as number[], meterValuesMs: [] as number[], clients: clientsOf[g]!, sent: 0, answered: 0, settleMs }));
  const sessions = load !== 'meter';
  const sessionMs = load === 'startstop' ? STARTSTOP_SESSION_MS : SESSION_MS;
  const startedAt = performance.now();
  const timers: NodeJS.Timeout[] = [];
  // Answers still in flight when the window closes are not recorded (they would land in the
  // sorted result after it was sorted); they count as unanswered.
  let recording = true;
  let enough: () => void = () => undefined;
  await new Promise<void>((resolve) => {
    enough = resolve;
    for (const [g, clients] of clientsOf.entries()) {
    const result = results[g]!;
    const { rttMs, transactionMs, meterValuesMs } = result;
    for (const [i, client] of clients.entries()) {
      let busy = false;
      let transactionId: number | undefined;
      let sessionStartedAt = 0;
      let meterWh = 0;
      const next = (): [string, unknown] => {
        meterWh += 20;
        if (!sessions) return ['MeterValues', meterValues()];
        if (transactionId === undefined) return ['StartTransaction', { connectorId: 1, idTag: 'BENCH', meterStart: meterWh, timestamp: new Date().toISOString() }];
        if (performance.now() - sessionStartedAt >= sessionMs) return ['StopTransaction', { transactionId, meterStop: meterWh, timestamp: new Date().toISOString() }];
        return ['MeterValues', { ...meterValues(), transactionId }];
      };
      const send = () => {
        if (busy) return;
        busy = true;
        result.sent++;
        const [action, params] = next();
        const t = performance.now();
        void client.call(action, params).then(
          (conf: any) => {
            busy = false;
            if (!recording) return;
            result.answered++;
            const ms = performance.now() - t;
            if (t - startedAt >= WARMUP_MS) {
              rttMs.push(ms);
              if (action !== 'MeterValues') {
                transactionMs.push(ms);
                if (load === 'startstop' && g === 0 && transactionMs.length >= TX_SAMPLES) enough();
              } else meterValuesMs.push(ms);
            }
            if (action === 'StartTransaction') {
              transactionId = conf.transactionId;
              sessionStartedAt = performance.now() - firstSessionAgeMs;
              firstSessionAgeMs = 0;
            } else if (action === 'StopTransaction') transactionId = undefined;
          },
          () => {
            busy = false;
          },
        );
      };
      // Sessions start spread over the session length so starts and stops come evenly; a twin
      // (the same index in the next group) keeps its charger's schedule.
      const offsetMs = schedule(i, 0) * PERIOD_MS;
      let firstSessionAgeMs = schedule(i, 1) * sessionMs;
      timers.push(setTimeout(() => timers.push(setInterval(send, PERIOD_MS)), offsetMs));
    }
    }
    timers.push(setTimeout(resolve, WARMUP_MS + (load === 'startstop' ? MAX_WINDOW_MS : WINDOW_MS)));
  });
  recording = false;
  for (const timer of timers) clearTimeout(timer);
  const sorted = (list: number[]) => [...list].sort((a, b) => a - b);
  return results.map((r) => ({ ...r, rttMs: sorted(r.rttMs), transactionMs: sorted(r.transactionMs), meterValuesMs: sorted(r.meterValuesMs), windowMs: performance.now() - startedAt - WARMUP_MS }));
}

/** Charger i's fixed random draws (its send phase, its first session's age), the same for its twin. */
const draws = new Map<number, [number, number]>();
const schedule = (i: number, which: 0 | 1) => {
  let pair = draws.get(i);
  if (!pair) draws.set(i, (pair = [Math.random(), Math.random()]));
  return pair[which];
};

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

async function startEms(dir: string, ids: string[], ocppPort: number, upstreamUrl: string | undefined, mode: Mode): Promise<ChildProcess> {
  const configPath = join(dir, `site-${mode}.yaml`);
  writeFileSync(
    configPath,
    stringify({
      site: { name: 'Relay bench' },
      grid: { maxCurrent: 4000 },
      chargers: ids.map((id) => ({ id })),
      idTags: [{ idTag: 'BENCH', tier: 'staff' }],
      ocpp: { host: '127.0.0.1', port: ocppPort },
      http: { host: '127.0.0.1', port: 0 },
      storage: { path: join(dir, `ems-${mode}.sqlite`) },
      ...(upstreamUrl ? { upstream: { url: upstreamUrl } } : {}),
    }),
  );
  const deployed = deployedEms(mode.endsWith('-base') ? BASELINE! : process.cwd());
  const child = spawn(process.execPath, [...deployed.nodeArgs, '--import', PROBE, ...(process.env.BENCH_EMS_NODE_ARGS?.split(' ').filter(Boolean) ?? []), deployed.entry, 'run', '--config', configPath], {
    env: {
      ...process.env,
      EMS_LOG_LEVEL: process.env.BENCH_EMS_LOG_LEVEL ?? 'warn',
      EMS_ADMIN_PASSWORD: 'bench-password-1',
      EMS_LOOP_DELAY_FILE: loopDelayFile(dir, mode),
    },
    ...(mode.endsWith('-base') ? { cwd: BASELINE } : {}),
    stdio: ['ignore', process.env.BENCH_EMS_LOG_LEVEL ? 'inherit' : 'ignore', 'inherit'],
  });
  await waitForOcppPort(ocppPort, 60_000);
  return child;
}

const loopDelayFile = (dir: string, mode: string) => join(dir, `loop-delay-${mode}.json`);

/** Per message class, what the probe measured inside the EMS (ms per message; bench/loop-delay-probe.mjs). */
interface ClassResidence {
  upMs: number[];
  downMs: number[];
  relayedMs: number[];
  localMs: number[];
}
type Residence = Record<'transaction' | 'meterValues' | 'other', ClassResidence>;

interface ProbeReading {
  p50: number;
  p99: number;
  max: number;
  /** Absent in a probe of an older checkout's bench. */
  residence?: Residence;
  gcMs?: number[];
}

/** The EMS's event-loop delay since the last call (ms), its messages' residence and its GC pauses: the probe writes them on SIGUSR2. */
async function loopDelay(child: ChildProcess, file: string): Promise<ProbeReading> {
  rmSync(file, { force: true });
  child.kill('SIGUSR2');
  for (let i = 0; i < 50; i++) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as ProbeReading;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { p50: NaN, p99: NaN, max: NaN };
}

/** Waits, bounded, for a quiet machine; the load average it got. */
async function quiet(): Promise<number> {
  const deadline = Date.now() + QUIET_WAIT_MS;
  while (loadavg()[0]! >= QUIET_LOAD && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2_000));
  return loadavg()[0]!;
}

/** Which sample from the top a p99 of `count` samples is (percentile() above): "2nd largest" for 130. */
const ordinal = (count: number) => {
  const n = Math.max(1, Math.round(count) - Math.min(Math.round(count) - 1, Math.floor(0.99 * Math.round(count))));
  return n === 1 ? 'largest' : `${n}${n === 2 ? 'nd' : n === 3 ? 'rd' : 'th'} largest`;
};

const median = (values: number[]) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)]! : NaN;
};

const seqRow = (s: Sequential) => [
  s.meterValuesMs.length,
  percentile(s.meterValuesMs, 50),
  percentile(s.meterValuesMs, 99),
  s.transactionMs.length,
  percentile(s.transactionMs, 50),
  percentile(s.transactionMs, 99),
];

/**
 * A/B: BENCH_UPSTREAM_BASELINE names another checkout (its own node_modules) whose `ems run` is
 * measured beside this one's, in the same rounds, one run after the other (modes `plain-base`,
 * `relay-base`), so both meet the same machine.
 */
const BASELINE = process.env.BENCH_UPSTREAM_BASELINE;
type Mode = 'plain' | 'relay' | 'plain-base' | 'relay-base';
const uptime = () => {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return loadavg().map((l) => l.toFixed(2)).join(' ');
  }
};

const LOADS = (process.env.BENCH_UPSTREAM_LOADS ?? 'meter,sessions').split(',') as LoadName[];
const PATH_LABEL = {
  direct: 'direct to the CSMS',
  plain: 'charger → EMS and back (plain central system, no CSMS)',
  relay: 'charger → EMS → CSMS and back (local controller)',
  'plain-base': 'baseline: charger → EMS and back (plain central system, no CSMS)',
  'relay-base': 'baseline: charger → EMS → CSMS and back (local controller)',
};

const bench: Bench = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ems-bench-upstream-'));
  const ids = Array.from({ length: CHARGERS }, (_, i) => `CP${String(i + 1).padStart(4, '0')}`);
  const csmsPort = await freePort();
  const csms = await startCsms(csmsPort, dir);
  const csmsUrl = `ws://127.0.0.1:${csmsPort}/cloud`;
  const rows: Record<LoadName, (string | number)[][]> = { meter: [], sessions: [], startstop: [] };
  /** Per load and round, per path: p50, p99 (ms). */
  const perRound: Record<LoadName, Record<string, number[]>[]> = { meter: [], sessions: [], startstop: [] };
  /**
   * Per load and path, every round's samples together: the EMS's residence per class (probe), the
   * round trips per class through the path and through its direct twins in the same window
   * (`startstop`), the GC pauses.
   */
  const pooledIn: Record<string, { residence: Residence[]; gcMs: number[]; tx: number[]; twinTx: number[]; mv: number[]; twinMv: number[]; windowS: number }> = {};
  /** The `startstop` load's direct twins: the first BENCH_UPSTREAM_TWINS chargers' (default all). */
  const twinIds = ids.slice(0, Number(process.env.BENCH_UPSTREAM_TWINS ?? CHARGERS)).map((id) => `${id}T`);
  /** The sessions load per message class, per round and path: [MeterValues p50, p99, Start/Stop p50, p99] (ms). */
  const perClass: Record<string, number[]>[] = [];
  /**
   * The sessions load's round trips per path and class, every round's together: a round has ~130
   * Start/Stop samples (200 chargers, 60 s sessions, 20 s window), so its p99 is its second-largest
   * and swings with one long task; over the rounds pooled, the p99 rests on ~3× the samples.
   */
  const pooled: Record<string, { meterValuesMs: number[]; transactionMs: number[] }> = {};
  const alone: (string | number)[][] = [];
  const memory: (string | number)[][] = [];
  const loadAtStart = loadavg()[0]!;
  const startedAt = new Date().toISOString().slice(11, 16);
  const modes = (process.env.BENCH_UPSTREAM_MODES ?? 'plain,relay').split(',') as ('plain' | 'relay')[];
  const allModes: Mode[] = BASELINE ? modes.flatMap((m) => [m, `${m}-base` as Mode]) : modes;
  const uptimeAtStart = uptime();
  const emss = new Map<Mode, { child: ChildProcess; url: string }>();
  const run = async (round: number, load: LoadName, path: keyof typeof PATH_LABEL, url: string, child: ChildProcess | undefined) => {
    const loadNow = await quiet();
    const pid = child?.pid;
    const idleMb = pid ? rssMb(pid) : 0;
    // The EMS's CPU and loop delay over the window only (not the chargers' connects and set-up).
    let cpuBefore = 0;
    let wallBefore = 0;
    // The bench process's own loop (the 200 chargers): every path's message crosses it once, at its charger.
    const benchLoop = monitorEventLoopDelay({ resolution: 5 });
    // `startstop`: the path's chargers and, in the same window, their direct twins (not for the direct path itself).
    const groups: Group[] = [{ url, ids }, ...(load === 'startstop' && path !== 'direct' ? [{ url: csmsUrl, ids: twinIds }] : [])];
    const [result, twin] = await measure(groups, load, async () => {
      await Promise.all([child ? loopDelay(child, loopDelayFile(dir, path)) : undefined, loopDelay(csms.child, loopDelayFile(dir, 'csms'))]);
      cpuBefore = pid ? cpuS(pid) : 0;
      wallBefore = performance.now();
      benchLoop.enable();
    });
    benchLoop.disable();
    const benchLoopP99Ms = benchLoop.percentile(99) / 1e6;
    const emsCpuS = pid ? cpuS(pid) - cpuBefore : NaN;
    const emsCpuPct = (emsCpuS / ((performance.now() - wallBefore) / 1000)) * 100;
    const delay = child ? await loopDelay(child, loopDelayFile(dir, path)) : undefined;
    const csmsDelay = await loopDelay(csms.child, loopDelayFile(dir, 'csms'));
    const loadedMb = pid ? rssMb(pid) : 0;
    await Promise.all([...result!.clients, ...(twin?.clients ?? [])].map((c: any) => c.close({ force: true })));
    if (delay?.residence || load === 'startstop') {
      const pool = (pooledIn[`${load} ${path}`] ??= { residence: [], gcMs: [], tx: [], twinTx: [], mv: [], twinMv: [], windowS: 0 });
      if (delay?.residence) pool.residence.push(delay.residence);
      pool.gcMs.push(...(delay?.gcMs ?? []));
      pool.tx.push(...result!.transactionMs);
      pool.mv.push(...result!.meterValuesMs);
      pool.twinTx.push(...(twin?.transactionMs ?? []));
      pool.twinMv.push(...(twin?.meterValuesMs ?? []));
      pool.windowS += (result!.windowMs ?? 0) / 1000;
    }
    if (load === 'startstop') {
      const res = delay?.residence?.transaction;
      const sortedOf = (list: number[] | undefined) => [...(list ?? [])].sort((a, b) => a - b);
      const gc = sortedOf(delay?.gcMs);
      rows.startstop.push([
        round,
        PATH_LABEL[path],
        loadNow,
        (result!.windowMs ?? 0) / 1000,
        result!.transactionMs.length,
        percentile(result!.transactionMs, 50),
        percentile(result!.transactionMs, 99),
        twin ? twin.transactionMs.length : '-',
        twin ? percentile(twin.transactionMs, 50) : '-',
        twin ? percentile(twin.transactionMs, 99) : '-',
        twin ? percentile(result!.transactionMs, 99) - percentile(twin.transactionMs, 99) : '-',
        res?.relayedMs.length ? percentile(sortedOf(res.relayedMs), 50) : '-',
        res?.relayedMs.length ? percentile(sortedOf(res.relayedMs), 99) : '-',
        res?.relayedMs.length ? percentile(sortedOf(res.upMs), 99) : '-',
        res?.relayedMs.length ? percentile(sortedOf(res.downMs), 99) : '-',
        gc.length,
        gc.length ? percentile(gc, 99) : '-',
        pid ? (cpuS(pid) - cpuBefore) * 1e6 / result!.answered : '-',
        delay ? delay.p99 : '-',
      ]);
      return;
    }
    const ems = pid ? [emsCpuPct, (emsCpuS * 1e6) / result.answered, delay!.p50, delay!.p99] : ['-', '-', '-', '-'];
    const all = [`${result.answered}/${result.sent}`, result.rttMs.length, percentile(result.rttMs, 50), percentile(result.rttMs, 99), percentile(result.rttMs, 100)];
    const tx = load === 'sessions' ? [result.transactionMs.length, percentile(result.transactionMs, 50), percentile(result.transactionMs, 99)] : [];
    rows[load].push([round, PATH_LABEL[path], loadNow, result.settleMs / 1000, ...all, ...tx, ...ems, csmsDelay.p99, benchLoopP99Ms]);
    (perRound[load][round - 1] ??= {})[path] = [percentile(result.rttMs, 50), percentile(result.rttMs, 99)];
    if (load === 'sessions') {
      (perClass[round - 1] ??= {})[path] = [percentile(result.meterValuesMs, 50), percentile(result.meterValuesMs, 99), percentile(result.transactionMs, 50), percentile(result.transactionMs, 99)];
      const pool = (pooled[path] ??= { meterValuesMs: [], transactionMs: [] });
      pool.meterValuesMs.push(...result.meterValuesMs);
      pool.transactionMs.push(...result.transactionMs);
    }
    if (pid && load === 'meter' && round === 1) memory.push([`${path.endsWith('-base') ? 'baseline: ' : ''}${path.startsWith('relay') ? 'local controller (relay + upstream socket)' : 'plain central system'}`, idleMb, loadedMb, ((loadedMb - idleMb) * 1024) / CHARGERS]);
  };
  try {
    for (const mode of allModes) {
      const ocppPort = await freePort();
      emss.set(mode, { child: await startEms(dir, ids, ocppPort, mode.startsWith('relay') ? csmsUrl : undefined, mode), url: `ws://127.0.0.1:${ocppPort}/ocpp` });
    }
    await new Promise((r) => setTimeout(r, 2_000));
    // The bare path first, direct and relay one after the other.
    alone.push([PATH_LABEL.direct, ...seqRow(await sequential(csmsUrl, ids[0]!)), '-', '-']);
    /** The bare path through an EMS, with the residence of its Start/Stop inside it (probe). */
    const bare = async (mode: Mode) => {
      const ems = emss.get(mode);
      if (!ems) return;
      const file = loopDelayFile(dir, mode);
      await loopDelay(ems.child, file);
      const row = seqRow(await sequential(ems.url, ids[0]!));
      const relayed = [...((await loopDelay(ems.child, file)).residence?.transaction.relayedMs ?? [])].sort((a, b) => a - b);
      alone.push([PATH_LABEL[mode], ...row, relayed.length ? percentile(relayed, 50) : '-', relayed.length ? percentile(relayed, 99) : '-']);
    };
    await bare('relay');
    await bare('relay-base');
    for (let round = 1; round <= ROUNDS; round++) {
      for (const load of LOADS) {
        // `startstop` measures the direct path beside each EMS path, in its window (the twins).
        if (load !== 'startstop') await run(round, load, 'direct', csmsUrl, undefined);
        // This checkout and the baseline take turns going first, round after round.
        const order = [...emss];
        if (round % 2 === 0) order.reverse();
        for (const [mode, ems] of order) await run(round, load, mode, ems.url, ems.child);
      }
    }
  } finally {
    for (const { child } of emss.values()) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    await csms.close();
    rmSync(dir, { recursive: true, force: true });
  }
  /** The relay's added p50/p99 per round (relay minus direct of the same round), and their medians. */
  const added = (load: 'meter' | 'sessions', mode: 'relay' | 'relay-base' = 'relay') => {
    const rounds = perRound[load].filter((r) => r[mode] && r.direct).map((r) => [r[mode]![0]! - r.direct![0]!, r[mode]![1]! - r.direct![1]!] as const);
    return { rounds, p50: median(rounds.map((r) => r[0])), p99: median(rounds.map((r) => r[1])) };
  };
  /** EMS CPU µs per answered message, per round and their median: relay minus plain is what the relay costs. */
  const cpuRounds = (load: 'meter' | 'sessions', path: string) => rows[load].filter((r) => r[1] === PATH_LABEL[path as keyof typeof PATH_LABEL]).map((r) => r[r.length - 5] as number);
  const cpuPerMessage = (load: 'meter' | 'sessions', path: string) => median(cpuRounds(load, path));
  const verdict = (ms: number) => `target: under 5 ms p99 — ${ms < 5 ? 'met' : 'NOT met'}`;
  const machine = `uptime load averages (1/5/15 min): ${uptimeAtStart} at the start, ${uptime()} at the end; machine load average: ${loadAtStart.toFixed(1)} at the start (${startedAt} UTC), ${loadavg()[0]!.toFixed(1)} at the end, on ${cpus().length} cores (the load column: at the start of each run${Number.isFinite(QUIET_LOAD) ? `, after waiting up to ${QUIET_WAIT_MS / 1000} s for it to fall below ${QUIET_LOAD}` : ''}); latency on a loaded machine is mostly waiting for a CPU, the CPU and loop-delay columns are the EMS's own share`;
  const emsColumns = ['EMS CPU % of one core', 'EMS CPU µs per answered message', 'EMS loop delay p50 ms', 'EMS loop delay p99 ms', 'CSMS loop delay p99 ms', 'chargers (bench process) loop delay p99 ms'];
  const addedNotes = (load: 'meter' | 'sessions') => {
    const a = added(load);
    const b = added(load, 'relay-base');
    const relayCpu = cpuPerMessage(load, 'relay') - cpuPerMessage(load, 'plain');
    const cpuAb = cpuRounds(load, 'relay').map((us, i) => [us, cpuRounds(load, 'relay-base')[i]] as const).filter(([, base]) => base !== undefined);
    const cpuNotes: string[] = [];
    if (Number.isFinite(relayCpu)) {
      cpuNotes.push(`EMS CPU per message (/proc user+system over the window ÷ answered messages, median of the rounds): plain ${cpuPerMessage(load, 'plain').toFixed(0)} µs, local controller ${cpuPerMessage(load, 'relay').toFixed(0)} µs: the relay's own cost ${relayCpu.toFixed(0)} µs a message, ${((relayCpu * CHARGERS) / (PERIOD_MS / 1000) / 1e4).toFixed(1)} % of one core at ${CHARGERS} messages a second`);
    } else cpuNotes.push(`EMS CPU per message (/proc user+system over the window ÷ answered messages, median of the rounds): local controller ${cpuPerMessage(load, 'relay').toFixed(0)} µs`);
    if (cpuAb.length) {
      cpuNotes.push(
        `EMS CPU µs per message, this checkout against the baseline in the same rounds (relay): ${cpuAb.map(([us, base]) => `${us.toFixed(0)} vs ${base!.toFixed(0)}`).join(', ')}; median ${median(cpuAb.map(([us]) => us)).toFixed(0)} vs ${median(cpuAb.map(([, base]) => base!)).toFixed(0)} µs, per round ratio median ${median(cpuAb.map(([us, base]) => us / base!)).toFixed(3)}`,
      );
    }
    return [
      `added by the relay (relay minus direct in the same round), per round p50/p99: ${a.rounds.map(([p50, p99]) => `${p50.toFixed(2)}/${p99.toFixed(2)}`).join(', ')} ms; median p50 ${a.p50.toFixed(2)} ms, p99 ${a.p99.toFixed(2)} ms (${verdict(a.p99)})`,
      ...(b.rounds.length
        ? [`baseline (${BASELINE}) in the same rounds, per round p50/p99: ${b.rounds.map(([p50, p99]) => `${p50.toFixed(2)}/${p99.toFixed(2)}`).join(', ')} ms; median p50 ${b.p50.toFixed(2)} ms, p99 ${b.p99.toFixed(2)} ms`]
        : []),
      ...cpuNotes,
    ];
  };
  /** The target per message class (sessions load): what the relay adds to MeterValues and to Start/Stop, per round and the median. */
  const classNotes = () =>
    (['relay', 'relay-base'] as const).flatMap((mode) => {
      const rounds = perClass.filter((r) => r[mode] && r.direct).map((r) => r[mode]!.map((v, i) => v - r.direct![i]!));
      if (!rounds.length) return [];
      const who = mode === 'relay' ? '' : `baseline (${BASELINE}): `;
      const line = (name: string, at: number) =>
        `${who}added by the relay to ${name} alone (sessions load), per round p50/p99: ${rounds.map((r) => `${r[at]!.toFixed(2)}/${r[at + 1]!.toFixed(2)}`).join(', ')} ms; median p50 ${median(rounds.map((r) => r[at]!)).toFixed(2)} ms, p99 ${median(rounds.map((r) => r[at + 1]!)).toFixed(2)} ms (${verdict(median(rounds.map((r) => r[at + 1]!)))})`;
      const mine = pooled[mode];
      const direct = pooled.direct;
      if (!mine || !direct) return [line('MeterValues', 0), line('Start/StopTransaction', 2)];
      const sorted = (list: number[]) => [...list].sort((a, b) => a - b);
      const pooledLine = (name: string, key: 'meterValuesMs' | 'transactionMs') => {
        const [m, d] = [sorted(mine[key]), sorted(direct[key])];
        const p99 = percentile(m, 99) - percentile(d, 99);
        return `${who}added by the relay to ${name}, the ${rounds.length} rounds pooled (${m.length} samples through the relay, ${d.length} direct): p50 ${(percentile(m, 50) - percentile(d, 50)).toFixed(2)} ms, p99 ${p99.toFixed(2)} ms (${verdict(p99)}); per round ${rounds.length ? Math.round(m.length / rounds.length) : 0} samples, so a round's p99 is its ${ordinal(m.length / rounds.length)}`;
      };
      return [line('MeterValues', 0), line('Start/StopTransaction', 2), pooledLine('MeterValues', 'meterValuesMs'), pooledLine('Start/StopTransaction', 'transactionMs')];
    });
  const tables = [];
  if (rows.meter.length) {
    tables.push({
      title: `Local controller: MeterValues round trip charger → CSMS → charger, ${CHARGERS} strict 1.6 chargers, one message per charger per ${PERIOD_MS / 1000} s, ${WINDOW_MS / 1000} s window per run, ${ROUNDS} rounds of the three paths in turn (ms)`,
      columns: ['round', 'path', 'load avg', 'set-up s', 'answered/sent', 'samples', 'p50 ms', 'p99 ms', 'max ms', ...emsColumns],
      rows: rows.meter,
      notes: [
        ...addedNotes('meter'),
        `the window starts once the EMS has finished setting up the chargers that just booted (no EMS call to any charger for ${SETTLE_QUIET_MS / 1000} s, at most ${SETTLE_MAX_MS / 1000} s: the set-up column)`,
        'the EMS runs as its own `ems run` process as each checkout\'s deploy/ems.service runs it (entry and V8 flags, bench/upstream-deploy.ts), the CSMS as its own process (bench/upstream-csms.mjs), the chargers in the bench process',
        machine,
      ],
    });
  }
  if (rows.sessions.length) {
    tables.push({
      title: `Local controller: sessions, ${CHARGERS} strict 1.6 chargers each charging ${SESSION_MS / 1000} s sessions one after another (StartTransaction, MeterValues every ${PERIOD_MS / 1000} s, StopTransaction: ${(CHARGERS / (SESSION_MS / 1000)).toFixed(0)} starts and as many stops a second, each a durable write in the EMS), ${WINDOW_MS / 1000} s window per run, ${ROUNDS} rounds (ms)`,
      columns: ['round', 'path', 'load avg', 'set-up s', 'answered/sent', 'samples', 'p50 ms', 'p99 ms', 'max ms', 'Start/Stop', 'p50 ms', 'p99 ms', ...emsColumns],
      rows: rows.sessions,
      notes: [...addedNotes('sessions'), ...classNotes(), machine],
    });
  }
  /** Residence inside the EMS, the rounds pooled, per path and class: what forwarding adds, measured where it happens. */
  const residenceNotes = (load: LoadName) =>
    allModes.flatMap((mode) => {
      const pool = pooledIn[`${load} ${mode}`];
      if (!pool?.residence.length) return [];
      const who = mode.endsWith('-base') ? `baseline (${BASELINE}) ` : '';
      const merged = (cls: keyof Residence, key: keyof ClassResidence) => pool.residence.flatMap((r) => r[cls]?.[key] ?? []).sort((a, b) => a - b);
      const lines: string[] = [];
      for (const [cls, name] of [
        ['transaction', 'Start/StopTransaction'],
        ['meterValues', 'MeterValues'],
      ] as const) {
        const relayed = merged(cls, 'relayedMs');
        const local = merged(cls, 'localMs');
        if (relayed.length) {
          const [up, down] = [merged(cls, 'upMs'), merged(cls, 'downMs')];
          lines.push(
            `${who}${PATH_LABEL[mode]}: ${name}'s residence in the EMS (charger frame read → upstream frame written, plus CSMS answer read → charger answer written; probe in the EMS, the rounds pooled, ${relayed.length} messages): p50 ${percentile(relayed, 50).toFixed(3)} ms, p99 ${percentile(relayed, 99).toFixed(3)} ms (${verdict(percentile(relayed, 99))}), p99.9 ${percentile(relayed, 99.9).toFixed(3)}, max ${percentile(relayed, 100).toFixed(3)}; upward p50/p99 ${percentile(up, 50).toFixed(3)}/${percentile(up, 99).toFixed(3)} ms, answer p50/p99 ${percentile(down, 50).toFixed(3)}/${percentile(down, 99).toFixed(3)} ms`,
          );
        }
        if (local.length) lines.push(`${who}${PATH_LABEL[mode]}: ${name} answered by the EMS itself, frame read → answer written (${local.length} messages): p50 ${percentile(local, 50).toFixed(3)} ms, p99 ${percentile(local, 99).toFixed(3)} ms`);
      }
      const gc = [...pool.gcMs].sort((a, b) => a - b);
      if (gc.length) lines.push(`${who}${PATH_LABEL[mode]}: GC pauses in the windows: ${gc.length} (${(gc.length / Math.max(pool.windowS, 1e-9)).toFixed(1)} a second when the window is known), p50 ${percentile(gc, 50).toFixed(2)} ms, p99 ${percentile(gc, 99).toFixed(2)} ms, max ${percentile(gc, 100).toFixed(2)} ms`);
      return lines;
    });
  if (rows.startstop.length) {
    const sorted = (list: number[]) => [...list].sort((a, b) => a - b);
    const pairedNotes = allModes.flatMap((mode) => {
      const pool = pooledIn[`startstop ${mode}`];
      if (!pool?.twinTx.length) return [];
      const who = mode.endsWith('-base') ? `baseline (${BASELINE}) ` : '';
      const line = (name: string, mine: number[], twins: number[]) => {
        const [m, d] = [sorted(mine), sorted(twins)];
        const p99 = percentile(m, 99) - percentile(d, 99);
        return `${who}${PATH_LABEL[mode]}: added to ${name} against the direct twins in the same windows, the rounds pooled (${m.length} through the EMS, ${d.length} direct): p50 ${(percentile(m, 50) - percentile(d, 50)).toFixed(2)} ms, p99 ${p99.toFixed(2)} ms (${verdict(p99)}); p99 through the EMS ${percentile(m, 99).toFixed(2)}, direct ${percentile(d, 99).toFixed(2)} ms`;
      };
      return [line('Start/StopTransaction', pool.tx, pool.twinTx), line('MeterValues', pool.mv, pool.twinMv)];
    });
    tables.push({
      title: `Local controller: Start/Stop, ${CHARGERS} strict 1.6 chargers through the EMS charging ${STARTSTOP_SESSION_MS / 1000} s sessions one after another (one message a second each: ~${((CHARGERS * 2) / (STARTSTOP_SESSION_MS / 1000 + 1)).toFixed(0)} Start/Stop a second) and ${twinIds.length} direct twins on the same schedule to the same CSMS in the same window; a run ends at ${TX_SAMPLES} Start/Stop samples through the EMS (at most ${MAX_WINDOW_MS / 1000} s); ${ROUNDS} rounds (ms)`,
      columns: ['round', 'path', 'load avg', 'window s', 'Start/Stop via EMS', 'p50 ms', 'p99 ms', 'twins direct', 'p50 ms', 'p99 ms', 'added p99 ms (paired)', 'EMS residence p50 ms', 'residence p99 ms', 'upward p99 ms', 'answer p99 ms', 'GC pauses', 'GC p99 ms', 'EMS CPU µs per answered message', 'EMS loop delay p99 ms'],
      rows: rows.startstop,
      notes: [
        ...pairedNotes,
        ...residenceNotes('startstop'),
        'residence: measured inside the EMS (bench/loop-delay-probe.mjs on the wire-timing channels, src/wire-timing.ts): from the charger frame read to the upstream frame written, plus from the CSMS answer read to the charger answer written; a frame waiting in the kernel while the EMS\'s loop is busy is not in it (that is the loop delay column); a checkout without the channels shows "-"',
        machine,
      ],
    });
  }
  for (const table of tables) if (/^Local controller: (MeterValues|sessions)/.test(table.title)) table.notes.push(...residenceNotes(table.title.startsWith('Local controller: MeterValues') ? 'meter' : 'sessions'));
  tables.push(
    {
      title: 'Local controller: the bare forwarding path, one charger, one message at a time (300 MeterValues, then 30 StartTransaction + StopTransaction pairs; ms)',
      columns: ['path', 'MeterValues', 'p50 ms', 'p99 ms', 'Start/Stop', 'p50 ms', 'p99 ms', 'Start/Stop EMS residence p50 ms', 'p99 ms'],
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
      title: `Local controller: EMS process memory, ${CHARGERS} chargers connected and sending (RSS, round 1)`,
      columns: ['mode', 'RSS MB idle', 'RSS MB with chargers', 'KB per charger'],
      rows: memory,
    },
  );
  return tables;
};

export default bench;
