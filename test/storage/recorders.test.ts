import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import type { Decision } from '../../optimizer/types.ts';
import { Bus, type BusEvents } from '../../src/bus.ts';
import { ManualClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import type { Service, ServiceContext } from '../../src/service.ts';
import { SiteState } from '../../src/state/site-state.ts';
import { createChargerReconciler } from '../../src/storage/charger-reconciler.ts';
import { createHistoryRecorder } from '../../src/storage/history-recorder.ts';
import { createTariffService } from '../../src/tariffs/index.ts';
import { openStorage } from '../../src/storage/open-storage.ts';
import { createSessionSettingsKeeper } from '../../src/storage/session-settings-keeper.ts';
import type { Storage } from '../../src/storage/types.ts';

const T0 = Date.UTC(2026, 10, 24, 9, 0, 0);
let ctx: ServiceContext;
let store: Storage;
let clock: ManualClock;
const services: Service[] = [];

beforeEach(() => {
  const config = configSchema.parse({
    site: { timezone: 'Europe/Berlin' },
    grid: { maxCurrent: 63, meter: 'grid' },
    chargers: [{ id: 'CP001', connectors: 2 }],
    devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
  });
  const bus = new Bus(silentLogger);
  clock = new ManualClock(T0);
  ctx = { config, bus, log: silentLogger, clock, state: new SiteState(config, bus) };
  store = openStorage(':memory:', clock);
});
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop();
  store.close();
});

const run = async (service: Service) => {
  await service.start();
  services.push(service);
  return service;
};
const decision = (atMs: number): Decision => ({
  atMs,
  caps: [],
  failsafe: false,
  nextState: { connectors: {} },
  headroom: { limitA: [60, 60, 60], headroomA: [0, 0, 0], buildingA: [0, 0, 0], binding: { kind: 'grid-current', phase: 'L1', text: 'grid connection 60 A on L1' } },
});
const started = (transactionId: number, connectorId = 1): BusEvents['session.started'] => ({
  chargerId: 'CP001',
  connectorId,
  transactionId,
  idTag: 'TAG',
  tier: 'guest',
  startedAtMs: T0,
  meterStartWh: 0,
});

describe('history recorder', () => {
  it('records one sample per second; the month peak of 15-minute mean import is the tariff service\'s', async () => {
    await run(createHistoryRecorder(ctx, store));
    await run(createTariffService(ctx, { peakSource: store.peaks, kpiStore: store.kpiDays, billsFilePath: join(mkdtempSync(join(tmpdir(), 'ems-rec-')), 'bills.jsonl') }));
    // 15 minutes at 20 kW with a 2-minute spike to 80 kW: mean (13×20 + 2×80)/15 = 28 kW.
    for (let s = 0; s <= 15 * 60; s++) {
      const atMs = T0 + s * 1000;
      const powerW = s >= 300 && s < 420 ? 80_000 : 20_000;
      ctx.bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs, powerW, currentA: [30, 30, 30] });
      ctx.bus.emit('decision', decision(atMs));
      ctx.bus.emit('decision', decision(atMs + 400)); // a second decision in the same second is not another sample
    }
    expect(store.history.query(T0, T0 + 60_000, '1s')).toHaveLength(60);
    clock.set(T0 + 15 * 60_000);
    const peak = store.peaks.current(T0, 'Europe/Berlin').peak;
    expect(peak?.peakPowerW).toBeCloseTo(28_000, 0);
    expect(peak?.atMs).toBe(T0);
  });
});

describe('history per phase and per connector', () => {
  it('keeps the grid current of each phase and each connector’s energy, current per phase and cap, with the same energy at 1 min and 15 min', async () => {
    const recorder = await run(createHistoryRecorder(ctx, store));
    ctx.bus.emit('session.started', started(1, 2));
    // 20 minutes: connector 2 draws 16 A on one phase (3.68 kW) with a 16 A cap; L1 carries 40 A, L2 10 A, L3 5 A.
    for (let s = 0; s <= 20 * 60; s++) {
      const atMs = T0 + s * 1000;
      ctx.bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs, powerW: 12_650, currentA: [40, 10, 5] });
      ctx.bus.emit('connector.meter', { chargerId: 'CP001', connectorId: 2, atMs, currentA: [16, 0, 0], powerW: 3_680 });
      ctx.bus.emit('decision', { ...decision(atMs), caps: [{ chargerId: 'CP001', connectorId: 2, currentA: 16, phases: 1, reason: { kind: 'max', text: 'max' } } as never] });
    }
    const seconds = store.history.query(T0, T0 + 60_000, '1s');
    expect(seconds[5]).toMatchObject({ gridL1A: 40, gridL2A: 10, gridL3A: 5 });
    expect(store.history.query(T0, T0 + 60_000, '1m')[0]).toMatchObject({ gridL1A: 40, gridL2A: 10, gridL3A: 5 });

    const minutes = store.connectorHistory.query(T0, T0 + 15 * 60_000, '1m');
    expect(minutes).toHaveLength(15);
    expect(minutes.every((m) => m.chargerId === 'CP001' && m.connectorId === 2)).toBe(true);
    expect(minutes[3]).toMatchObject({ currentA: [16, 0, 0], capA: 16 });
    expect(minutes[3].energyWh).toBeCloseTo(3_680 / 60, 6);
    expect(minutes[3].powerW).toBeCloseTo(3_680, 6);
    const [quarter] = store.connectorHistory.query(T0, T0 + 15 * 60_000, '15m');
    expect(quarter.energyWh).toBeCloseTo(minutes.reduce((sum, m) => sum + m.energyWh, 0), 6);
    expect(quarter).toMatchObject({ currentA: [16, 0, 0], capA: 16 });
    expect(store.connectorHistory.query(T0, T0 + 15 * 60_000, '1m', { chargerId: 'CP001', connectorId: 1 })).toEqual([]);

    // A restart in the middle of a minute: the part before and the part after add up.
    await recorder.stop();
    services.splice(services.indexOf(recorder), 1);
    const before = store.connectorHistory.query(T0 + 20 * 60_000, T0 + 21 * 60_000, '1m')[0];
    expect(before.samples).toBe(1);
    await run(createHistoryRecorder(ctx, store));
    for (let s = 20 * 60 + 1; s <= 21 * 60; s++) {
      ctx.bus.emit('connector.meter', { chargerId: 'CP001', connectorId: 2, atMs: T0 + s * 1000, currentA: [16, 0, 0], powerW: 3_680 });
      ctx.bus.emit('decision', decision(T0 + s * 1000));
    }
    const whole = store.connectorHistory.query(T0 + 20 * 60_000, T0 + 21 * 60_000, '1m')[0];
    expect(whole.samples).toBe(60);
    expect(whole.capA).toBeCloseTo(16 / 60, 6);
  });
});

describe('session settings keeper', () => {
  it('persists steering per transaction and re-applies it when the session is restored', async () => {
    await run(createSessionSettingsKeeper(ctx, store));
    const id = store.transactions.start({ chargerId: 'CP001', connectorId: 1, idTag: 'TAG', startedAtMs: T0, meterStartWh: 0 });
    ctx.bus.emit('session.started', started(id));
    ctx.bus.emit('session.update', { chargerId: 'CP001', connectorId: 1, departureAtMs: T0 + 7_200_000, paused: true });
    ctx.bus.emit('session.update', { chargerId: 'CP001', connectorId: 1, targetPowerW: 5000 }); // planner output is not persisted
    expect(store.sessionSettings.get(id)).toMatchObject({ departureAtMs: T0 + 7_200_000, paused: true, energyNeedWh: null });

    // A new process: fresh state, same storage; OCPP restores the open transaction.
    const bus = new Bus(silentLogger);
    const state = new SiteState(ctx.config, bus);
    const restarted: ServiceContext = { ...ctx, bus, state };
    await run(createSessionSettingsKeeper(restarted, store));
    bus.emit('session.started', started(id));
    expect(state.connector('CP001', 1)!.session).toMatchObject({ departureAtMs: T0 + 7_200_000, paused: true });
  });
});

describe('charger reconciler', () => {
  it("asks for a charger's status once, on its first connect after start, with its open transactions", async () => {
    await run(createChargerReconciler(ctx, store));
    const id = store.transactions.start({ chargerId: 'CP001', connectorId: 2, idTag: 'TAG', startedAtMs: T0, meterStartWh: 0 });
    const asked: BusEvents['charger.reconcile'][] = [];
    ctx.bus.on('charger.reconcile', (r) => asked.push(r));
    ctx.bus.emit('charger.connected', { chargerId: 'CP001', atMs: T0, protocol: 'ocpp1.6' });
    ctx.bus.emit('charger.connected', { chargerId: 'CP001', atMs: T0 + 5000, protocol: 'ocpp1.6' });
    expect(asked).toEqual([{ chargerId: 'CP001', atMs: T0, openTransactionIds: [id] }]);
  });
});
