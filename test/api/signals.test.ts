import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemorySignalStore, createSignalTimeline, type SignalTimelineService } from '../../src/signals/index.ts';
import { ADMIN_PASSWORD, T0, createApiFixture, type ApiFixture } from './api-fixture.ts';

let api: ApiFixture;
let timeline: SignalTimelineService;

beforeEach(async () => {
  // The timeline needs the fixture's context; the API reaches it through a late-bound adapter.
  api = await createApiFixture({
    deps: { signals: { list: () => timeline.list(), optOut: (id, actor) => timeline.optOut(id, actor), optIn: (id, actor) => timeline.optIn(id, actor) } },
  });
  timeline = createSignalTimeline(api.ctx, createMemorySignalStore());
  await timeline.start();
  timeline.submit('utility', [
    { id: 'e1-limit', source: 'utility', kind: 'import-limit', startMs: T0 - 60_000, endMs: T0 + 3_600_000, value: 20_000, eventId: 'e1' },
  ]);
});
afterEach(async () => {
  await timeline.stop();
  await api.close();
});

describe('grid signals', () => {
  it('lists the timeline and lets an operator opt out of an event, recorded in the audit log', async () => {
    const operator = await api.userToken('operator');
    const headers = { authorization: `Bearer ${operator}` };
    const before = (await api.inject({ method: 'GET', url: '/api/v1/signals', headers })).json();
    expect(before).toEqual([expect.objectContaining({ eventId: 'e1', opt: 'in', active: true, value: 20_000 })]);
    const out = await api.inject({ method: 'POST', url: '/api/v1/signals/e1/opt-out', headers });
    expect(out.statusCode).toBe(200);
    expect((await api.inject({ method: 'GET', url: '/api/v1/signals', headers })).json()[0].opt).toBe('out');
    expect(api.ctx.state.signals).toEqual([]);
    expect(api.store.audit.list({ action: 'signal.opt-out' })).toEqual([expect.objectContaining({ target: 'e1', actor: 'operator1' })]);
  });

  it('answers 404 for an unknown event, 403 for a viewer and 401 without a login', async () => {
    const admin = (await api.login('admin', ADMIN_PASSWORD)).token;
    const viewer = await api.userToken('viewer');
    expect((await api.inject({ method: 'POST', url: '/api/v1/signals/nope/opt-out', headers: { authorization: `Bearer ${admin}` } })).statusCode).toBe(404);
    expect((await api.inject({ method: 'POST', url: '/api/v1/signals/e1/opt-out', headers: { authorization: `Bearer ${viewer}` } })).statusCode).toBe(403);
    expect((await api.inject({ method: 'POST', url: '/api/v1/signals/e1/opt-in' })).statusCode).toBe(401);
  });
});
