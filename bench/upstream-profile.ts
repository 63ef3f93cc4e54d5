// Where the relay's tail comes from, A/B between checkouts, on a loaded machine: per run, an
// `ems run` of the checkout in local-controller mode (as its deploy/ems.service runs it: entry and V8 flags, bench/upstream-deploy.ts; `--cpu-prof` at 250 µs,
// bench/upstream-profile-probe.mjs), the bench CSMS in its own process and 200 strict 1.6 chargers
// in this one charging sessions (the upstream bench's sessions load). Over the window it reports
// what does not depend on the load: the EMS's CPU and allocation per answered message, GC pauses,
// and from the profile the main thread's busy stretches (each sample weighed at most 500 µs, so a
// stretch is CPU, not time the process waited for a core): the share of the window inside
// stretches over 5 ms (a message that arrives meets one), the longest, what they are made of, and
// the control cycle's loop turns. Round trips are printed too but mean little under load.
//   node --import tsx bench/upstream-profile.ts <checkout> [<checkout> ...]
//   env: PROFILE_ROUNDS (2), PROFILE_WINDOW_MS (20000), PROFILE_CHARGERS (200), PROFILE_KEEP (dir),
//   PROFILE_HEAP=1 (also where the allocation comes from: a sampling heap profile, garbage included),
//   PROFILE_NODE_ARGS (more node flags for the EMS); a checkout written `path::--flag …` gets those
//   flags too (after the deploy ones, so they win), to set a V8 setting against the same checkout
// Checkouts take turns going first, round after round. Loopback only.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ocppRpc from 'ocpp-rpc';
import { stringify } from 'yaml';
import { freePort } from '../test/helpers/ems-process.ts';
import { waitForOcppPort } from './ocpp-port.ts';
import { deployedEms } from './upstream-deploy.ts';

const { RPCClient } = ocppRpc as unknown as { RPCClient: new (options: Record<string, unknown>) => any };
const CHARGERS = Number(process.env.PROFILE_CHARGERS ?? 200);
const WINDOW_MS = Number(process.env.PROFILE_WINDOW_MS ?? 20_000);
const ROUNDS = Number(process.env.PROFILE_ROUNDS ?? 2);
const SESSION_MS = 60_000;
const PROBE = fileURLToPath(new URL('./upstream-profile-probe.mjs', import.meta.url));
const CSMS = fileURLToPath(new URL('./upstream-csms.mjs', import.meta.url));
/** A sample stands for at most this much CPU (µs): the rest of a longer gap is the process waiting for a core. */
const SAMPLE_CAP_US = 500;
const STRETCH_MS = 5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startCsms(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CSMS, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('listening') && resolve());
    child.once('exit', (code) => reject(new Error(`the bench CSMS exited (${code})`)));
  });
  return child;
}

let lastEmsCallAtMs = 0;

/** The EMS's control decisions so far (its /metrics counter). */
async function decisions(httpPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  return Number(/^ems_control_decisions_total (\S+)/m.exec(text)?.[1] ?? NaN);
}

async function startEms(spec: string, dir: string, ids: string[], ocppPort: number, csmsUrl: string, httpPort: number): Promise<ChildProcess> {
  const [root, flags] = spec.split('::') as [string, string | undefined];
  const configPath = join(dir, 'site.yaml');
  writeFileSync(
    configPath,
    stringify({
      site: { name: 'Relay profile' },
      grid: { maxCurrent: 4000 },
      chargers: ids.map((id) => ({ id })),
      idTags: [{ idTag: 'BENCH', tier: 'staff' }],
      ocpp: { host: '127.0.0.1', port: ocppPort },
      http: { host: '127.0.0.1', port: httpPort },
      storage: { path: join(dir, 'ems.sqlite') },
      upstream: { url: csmsUrl },
    }),
  );
  const extra = [...(process.env.PROFILE_NODE_ARGS?.split(' ') ?? []), ...(flags?.split(' ') ?? [])].filter(Boolean);
  const deployed = deployedEms(root);
  const args = [...deployed.nodeArgs, ...extra, '--cpu-prof', '--cpu-prof-interval', '250', '--cpu-prof-dir', dir, '--import', PROBE, deployed.entry, 'run', '--config', configPath];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: {
      ...process.env,
      EMS_LOG_LEVEL: 'warn',
      EMS_ADMIN_PASSWORD: 'bench-password-1',
      EMS_PROFILE_WINDOW_FILE: join(dir, 'window.json'),
      ...(process.env.PROFILE_HEAP ? { EMS_PROFILE_HEAP_FILE: join(dir, 'heap.json') } : {}),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitForOcppPort(ocppPort, 120_000);
  return child;
}

const meterValues = (transactionId?: number) => ({
  connectorId: 1,
  ...(transactionId === undefined ? {} : { transactionId }),
  meterValue: [
    {
      timestamp: new Date().toISOString(),
      sampledValue: [...[1, 2, 3].map((p) => ({ value: '10.0', measurand: 'Current.Import', phase: `L${p}`, unit: 'A' })), { value: '6900', measurand: 'Power.Active.Import', unit: 'W' }],
    },
  ],
});

interface Load {
  answered: number;
  meterMs: number[];
  transactionMs: number[];
}

/** The upstream bench's sessions load: each charger one message a second, 60 s sessions one after another. */
async function sessions(url: string, ids: string[], window: { start(): Promise<void>; end(): Promise<void> }): Promise<Load> {
  const clients: any[] = [];
  for (let i = 0; i < ids.length; i += 50) {
    await Promise.all(
      ids.slice(i, i + 50).map(async (id) => {
        const client = new RPCClient({ endpoint: url, identity: id, protocols: ['ocpp1.6'], strictMode: true, reconnect: false, callTimeoutMs: 60_000 });
        client.handle(({ method }: { method: string }) => {
          lastEmsCallAtMs = performance.now();
          return method === 'GetConfiguration' ? { configurationKey: [], unknownKey: [] } : { status: 'Accepted' };
        });
        await client.connect();
        await client.call('BootNotification', { chargePointVendor: 'Bench', chargePointModel: 'Relay' });
        clients.push(client);
      }),
    );
  }
  const settleFrom = performance.now();
  while (performance.now() - lastEmsCallAtMs < 2_000 && performance.now() - settleFrom < 90_000) await sleep(200);
  const load: Load = { answered: 0, meterMs: [], transactionMs: [] };
  let recording = false;
  const timers: NodeJS.Timeout[] = [];
  for (const client of clients) {
    let busy = false;
    let transactionId: number | undefined;
    let sessionStartedAt = 0;
    let firstSessionAgeMs = Math.random() * SESSION_MS;
    let meterWh = 0;
    const send = () => {
      if (busy) return;
      busy = true;
      meterWh += 20;
      let action = 'MeterValues';
      let params: unknown = meterValues(transactionId);
      if (transactionId === undefined) [action, params] = ['StartTransaction', { connectorId: 1, idTag: 'BENCH', meterStart: meterWh, timestamp: new Date().toISOString() }];
      else if (performance.now() - sessionStartedAt >= SESSION_MS) [action, params] = ['StopTransaction', { transactionId, meterStop: meterWh, timestamp: new Date().toISOString() }];
      const t = performance.now();
      void client.call(action, params).then(
        (conf: any) => {
          busy = false;
          if (recording) {
            load.answered++;
            (action === 'MeterValues' ? load.meterMs : load.transactionMs).push(performance.now() - t);
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
    timers.push(setTimeout(() => timers.push(setInterval(send, 1_000)), Math.random() * 1_000));
  }
  await sleep(3_000);
  await window.start();
  recording = true;
  await sleep(WINDOW_MS);
  recording = false;
  await window.end();
  for (const timer of timers) clearTimeout(timer);
  await Promise.all(clients.map((c) => c.close({ force: true })));
  return load;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

type Category = 'GC' | 'control cycle' | 'src/upstream' | 'src/ocpp' | 'ocpp-rpc' | 'ws' | 'storage' | 'other';

function categoryOf(stack: ProfileNode[]): Category {
  const top = stack[0]!.callFrame.functionName;
  if (top === '(garbage collector)') return 'GC';
  const urls = stack.map((n) => n.callFrame.url);
  if (urls.some((u) => /\/src\/control\/control-loop\.(ts|js)$/.test(u))) return 'control cycle';
  if (urls.some((u) => u.includes('/src/upstream/'))) return 'src/upstream';
  if (urls.some((u) => u.includes('/src/ocpp/'))) return 'src/ocpp';
  if (urls.some((u) => u.includes('/src/storage/'))) return 'storage';
  if (urls.some((u) => u.includes('node_modules/ocpp-rpc'))) return 'ocpp-rpc';
  if (urls.some((u) => u.includes('node_modules/ws/'))) return 'ws';
  return 'other';
}

interface ProfileSummary {
  busyPct: number;
  inLongStretchPct: number;
  stretchesOver5: number;
  stretchesOver10: number;
  longestMs: number[];
  byCategory: Record<string, number>;
  /** Loop turns with the control cycle in them: CPU ms each. */
  cycleTurnsMs: number[];
  topFunctionsInStretches: [string, number][];
}

function analyse(profilePath: string, startUs: number, endUs: number): ProfileSummary {
  const profile = JSON.parse(readFileSync(profilePath, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stackCache = new Map<number, ProfileNode[]>();
  const stackOf = (id: number) => {
    let stack = stackCache.get(id);
    if (!stack) {
      stack = [];
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) stack.push(byId.get(at)!);
      stackCache.set(id, stack);
    }
    return stack;
  };
  const times: number[] = [];
  let t = profile.startTime;
  for (const d of profile.timeDeltas) times.push((t += d));
  let busyUs = 0;
  const stretches: { us: number; samples: number[] }[] = [];
  let current: { us: number; samples: number[] } | undefined;
  for (let i = 0; i < profile.samples.length - 1; i++) {
    if (times[i]! < startUs || times[i]! > endUs) continue;
    const node = byId.get(profile.samples[i]!)!;
    const weight = Math.min(times[i + 1]! - times[i]!, SAMPLE_CAP_US);
    if (node.callFrame.functionName === '(idle)') {
      if (current) stretches.push(current);
      current = undefined;
      continue;
    }
    busyUs += weight;
    current ??= { us: 0, samples: [] };
    current.us += weight;
    current.samples.push(i);
  }
  if (current) stretches.push(current);
  const windowUs = endUs - startUs;
  const long = stretches.filter((s) => s.us > STRETCH_MS * 1000);
  const byCategory: Record<string, number> = {};
  const byFunction = new Map<string, number>();
  let longUs = 0;
  for (const s of long) {
    longUs += s.us;
    for (const i of s.samples) {
      const weight = Math.min(times[i + 1]! - times[i]!, SAMPLE_CAP_US);
      const stack = stackOf(profile.samples[i]!);
      const category = categoryOf(stack);
      byCategory[category] = (byCategory[category] ?? 0) + weight;
      const top = stack[0]!.callFrame;
      const name = `${top.functionName || '(anonymous)'} ${top.url.replace(/^.*\/(src|optimizer|node_modules)\//, '$1/')}:${top.lineNumber + 1}`;
      byFunction.set(name, (byFunction.get(name) ?? 0) + weight);
    }
  }
  for (const k of Object.keys(byCategory)) byCategory[k] = Math.round((byCategory[k]! / longUs) * 1000) / 10;
  // The control cycle's runs on the loop: consecutive samples inside control-loop.ts (GC and
  // (program) samples between them count in; anything else, idle included, ends a run). A cycle in
  // one turn is one run; in three turns, a run per stage unless nothing else was waiting between.
  const cycleTurnsMs: number[] = [];
  let run = 0;
  let pendingGc = 0;
  for (let i = 0; i < profile.samples.length - 1; i++) {
    if (times[i]! < startUs || times[i]! > endUs) continue;
    const stack = stackOf(profile.samples[i]!);
    const weight = Math.min(times[i + 1]! - times[i]!, SAMPLE_CAP_US);
    const top = stack[0]!.callFrame.functionName;
    if (stack.some((n) => /\/src\/control\/control-loop\.(ts|js)$/.test(n.callFrame.url))) {
      run += pendingGc + weight;
      pendingGc = 0;
    } else if (run > 0 && (top === '(garbage collector)' || top === '(program)')) pendingGc += weight;
    else {
      if (run > 0) cycleTurnsMs.push(run / 1000);
      run = 0;
      pendingGc = 0;
    }
  }
  cycleTurnsMs.sort((a, b) => a - b);
  return {
    busyPct: (busyUs / windowUs) * 100,
    inLongStretchPct: (longUs / windowUs) * 100,
    stretchesOver5: long.length,
    stretchesOver10: stretches.filter((s) => s.us > 10_000).length,
    longestMs: stretches
      .map((s) => s.us / 1000)
      .sort((a, b) => b - a)
      .slice(0, 5),
    byCategory,
    cycleTurnsMs,
    topFunctionsInStretches: [...byFunction]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([name, us]) => [name, Math.round((us / longUs) * 1000) / 10]),
  };
}

interface HeapNode {
  callFrame: ProfileNode['callFrame'];
  selfSize: number;
  children: HeapNode[];
}

/** A sampling heap profile (garbage included): the share of the bytes per category and the functions that allocate most. */
function allocationSources(file: string): { byCategory: Record<string, number>; top: [string, number][] } {
  const head = (JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode }).head;
  const byCategory: Record<string, number> = {};
  const byFunction = new Map<string, number>();
  let total = 0;
  const walk = (node: HeapNode, stack: ProfileNode[]) => {
    const here = [{ id: 0, callFrame: node.callFrame }, ...stack];
    if (node.selfSize > 0) {
      total += node.selfSize;
      const category = categoryOf(here);
      byCategory[category] = (byCategory[category] ?? 0) + node.selfSize;
      const f = node.callFrame;
      const name = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(src|optimizer|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;
      byFunction.set(name, (byFunction.get(name) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child, here);
  };
  walk(head, []);
  for (const k of Object.keys(byCategory)) byCategory[k] = Math.round((byCategory[k]! / total) * 1000) / 10;
  const top = [...byFunction]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([name, bytes]) => [name, Math.round((bytes / total) * 1000) / 10] as [string, number]);
  return { byCategory, top };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function one(root: string, csmsUrl: string, ids: string[]): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'ems-profile-'));
  const ocppPort = await freePort();
  const httpPort = await freePort();
  const ems = await startEms(root, dir, ids, ocppPort, csmsUrl, httpPort);
  let cycles = 0;
  const windowFile = join(dir, 'window.json');
  const loadAtStart = loadavg()[0]!;
  const load = await sessions(`ws://127.0.0.1:${ocppPort}/ocpp`, ids, {
    async start() {
      cycles = -(await decisions(httpPort));
      ems.kill('SIGUSR2');
    },
    async end() {
      ems.kill('SIGUSR2');
      cycles += await decisions(httpPort);
      const wanted = process.env.PROFILE_HEAP ? ['window.json', 'heap.json'] : ['window.json'];
      for (let i = 0; i < 100 && !wanted.every((f) => readdirSync(dir).includes(f)); i++) await sleep(100);
    },
  });
  const window = JSON.parse(readFileSync(windowFile, 'utf8')) as { startUs: number; endUs: number; cpuUs: number; allocatedBytes: number; pauses: { type: number; ms: number }[] };
  const rssMb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${ems.pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
  ems.kill('SIGTERM');
  await new Promise((r) => ems.once('exit', r));
  const profileFile = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  const summary = profileFile ? analyse(join(dir, profileFile), window.startUs, window.endUs) : undefined;
  const heap = process.env.PROFILE_HEAP ? allocationSources(join(dir, 'heap.json')) : undefined;
  if (process.env.PROFILE_KEEP && profileFile) cpSync(join(dir, profileFile), join(process.env.PROFILE_KEEP, `${root.replace(/\W+/g, '_')}-${Date.now()}.cpuprofile`));
  rmSync(dir, { recursive: true, force: true });
  const pauses = window.pauses.map((p) => p.ms).sort((a, b) => a - b);
  const meter = load.meterMs.sort((a, b) => a - b);
  const tx = load.transactionMs.sort((a, b) => a - b);
  const seconds = (window.endUs - window.startUs) / 1e6;
  return {
    load: `${loadAtStart.toFixed(1)}-${loadavg()[0]!.toFixed(1)}`,
    answered: load.answered,
    cpuUsPerMessage: Math.round(window.cpuUs / load.answered),
    allocKBPerMessage: Math.round(window.allocatedBytes / load.answered / 102.4) / 10,
    allocMBPerS: Math.round(window.allocatedBytes / seconds / 1e5) / 10,
    rssMbAtEnd: Math.round(rssMb),
    cyclesPerS: Math.round((cycles / seconds) * 100) / 100,
    gcPerS: Math.round((pauses.length / seconds) * 10) / 10,
    gcPauseMs: { p50: pct(pauses, 50), p90: pct(pauses, 90), max: pauses[pauses.length - 1] },
    ...(summary
      ? {
          busyPct: Math.round(summary.busyPct * 10) / 10,
          inStretchOver5msPct: Math.round(summary.inLongStretchPct * 100) / 100,
          stretchesOver5ms: summary.stretchesOver5,
          stretchesOver10ms: summary.stretchesOver10,
          longestStretchesMs: summary.longestMs.map((v) => Math.round(v * 10) / 10),
          stretchOver5msMadeOfPct: summary.byCategory,
          cycleTurns: summary.cycleTurnsMs.length,
          cycleTurnMs: { p50: pct(summary.cycleTurnsMs, 50), p90: pct(summary.cycleTurnsMs, 90), max: summary.cycleTurnsMs[summary.cycleTurnsMs.length - 1] },
          topInStretchesPct: summary.topFunctionsInStretches,
        }
      : {}),
    ...(heap ? { allocationByCategoryPct: heap.byCategory, topAllocatorsPct: heap.top } : {}),
    roundTripMs: { meterP50: pct(meter, 50), meterP99: pct(meter, 99), txP50: pct(tx, 50), txP99: pct(tx, 99) },
  };
}

const roots = process.argv.slice(2);
if (!roots.length) {
  process.stderr.write('usage: node --import tsx bench/upstream-profile.ts <checkout> [<checkout> ...]\n');
  process.exit(2);
}
const ids = Array.from({ length: CHARGERS }, (_, i) => `CP${String(i + 1).padStart(4, '0')}`);
const csmsPort = await freePort();
const csms = await startCsms(csmsPort);
const csmsUrl = `ws://127.0.0.1:${csmsPort}/cloud`;
try {
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 ? roots : [...roots].reverse();
    for (const root of order) {
      const result = await one(root, csmsUrl, ids);
      const round2 = (v: unknown): unknown =>
        typeof v === 'number' ? Math.round(v * 100) / 100 : Array.isArray(v) ? v.map(round2) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, round2(x)])) : v;
      process.stdout.write(`round ${round} ${root}: ${JSON.stringify(round2(result))}\n`);
    }
  }
} finally {
  csms.kill('SIGTERM');
}
