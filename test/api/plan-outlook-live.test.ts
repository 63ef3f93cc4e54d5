// The plan outlook per connector at the boundary a dashboard reads (GET /api/v1/state and the live
// feed over a real WebSocket), on a 200-charger site whose plan holds 190 sessions: it is what the
// per-request walk of session 7 gave (test/api/plan-outlook-reference.ts) at every instant read,
// also after the planner puts another plan in force, and each plan's sessions are walked once, not
// per connector per answer and live tick.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { PlanFigures, PlanSlotFigures, PlanSource } from '../../src/api/economics-source.ts';
import type { Decision } from '../../optimizer/types.ts';
import { ADMIN_PASSWORD, T0, createApiFixture, testConfig, type ApiFixture } from './api-fixture.ts';
import { referencePlanOutlook, seededPlan as seededPlanFor } from './plan-outlook-reference.ts';

const CHARGERS = 200;
const SLOT_MS = 900_000;
const SLOTS = 48;
const chargerId = (i: number) => `CP${String(i + 1).padStart(3, '0')}`;
// Sessions for chargers 1–190 and two the site does not have; chargers 191–200 have no car.
const PLAN_KEYS = [...Array.from({ length: CHARGERS - 10 }, (_, i) => `${chargerId(i)}/1`), 'CP900/1', 'CP901/1'];
const seededPlan = (seed: number) => seededPlanFor(seed, PLAN_KEYS, T0, SLOTS);

const iso = (atMs: number | null) => (atMs === null ? null : new Date(atMs).toISOString());

interface ConnectorPlan {
  chargerId: string;
  connectorId: number;
  plan: { chargesFrom: string | null; readyBy: string | null; shortWh: number; because: string | null } | null;
}

describe('plan outlook per connector in the state API and the live feed', () => {
  let api: ApiFixture;
  let token: string;
  let inForce: ReturnType<typeof seededPlan>;
  const source: PlanSource = { currentPlan: () => inForce.plan, currentInputs: () => inForce.inputs, status: () => ({}) as never };

  beforeEach(async () => {
    inForce = seededPlan(7);
    const chargers = Array.from({ length: CHARGERS }, (_, i) => ({ id: chargerId(i), connectors: 1, maxCurrent: 32 }));
    api = await createApiFixture({ config: testConfig({ chargers, circuits: [] }), deps: { plan: source, liveMinGapMs: 0 } });
    for (let i = 0; i < CHARGERS - 10; i++)
      api.ctx.bus.emit('session.started', { chargerId: chargerId(i), connectorId: 1, transactionId: i + 1, idTag: `TAG${i}`, tier: 'fleet', startedAtMs: T0, meterStartWh: 0 });
    await api.http.start();
    token = (await api.login('admin', ADMIN_PASSWORD)).token;
  });
  afterEach(async () => api.close());

  /** What the per-request walk gives each connector at `atMs` from the plan in force, as the API writes it. */
  const expected = (atMs: number): ConnectorPlan[] =>
    Array.from({ length: CHARGERS }, (_, i) => {
      const o = i < CHARGERS - 10 ? referencePlanOutlook(inForce.plan, inForce.inputs, `${chargerId(i)}/1`, atMs) : undefined;
      return { chargerId: chargerId(i), connectorId: 1, plan: o ? { chargesFrom: iso(o.chargesFromMs), readyBy: iso(o.readyByMs), shortWh: o.shortWh, because: o.because } : null };
    });
  const shown = (connectors: ConnectorPlan[]) => connectors.map(({ chargerId, connectorId, plan }) => ({ chargerId, connectorId, plan }));
  const stateNow = async () => {
    const res = await api.inject({ method: 'GET', url: '/api/v1/state', headers: { authorization: `Bearer ${token}` } });
    if (res.statusCode !== 200) throw new Error(`GET /api/v1/state: ${res.statusCode} ${res.body}`);
    return shown(res.json().connectors);
  };

  /** How many times the plan in force had its sessions read while `read` ran. */
  const walksDuring = async <T>(read: () => Promise<T>): Promise<{ value: T; walks: number }> => {
    const before = inForce.walks();
    const value = await read();
    return { value, walks: inForce.walks() - before };
  };

  it('answers GET /api/v1/state with the outlook the per-request walk gave, at every instant and after a new plan', async () => {
    const withPlan = [];
    for (const [k, offsetMs] of [60_000, 3 * 3_600_000 + 600_000, 7 * 3_600_000, SLOTS * SLOT_MS + 1].entries()) {
      api.clock.set(T0 + offsetMs);
      // Hours on: a session of that age has expired, so log in again.
      token = (await api.login('admin', ADMIN_PASSWORD)).token;
      const answer = await walksDuring(stateNow);
      // The plan's sessions are walked for the first answer only.
      expect(answer.walks).toBe(k === 0 ? 1 : 0);
      const want = expected(T0 + offsetMs);
      expect(answer.value).toEqual(want);
      withPlan.push(want.filter((c) => c.plan).length);
    }
    // The instants read differ: waiting or charging, later, past the horizon (no outlook at all).
    expect(withPlan[0]).toBeGreaterThan(150);
    expect(withPlan[3]).toBe(0);
    expect(new Set(expected(T0 + 60_000).map((c) => c.plan?.because ?? 'none'))).toEqual(new Set(['cheaper', 'solar', 'none']));

    // Another plan in force: the next answer follows it.
    const before = expected(T0 + 60_000);
    inForce = seededPlan(8);
    api.clock.set(T0 + 60_000);
    token = (await api.login('admin', ADMIN_PASSWORD)).token;
    const answer = await walksDuring(stateNow);
    expect(answer.walks).toBe(1);
    expect(answer.value).toEqual(expected(T0 + 60_000));
    expect(answer.value).not.toEqual(before);
  });

  it('pushes the same outlook on each live tick, walking each plan once', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${api.http.port}/api/v1/live`, { headers: { authorization: `Bearer ${token}` } });
    const messages: { data: { connectors: ConnectorPlan[] } }[] = [];
    const arrived = (n: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${messages.length} of ${n} live messages arrived`)), 5_000);
        const check = () => {
          if (messages.length < n) return;
          clearTimeout(timer);
          socket.off('message', check);
          resolve();
        };
        socket.on('message', check);
        check();
      });
    socket.on('message', (raw) => messages.push(JSON.parse(String(raw))));
    api.clock.set(T0 + 60_000);
    await arrived(1);
    expect(shown(messages[0].data.connectors)).toEqual(expected(T0 + 60_000));
    const tick = (atMs: number): Decision => ({
      atMs,
      failsafe: false,
      nextState: { connectors: {} },
      headroom: { limitA: [60, 60, 60], headroomA: [1, 1, 1], buildingA: [0, 0, 0], binding: { kind: 'grid-current', phase: 'L1', text: 'grid connection 60 A on L1' } },
      caps: [],
    });
    for (const [n, offsetMs] of [
      [2, 2 * 3_600_000],
      [3, 5 * 3_600_000 + 1],
    ] as const) {
      api.clock.set(T0 + offsetMs);
      const pushed = await walksDuring(async () => {
        api.ctx.bus.emit('decision', tick(T0 + offsetMs));
        await arrived(n);
      });
      expect(pushed.walks).toBe(0);
      expect(shown(messages[n - 1].data.connectors)).toEqual(expected(T0 + offsetMs));
    }
    inForce = seededPlan(9);
    const pushed = await walksDuring(async () => {
      api.ctx.bus.emit('decision', tick(api.clock.nowMs()));
      await arrived(4);
    });
    expect(pushed.walks).toBe(1);
    expect(shown(messages[3].data.connectors)).toEqual(expected(api.clock.nowMs()));
    socket.close();
  });
});
