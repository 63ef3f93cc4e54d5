// 100,000 hostile OCPP frames (replaced connections, oversize, deep, invalid UTF-8, mutated JSON,
// ill-formed idTags) against a real `ems run` process: it must never exit and its memory must stay bounded.
import { readFileSync } from 'node:fs';
import { fuzzOcpp } from '../test/ocpp/ocpp-fuzz.ts';
import { startEms } from '../test/helpers/ems-process.ts';
import type { Bench } from './types.ts';

const FRAMES = Number(process.env.BENCH_FUZZ_FRAMES ?? 100_000);

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

const bench: Bench = async () => {
  const ems = await startEms({
    site: { name: 'Fuzz site', voltage: 230, timezone: 'Europe/Berlin' },
    grid: { maxCurrent: 63 },
    chargers: [
      { id: 'CP1', connectors: 2 },
      { id: 'CP2', connectors: 1, password: 'charger-password-2' },
      { id: 'PROBE', connectors: 1 },
    ],
  });
  const pid = ems.child.pid!;
  const samples: number[] = [];
  const started = performance.now();
  try {
    const report = await fuzzOcpp({
      port: ems.ocppPort,
      frames: FRAMES,
      seed: 2026,
      targets: [{ id: 'CP1' }, { id: 'CP2', password: 'charger-password-2' }],
      probeId: 'PROBE',
      batch: 500,
      onBatch: () => {
        if (ems.alive()) samples.push(rssMb(pid));
      },
    });
    const seconds = (performance.now() - started) / 1000;
    const alive = ems.alive();
    const health = alive ? (await fetch(`http://127.0.0.1:${ems.httpPort}/healthz`)).status : 0;
    const firstTenth = samples.slice(0, Math.max(1, Math.floor(samples.length / 10)));
    const lastTenth = samples.slice(-Math.max(1, Math.floor(samples.length / 10)));
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const crashes = alive ? 0 : 1;
    return [
      {
        title: `OCPP fuzz: ${FRAMES.toLocaleString('en')} hostile actions against ems run`,
        columns: ['frames sent', 'connections opened', 'refused', 'probe answers', 'crashes', 'healthz', 'RSS first 10 % (MB)', 'RSS last 10 % (MB)', 'RSS max (MB)', 'seconds'],
        rows: [[report.sent, report.connectionsOpened, report.connectionsRefused, report.probesAnswered, crashes, health, avg(firstTenth), avg(lastTenth), Math.max(...samples), seconds]],
        notes: [
          `target: 0 crashes, every probe answered, memory bounded (last 10 % of samples within 1.5x of the first 10 %) — ${crashes === 0 && avg(lastTenth) < 1.5 * avg(firstTenth) ? 'met' : 'NOT met'}`,
          'mix: 4 % connection (re)opens (CP2 with a wrong password 20 % of the time), 2 % invalid UTF-8, 1 % oversize (64 MiB announced), 3 % nested 33..20,000 deep, 40 % schema-fuzzed CALLs, 40 % mutated or truncated JSON, 10 % random text; a probe Heartbeat after every 500',
        ],
      },
    ];
  } finally {
    ems.kill('SIGTERM');
    await ems.exited;
  }
};

export default bench;
