import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Decision } from '../../optimizer/types.ts';
import { ADMIN_PASSWORD, T0, createApiFixture, type ApiFixture } from './api-fixture.ts';

let api: ApiFixture;
let token: string;
beforeEach(async () => {
  api = await createApiFixture({ deps: { liveMinGapMs: 200 } });
  await api.http.start();
  token = (await api.login('admin', ADMIN_PASSWORD)).token;
});
afterEach(async () => api.close());

const decision = (atMs: number, capA: number): Decision => ({
  atMs,
  failsafe: false,
  nextState: { connectors: {} },
  headroom: { limitA: [60, 60, 60], headroomA: [1, 1, 1], buildingA: [0, 0, 0], binding: { kind: 'grid-current', phase: 'L1', text: 'grid connection 60 A on L1' } },
  caps: [{ chargerId: 'CP001', connectorId: 1, currentA: capA, phases: 3, reason: { kind: 'charger', text: `cap ${capA}` } }],
});

/** Messages as they arrive, and a way to await the n-th one (bounded). */
function collect(socket: WebSocket) {
  const messages: { type: string; data: { connectors: { capA: number | null }[] } }[] = [];
  const waiters: (() => void)[] = [];
  socket.on('message', (raw) => {
    messages.push(JSON.parse(String(raw)));
    waiters.splice(0).forEach((w) => w());
  });
  const nth = async (n: number) => {
    const deadline = Date.now() + 5000;
    while (messages.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${messages.length} of ${n} messages arrived`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 100);
      });
    }
    return messages[n - 1];
  };
  return { messages, nth };
}

describe('live feed at /api/v1/live', () => {
  it('refuses a socket without a login', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${api.http.port}/api/v1/live`);
    const status = await new Promise<number>((resolve) => {
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.on('open', () => resolve(101));
    });
    expect(status).toBe(401);
  });

  it('sends the state on connect, then pushes after decisions at most once per gap, ending on the latest', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${api.http.port}/api/v1/live`, { headers: { authorization: `Bearer ${token}` } });
    const feed = collect(socket);
    const first = await feed.nth(1);
    expect(first.type).toBe('state');
    expect(first.data.connectors[0].capA).toBeNull();

    // A burst of 20 decisions: one push at once, one trailing push carrying the last.
    for (let i = 1; i <= 20; i++) api.ctx.bus.emit('decision', decision(T0 + i, i));
    expect((await feed.nth(2)).data.connectors[0].capA).toBe(1);
    expect((await feed.nth(3)).data.connectors[0].capA).toBe(20);
    // A later decision arrives (throttled) as the very next message: nothing else was sent in between.
    api.ctx.bus.emit('decision', decision(T0 + 100, 32));
    expect((await feed.nth(4)).data.connectors[0].capA).toBe(32);
    expect(feed.messages).toHaveLength(4);
    socket.close();
  });

  it("refuses a handshake from another site's page", async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${api.http.port}/api/v1/live`, { headers: { authorization: `Bearer ${token}`, origin: 'http://evil.example' } });
    const status = await new Promise<number>((resolve) => {
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.on('open', () => resolve(101));
    });
    expect(status).toBe(403);
  });

  it('takes the token as a query parameter for browsers', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${api.http.port}/api/v1/live?token=${encodeURIComponent(token)}`);
    const feed = collect(socket);
    expect((await feed.nth(1)).type).toBe('state');
    socket.close();
  });
});

describe('listening', () => {
  it('names http.port when the port is taken', async () => {
    const second = await createApiFixture({ config: { ...api.ctx.config, http: { ...api.ctx.config.http, port: api.http.port } } });
    try {
      await expect(second.http.start()).rejects.toThrow(/http\.port.*in use/);
    } finally {
      await second.close();
    }
  });
});
