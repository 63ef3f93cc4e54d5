// 10,000 generated bad inputs across every outside input (see input-fuzz.ts): 0 crashes, 0
// unhandled rejections, bounded memory. `npm run bench -- input-fuzz` runs 100,000.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMemorySignalStore, createSignalTimeline, type SignalTimelineService } from '../../src/signals/index.ts';
import { createApiFixture, type ApiFixture } from '../api/api-fixture.ts';
import { CI_COUNTS, fuzzAll, type ApiUnderTest } from './input-fuzz.ts';

let fixture: ApiFixture;
let timeline: SignalTimelineService;
let api: ApiUnderTest;

beforeAll(async () => {
  fixture = await createApiFixture({
    deps: {
      signals: {
        list: () => timeline.list(),
        optOut: (id, actor) => timeline.optOut(id, actor),
        optIn: (id, actor) => timeline.optIn(id, actor),
        addLimit: (input, actor) => timeline.addLimit(input, actor),
        end: (id, actor) => timeline.end(id, actor),
      },
    },
  });
  timeline = createSignalTimeline(fixture.ctx, createMemorySignalStore());
  await timeline.start();
  const token = await fixture.userToken('operator');
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  api = {
    post: async (url, body) => (await fixture.inject({ method: 'POST', url, headers, payload: body })).statusCode,
    get: async (url) => (await fixture.inject({ method: 'GET', url, headers })).statusCode,
  };
});
afterAll(async () => {
  await timeline?.stop();
  await fixture?.close();
});

it('survives 10,000 generated inputs: no crash, no unhandled rejection, bounded memory', async () => {
  const seed = Number(process.env.FUZZ_SEED ?? 20261206);
  const { results, unhandledRejections, heapGrowthMB } = await fuzzAll(CI_COUNTS, seed, api);
  const total = results.reduce((n, r) => n + r.inputs, 0);
  expect(total).toBe(10_000);
  expect(results.flatMap((r) => r.crashes), `seed ${seed}`).toEqual([]);
  expect(unhandledRejections).toBe(0);
  // Every target refuses some of its input (the generators reach the error paths).
  for (const r of results) expect(r.refused, r.target).toBeGreaterThan(0);
  expect(heapGrowthMB).toBeLessThan(100);
}, 300_000);
