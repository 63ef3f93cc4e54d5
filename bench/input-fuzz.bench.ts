// npm run bench -- input-fuzz: 100,000 generated bad inputs across every outside input (MQTT
// payloads, Modbus answers, OpenADR 2.0b XML and 3.1 JSON, API bodies, config files), against the
// real parsers and the real HTTP routes. Target: 0 crashes, 0 unhandled rejections, bounded memory.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createMemorySignalStore, createSignalTimeline } from '../src/signals/index.ts';
import { createApiFixture } from '../test/api/api-fixture.ts';
import { CI_COUNTS, fuzzAll, type FuzzTarget } from '../test/fuzz/input-fuzz.ts';
import type { Bench } from './types.ts';

const SCALE = 10;
const SEED = 77_000;

const bench: Bench = async () => {
  setFlagsFromString('--expose-gc');
  (globalThis as { gc?: () => void }).gc = runInNewContext('gc') as () => void;
  // The real routes, wired to a real timeline on the fixture's context (late-bound, as the app does).
  let timeline!: ReturnType<typeof createSignalTimeline>;
  const fixtureWithSignals = await createApiFixture({
    deps: { signals: { list: () => timeline.list(), optOut: (i, a) => timeline.optOut(i, a), optIn: (i, a) => timeline.optIn(i, a), addLimit: (x, a) => timeline.addLimit(x, a), end: (i, a) => timeline.end(i, a) } },
  });
  timeline = createSignalTimeline(fixtureWithSignals.ctx, createMemorySignalStore());
  await timeline.start();
  const token = await fixtureWithSignals.userToken('operator');
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const api = {
    post: async (url: string, body: string) => (await fixtureWithSignals.inject({ method: 'POST', url, headers, payload: body })).statusCode,
    get: async (url: string) => (await fixtureWithSignals.inject({ method: 'GET', url, headers })).statusCode,
  };
  const counts = Object.fromEntries(Object.entries(CI_COUNTS).map(([k, v]) => [k, v * SCALE])) as Record<FuzzTarget, number>;
  const { results, unhandledRejections, heapGrowthMB } = await fuzzAll(counts, SEED, api);
  await timeline.stop();
  await fixtureWithSignals.close();
  const total = results.reduce((n, r) => n + r.inputs, 0);
  const crashes = results.reduce((n, r) => n + r.crashCount, 0);
  const rss = process.memoryUsage().rss / 1024 / 1024;
  return [
    {
      title: `Input fuzzing: ${total.toLocaleString('en')} generated inputs (seed ${SEED})`,
      columns: ['input', 'inputs', 'refused as bad input', 'crashes', 'inputs/s'],
      rows: [
        ...results.map((r) => [r.target, r.inputs, r.refused, r.crashCount, Math.round(r.inputs / (r.ms / 1000))]),
        ['all', total, results.reduce((n, r) => n + r.refused, 0), crashes, Math.round(total / (results.reduce((n, r) => n + r.ms, 0) / 1000))],
      ],
      notes: [
        `unhandled rejections: ${unhandledRejections}; heap growth after GC: ${heapGrowthMB.toFixed(1)} MB; RSS at the end: ${rss.toFixed(0)} MB`,
        `mqtt-payload: each input is a device payload (4 JSON paths in turn) and a producer's signal set, so "refused" counts both`,
        `a crash is an exception other than the parser's own bad-input error, an HTTP answer >= 500, or a grid signal the one constructor would refuse getting through`,
        `target: 0 crashes, 0 unhandled rejections, heap growth < 100 MB — ${crashes === 0 && unhandledRejections === 0 && heapGrowthMB < 100 ? 'met' : 'NOT met'}`,
        ...results.flatMap((r) => r.crashes.slice(0, 3).map((c) => `crash (${c.target}): ${c.error} — input ${JSON.stringify(c.input)}`)),
      ],
    },
  ];
};

export default bench;
