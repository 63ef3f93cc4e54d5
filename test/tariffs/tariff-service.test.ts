import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { Bus } from '../../src/bus.ts';
import { ManualClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { SiteState } from '../../src/state/site-state.ts';
import { createTariffService, type TariffService } from '../../src/tariffs/tariff-service.ts';
import { MosquittoBroker } from '../fixtures/mosquitto.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { waitFor } from '../helpers/wait-for.ts';

const T0 = Date.parse('2026-11-24T05:00:00Z'); // Tue 06:00 Berlin: off-peak until 07:00
const dir = mkdtempSync(join(tmpdir(), 'ems-tariffs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function site(tariffs: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  const config = configSchema.parse({
    site: { timezone: 'Europe/Berlin' },
    grid: { maxCurrent: 100, meter: 'grid' },
    chargers: [{ id: 'CP1', maxCurrent: 32 }],
    devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
    storage: { path: join(dir, 'ems.sqlite') },
    tariffs: { import: { default: 0.2, periods: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '07:00', to: '22:00', price: 0.4 }] }, demandCharge: { pricePerKW: 10 }, ...tariffs },
    ...extra,
  });
  const bus = new Bus(silentLogger);
  const clock = new ManualClock(T0);
  const state = new SiteState(config, bus);
  return { config, bus, clock, state, ctx: { config, bus, log: silentLogger, clock, state } };
}

const grid = (bus: Bus, atMs: number, powerW: number) =>
  bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs, powerW, currentA: [powerW / 690, powerW / 690, powerW / 690] });

let services: TariffService[] = [];
afterEach(async () => {
  for (const s of services) await s.stop();
  services = [];
});

describe('tariff service', () => {
  it('remembers the month’s demand peak across a restart, and starts a new month at 0', async () => {
    const peakFilePath = join(dir, 'peak-restart.json');
    const a = site();
    const first = createTariffService(a.ctx, { peakFilePath });
    services.push(first);
    await first.start();
    // 40 kW for one full 15-min window, then 10 kW.
    for (let m = 0; m <= 15; m++) grid(a.bus, T0 + m * 60_000, 40_000);
    for (let m = 16; m <= 31; m++) grid(a.bus, T0 + m * 60_000, 10_000);
    expect(first.peakSoFarW(T0 + 31 * 60_000)).toBeCloseTo(40_000, 0);
    await first.stop();
    services = [];

    const b = site();
    const second = createTariffService(b.ctx, { peakFilePath });
    services.push(second);
    await second.start();
    expect(second.peakSoFarW(T0 + 3_600_000)).toBeCloseTo(40_000, 0);
    expect(second.peakSoFarW(Date.parse('2026-12-01T00:00:00Z'))).toBe(0);
  });

  it('reads the month’s peak from a monthly-peak record when one is handed in (no JSON file then)', async () => {
    const s = site();
    const service = createTariffService(s.ctx, { peakFilePath: join(dir, 'unused.json'), peakSource: { get: (month) => (month === '2026-11' ? { peakPowerW: 55_000 } : undefined) } });
    services.push(service);
    await service.start();
    for (let m = 0; m <= 16; m++) grid(s.bus, T0 + m * 60_000, 30_000);
    expect(service.peakSoFarW(T0 + 16 * 60_000)).toBe(55_000);
    expect(service.peakSoFarW(Date.parse('2026-12-02T00:00:00Z'))).toBe(0);
    expect(() => readFileSync(join(dir, 'unused.json'))).toThrow();
  });

  it('survives a damaged peak file: the month starts at 0 and the service runs', async () => {
    const peakFilePath = join(dir, 'peak-damaged.json');
    writeFileSync(peakFilePath, '{ not json');
    const s = site();
    const service = createTariffService(s.ctx, { peakFilePath });
    services.push(service);
    await service.start();
    expect(service.peakSoFarW(T0)).toBe(0);
  });

  it('bills each session’s metered energy at the price in force when it was drawn', async () => {
    const s = site();
    const service = createTariffService(s.ctx, { peakFilePath: join(dir, 'peak-bill.json'), billsFilePath: join(dir, 'bills.jsonl') });
    services.push(service);
    await service.start();
    s.bus.emit('session.started', { chargerId: 'CP1', connectorId: 1, transactionId: 7, idTag: 'FLAT12', tier: 'staff', startedAtMs: T0, meterStartWh: 1_000 });
    s.bus.emit('connector.meter', { chargerId: 'CP1', connectorId: 1, atMs: T0 + 30 * 60_000, energyWh: 6_000 }); // 5 kWh off-peak
    s.bus.emit('connector.meter', { chargerId: 'CP1', connectorId: 1, atMs: T0 + 90 * 60_000, energyWh: 9_000 }); // 3 kWh at peak
    expect(service.sessionBill('CP1', 1)).toMatchObject({ energyWh: 8_000, idTag: 'FLAT12' });
    expect(service.sessionBill('CP1', 1)!.cost).toBeCloseTo(5 * 0.2 + 3 * 0.4, 9);
    s.bus.emit('session.ended', { chargerId: 'CP1', connectorId: 1, transactionId: 7, endedAtMs: T0 + 100 * 60_000, meterStopWh: 10_000 });
    const [bill] = service.sessionBills();
    expect(bill).toMatchObject({ transactionId: 7, energyWh: 9_000, currency: 'EUR', endedAtMs: T0 + 100 * 60_000 });
    expect(bill.cost).toBeCloseTo(1.0 + 1.2 + 0.4, 9);
    expect(service.sessionBill('CP1', 1)).toBeUndefined();

    // The closed bill survives a restart.
    await service.stop();
    services = [];
    const again = createTariffService(site().ctx, { peakFilePath: join(dir, 'peak-bill.json'), billsFilePath: join(dir, 'bills.jsonl') });
    services.push(again);
    await again.start();
    expect(again.sessionBills()[0]).toMatchObject({ transactionId: 7, energyWh: 9_000 });
  });

  it('counts a session that left short of its need as not met in today’s KPIs', async () => {
    const s = site();
    const service = createTariffService(s.ctx, { peakFilePath: join(dir, 'peak-met.json'), billsFilePath: join(dir, 'bills-met.jsonl') });
    services.push(service);
    await service.start();
    s.bus.emit('session.started', { chargerId: 'CP1', connectorId: 1, transactionId: 9, idTag: 'X', tier: 'staff', startedAtMs: T0, meterStartWh: 0, energyNeedWh: 5_000 });
    s.bus.emit('session.update', { chargerId: 'CP1', connectorId: 1, energyNeedWh: 10_000 });
    s.bus.emit('session.ended', { chargerId: 'CP1', connectorId: 1, transactionId: 9, endedAtMs: T0 + 3_600_000, meterStopWh: 8_000 });
    s.clock.set(T0 + 3_600_000);
    expect(service.kpis()).toMatchObject({ sessions: 1, energyRequestedWh: 10_000, energyDeliveredWh: 8_000, unmetWh: 2_000, sessionSuccessRate: 0 });
  });

  it('counts a session’s energy until its end, so the figures read at the end are final and survive a restart', async () => {
    // No grid meter: the cars are the site's import. The car draws 11 kW; control cycles every second.
    const saved = new Map<string, unknown>();
    const kpiStore = { load: (day: string) => saved.get(day), save: (day: string, state: unknown) => void saved.set(day, structuredClone(state)) };
    const noMeter = { grid: { maxCurrent: 100 }, devices: [] };
    const s = site({}, noMeter);
    const first = createTariffService(s.ctx, { peakFilePath: join(dir, 'peak-end.json'), billsFilePath: join(dir, 'bills-end.jsonl'), kpiStore });
    services.push(first);
    await first.start();
    const cycle = (atMs: number) => {
      s.clock.set(atMs);
      s.bus.emit('decision', { atMs } as never);
    };
    s.bus.emit('session.started', { chargerId: 'CP1', connectorId: 1, transactionId: 3, idTag: 'BUS12', tier: 'fleet', startedAtMs: T0, meterStartWh: 0 });
    s.bus.emit('connector.meter', { chargerId: 'CP1', connectorId: 1, atMs: T0, powerW: 11_000, energyWh: 0 });
    cycle(T0);
    cycle(T0 + 1_000);
    s.clock.set(T0 + 1_500);
    s.bus.emit('session.ended', { chargerId: 'CP1', connectorId: 1, transactionId: 3, endedAtMs: T0 + 1_500, meterStopWh: 5 });
    const atEnd = first.kpis();
    expect(atEnd.sessions).toBe(1);
    expect(atEnd.gridImportWh).toBeCloseTo((11_000 * 1.5) / 3600, 6);
    expect(atEnd.evEnergyWh).toBeCloseTo((11_000 * 1.5) / 3600, 6);
    // Later cycles add nothing: the car that left is not held at its last draw.
    for (let t = 2_000; t <= 10_000; t += 1_000) cycle(T0 + t);
    const later = first.kpis();
    expect({ ...later, utilization: 0 }).toEqual({ ...atEnd, utilization: 0 });
    await first.stop();
    services = [];

    const b = site({}, noMeter);
    b.clock.set(T0 + 20_000);
    const second = createTariffService(b.ctx, { peakFilePath: join(dir, 'peak-end.json'), billsFilePath: join(dir, 'bills-end.jsonl'), kpiStore });
    services.push(second);
    await second.start();
    expect({ ...second.kpis(), utilization: 0 }).toEqual({ ...atEnd, utilization: 0 });
  });

  it('reports today’s cost and peak live from the grid meter', async () => {
    const s = site();
    const service = createTariffService(s.ctx, { peakFilePath: join(dir, 'peak-kpi.json') });
    services.push(service);
    await service.start();
    for (let m = 0; m <= 60; m++) grid(s.bus, T0 + m * 60_000, 12_000); // 06:00-07:00 at 0.20
    s.clock.set(T0 + 60 * 60_000);
    const k = service.kpis();
    expect(k.energyCost).toBeCloseTo(12 * 0.2, 6);
    expect(k.peakW).toBeCloseTo(12_000, 3);
    expect(k.monthPeakW).toBeCloseTo(12_000, 3);
    expect(k.monthDemandCharge).toBeCloseTo(120, 3);
    expect(k.sinceMs).toBe(Date.parse('2026-11-23T23:00:00Z'));
  });

  describe('HTTP price feed', () => {
    let server: Server;
    let body = '';
    let url = '';
    beforeAll(async () => {
      server = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(body);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as { port: number }).port}/prices`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('applies fetched prices over the TOU schedule and keeps them when the feed sends garbage', async () => {
      body = JSON.stringify({ prices: [{ start: '2026-11-24T05:00:00Z', end: '2026-11-24T06:00:00Z', price: 0.05 }], export: [{ start: '2026-11-24T05:00:00Z', end: '2026-11-24T06:00:00Z', price: 0.01 }] });
      const s = site({ feed: { driver: 'http', url, pollIntervalS: 3600 } });
      const service = createTariffService(s.ctx, { peakFilePath: join(dir, 'peak-http.json') });
      services.push(service);
      await service.start();
      expect(service.prices(T0 + 60_000)).toMatchObject({ importPricePerKWh: 0.05, exportPricePerKWh: 0.01 });
      expect(service.prices(T0 + 2 * 3_600_000).importPricePerKWh).toBe(0.4);
    });
  });
});

describeWithPeer('mosquitto', hasCommand('mosquitto'), 'MQTT price feed', () => {
  const broker = new MosquittoBroker();
  beforeAll(() => broker.start(), 20_000);
  afterAll(() => broker.stop());

  it('takes prices published on the configured topic', async () => {
    const s = site({ feed: { driver: 'mqtt', topic: 'site/prices' } }, { mqtt: { url: broker.url } });
    const service = createTariffService(s.ctx, { peakFilePath: join(dir, 'peak-mqtt.json') });
    services.push(service);
    await service.start();
    const publisher = await mqtt.connectAsync(broker.url);
    try {
      const payload = JSON.stringify([{ start: '2026-11-24T05:00:00Z', end: '2026-11-24T07:00:00Z', price: 0.11 }]);
      await waitFor(async () => {
        await publisher.publishAsync('site/prices', payload, { qos: 1 });
        return service.prices(T0).importPricePerKWh === 0.11;
      }, 'the feed price to apply', 10_000);
      // A bad message is rejected and the feed keeps working: the next good one applies.
      await publisher.publishAsync('site/prices', '{"prices": "soon"}', { qos: 1 });
      await publisher.publishAsync('site/prices', JSON.stringify({ prices: [{ start: '2026-11-24T05:00:00Z', end: '2026-11-24T07:00:00Z', price: 0.13 }] }), { qos: 1 });
      await waitFor(() => service.prices(T0).importPricePerKWh === 0.13, 'the next good price', 10_000);
    } finally {
      await publisher.endAsync();
    }
  }, 30_000);
});
