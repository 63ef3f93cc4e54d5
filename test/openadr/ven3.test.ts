import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createVen3Service } from '../../src/openadr/ven3/ven3-service.ts';
import { createApiFixture } from '../api/api-fixture.ts';
import { createTariffService } from '../../src/tariffs/tariff-service.ts';
import { createTestPki } from '../fixtures/openadr/certs.ts';
import { MosquittoBroker } from '../fixtures/mosquitto.ts';
import { TestVtn3 } from '../fixtures/openadr/vtn3-server.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { recordingLogger, siteContext, until } from './helpers.ts';

const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

describe('OpenADR 3.1 VEN against an OAuth2 VTN', () => {
  const running: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const item of running.splice(0).reverse()) await item.stop();
  });

  async function setup(options: { ven?: Record<string, unknown>; vtn?: ConstructorParameters<typeof TestVtn3>[0] } = {}) {
    const vtn = await new TestVtn3(options.vtn).start();
    running.push(vtn);
    const program = vtn.addProgram('ev-site-dso', { payloadDescriptors: [{ objectType: 'EVENT_PAYLOAD_DESCRIPTOR', payloadType: 'IMPORT_CAPACITY_LIMIT', units: 'KW' }] });
    const recorder = recordingLogger();
    const { ctx, timeline, vtnConfig } = siteContext(
      {
        id: 'dso',
        version: '3.1',
        vtnUrl: vtn.url,
        venName: 'depot-north',
        pollIntervalS: 0.05,
        client: { id: 'ven-client', secret: 'ven-secret' },
        simpleLevels: { 1: 90_000, 2: 50_000, 3: 10_000 },
        reportIntervalS: 1,
        ...options.ven,
      },
      recorder.log,
    );
    await timeline.start();
    running.push(timeline);
    const ven = createVen3Service(ctx, vtnConfig, { sink: timeline });
    const start = async () => {
      await ven.start();
      running.push(ven);
    };
    const importLimit = () => ctx.state.snapshot(Date.now()).signals.importLimitW;
    return { vtn, program, ctx, timeline, ven, start, importLimit, lines: recorder.lines };
  }

  const capEvent = (programID: string, kW: number[], over: Record<string, unknown> = {}) => ({
    id: 'cap-1',
    programID,
    eventName: 'evening-import-cap',
    priority: 0,
    intervalPeriod: { start: iso(Date.now() - MIN), duration: 'PT1H' },
    intervals: kW.map((v, i) => ({ id: i, payloads: [{ type: 'IMPORT_CAPACITY_LIMIT', values: [v] }] })),
    ...over,
  });

  it('discovers the token URL, authenticates, and registers the VEN and its resource', async () => {
    const { vtn, start, ven } = await setup();
    const polled = vtn.nextEventsPoll();
    await start();
    await polled;
    const calls = vtn.requests.map((r) => `${r.method} ${r.path}`);
    expect(calls.slice(0, 6)).toEqual(['GET /auth/server', 'POST /auth/token', 'GET /vens', 'POST /vens', 'GET /resources', 'POST /resources']);
    expect(vtn.requests.filter((r) => !r.path.startsWith('/auth')).every((r) => r.authorized)).toBe(true);
    expect(vtn.vens.map((v) => v.venName)).toEqual(['depot-north']);
    expect(vtn.resources.map((r) => [r.resourceName, r.venID])).toEqual([['site', vtn.vens[0].id]]);
    expect(ven.status().registered).toBe(true);
    expect(vtn.invalid).toEqual([]);
  });

  it('applies an import capacity limit within one poll, interval by interval, and lifts it when the event disappears', async () => {
    const { vtn, program, timeline, start, importLimit, ctx } = await setup();
    await start();
    await vtn.nextEventsPoll();
    const stored = vtn.putEvent(capEvent(program.id, [120, 80]));
    await vtn.nextEventsPoll();
    await until(() => importLimit() === 120_000 || undefined, 'the first interval limit');
    const startMs = Date.parse(stored.intervalPeriod.start);
    expect(ctx.state.snapshot(startMs + 90 * MIN).signals.importLimitW).toBe(80_000);
    expect(timeline.list().filter((s) => s.kind === 'import-limit').map((s) => [s.startMs - startMs, s.endMs - startMs])).toEqual([
      [0, 60 * MIN],
      [60 * MIN, 120 * MIN],
    ]);

    vtn.putEvent(capEvent(program.id, [40, 80])); // modification
    await until(() => importLimit() === 40_000 || undefined, 'the modified limit');

    vtn.deleteEvent('cap-1'); // no cancel message in 3.x: gone means cancelled
    await until(() => importLimit() === undefined || undefined, 'the limit to be lifted');
  });

  it('maps export limits, SIMPLE levels, prices split across values, GHG and alerts', async () => {
    const { vtn, program, timeline, start, ctx } = await setup();
    const startMs = Math.floor(Date.now() / 1000) * 1000 - MIN;
    vtn.putEvent({
      id: 'mixed-1',
      programID: program.id,
      intervalPeriod: { start: iso(startMs), duration: 'PT3H' },
      payloadDescriptors: [
        { objectType: 'EVENT_PAYLOAD_DESCRIPTOR', payloadType: 'PRICE', units: 'KWH', currency: 'EUR' },
        { objectType: 'EVENT_PAYLOAD_DESCRIPTOR', payloadType: 'EXPORT_CAPACITY_LIMIT', units: 'KW' },
      ],
      intervals: [
        {
          id: 0,
          payloads: [
            { type: 'PRICE', values: [0.3, 0.2, 0.1] },
            { type: 'EXPORT_CAPACITY_LIMIT', values: [5] },
            { type: 'SIMPLE', values: [2] },
            { type: 'GHG', values: [320] },
            { type: 'ALERT_FLEX_ALERT', values: ['reduce load'] },
            { type: 'CTA2045_REBOOT', values: [1] },
          ],
        },
      ],
    });
    await start();
    await until(() => timeline.list().length > 0 || undefined, 'signals');
    const list = timeline.list();
    expect(list.filter((s) => s.kind === 'price').map((s) => [s.value, (s.startMs - startMs) / MIN, (s.endMs - startMs) / MIN])).toEqual([
      [0.3, 0, 60],
      [0.2, 60, 120],
      [0.1, 120, 180],
    ]);
    const snapshot = ctx.state.snapshot(Date.now()).signals;
    expect(snapshot.exportLimitW).toBe(5000);
    expect(snapshot.importLimitW).toBe(50_000);
    expect(list.find((s) => s.kind === 'ghg')?.value).toBe(320);
    expect(list.find((s) => s.kind === 'alert')?.text).toBe('ALERT_FLEX_ALERT: reduce load');
    expect(list.find((s) => s.kind === 'load-shed')?.value).toBe(2);
  });

  it('hands import and export prices to the tariff the planner reads', async () => {
    const { vtn, program, start, ctx, timeline } = await setup();
    const tariffs = createTariffService(ctx, { peakFilePath: join(tmpdir(), `peak-${process.pid}-${Date.now()}.json`), billsFilePath: join(tmpdir(), `bills-${process.pid}-${Date.now()}.jsonl`) });
    await tariffs.start();
    running.push(tariffs);
    vtn.putEvent({
      id: 'prices',
      programID: program.id,
      intervalPeriod: { start: iso(Date.now() - MIN), duration: 'PT1H' },
      payloadDescriptors: [{ objectType: 'EVENT_PAYLOAD_DESCRIPTOR', payloadType: 'PRICE', units: 'KWH', currency: 'EUR' }],
      intervals: [{ id: 0, payloads: [{ type: 'PRICE', values: [0.42] }, { type: 'EXPORT_PRICE', values: [0.05] }] }],
    });
    await start();
    await until(() => timeline.list().length === 2 || undefined, 'both prices');
    expect(tariffs.tariff.importPricePerKWh(Date.now())).toBe(0.42);
    expect(tariffs.tariff.exportPricePerKWh(Date.now())).toBe(0.05);
  });

  it('falls back to the capacity subscription where no limit schedule covers the time', async () => {
    const { vtn, program, start, ctx, timeline } = await setup();
    const nowMs = Date.now();
    vtn.putEvent({
      id: 'subscription',
      programID: program.id,
      intervalPeriod: { start: iso(nowMs - 3600_000), duration: 'P1Y' },
      intervals: [{ id: 0, payloads: [{ type: 'IMPORT_CAPACITY_SUBSCRIPTION', values: [150] }] }],
    });
    vtn.putEvent(capEvent(program.id, [60]));
    await start();
    await until(() => timeline.list().length >= 2 || undefined, 'signals');
    const limitAt = (atMs: number) => ctx.state.snapshot(atMs).signals.importLimitW;
    expect(limitAt(nowMs)).toBe(60_000); // the schedule
    expect(limitAt(nowMs + 2 * 3600_000)).toBe(150_000); // schedule ran out: the subscription
  });

  it('follows only the configured programs', async () => {
    const { vtn, start, timeline } = await setup({ ven: { programs: ['prices-only'] } });
    const other = vtn.programs[0];
    vtn.putEvent(capEvent(other.id, [10]));
    const prices = vtn.addProgram('prices-only');
    vtn.putEvent({ id: 'price-1', programID: prices.id, intervalPeriod: { start: iso(Date.now()), duration: 'PT1H' }, intervals: [{ id: 0, payloads: [{ type: 'PRICE', values: [0.25] }] }] });
    await start();
    await until(() => timeline.list().length > 0 || undefined, 'signals');
    expect(timeline.list().map((s) => [s.kind, s.value, s.text])).toEqual([['price', 0.25, 'import price']]);
    expect(vtn.requests.filter((r) => r.path === '/events').every((r) => r.query.get('programID') === prices.id)).toBe(true);
  });

  it('keeps the last good events when the VTN sends bad JSON or an invalid event, and logs it once', async () => {
    const { vtn, program, start, importLimit, lines, ven } = await setup();
    vtn.putEvent(capEvent(program.id, [70]));
    await start();
    await until(() => importLimit() === 70_000 || undefined, 'the limit');
    vtn.rawEventsBody = '{"not": json';
    await vtn.nextEventsPoll();
    await vtn.nextEventsPoll();
    expect(importLimit()).toBe(70_000);
    vtn.rawEventsBody = JSON.stringify([{ id: 'broken', programID: program.id, intervals: [{ id: 'zero', payloads: 3 }] }]);
    await vtn.nextEventsPoll();
    await vtn.nextEventsPoll();
    expect(importLimit()).toBe(70_000);
    expect(ven.status().lastError).toMatch(/invalid answer/);
    const warnings = lines.filter((l) => l.level >= 40);
    expect(warnings.length).toBe(2); // one per distinct fault, not per poll
    vtn.rawEventsBody = undefined;
    vtn.putEvent(capEvent(program.id, [65]));
    await until(() => importLimit() === 65_000 || undefined, 'recovery');
    // /metrics counts every failed exchange and the fault once (it lasted through two texts).
    const { failedExchanges, faults } = ven.status();
    expect(failedExchanges).toBeGreaterThanOrEqual(4);
    expect(faults).toBe(1);
    const api = await createApiFixture({ deps: { openadr: () => [ven.status()] } });
    try {
      const metrics = (await api.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(new RegExp(`^ems_openadr_failed_exchanges_total\\{vtn="${ven.status().id}"\\} ${ven.status().failedExchanges}$`, 'm'));
      expect(metrics).toMatch(new RegExp(`^ems_openadr_faults_total\\{vtn="${ven.status().id}"\\} 1$`, 'm'));
      expect(metrics).toMatch(new RegExp(`^ems_openadr_fault\\{vtn="${ven.status().id}"\\} 0$`, 'm'));
    } finally {
      await api.close();
    }
  });

  it('gets a fresh token when the VTN revokes the old one', async () => {
    const { vtn, program, start, importLimit } = await setup();
    await start();
    await vtn.nextEventsPoll();
    vtn.tokens.clear();
    vtn.putEvent(capEvent(program.id, [55]));
    await until(() => importLimit() === 55_000 || undefined, 'the limit after re-authentication');
    expect(vtn.requests.filter((r) => r.path === '/auth/token').length).toBe(2);
  });

  it('refuses to work with wrong credentials and says so', async () => {
    const { start, ven } = await setup({ ven: { client: { id: 'ven-client', secret: 'wrong' } } });
    await start();
    const error = await until(() => ven.status().lastError, 'the auth failure');
    expect(error).toMatch(/token request refused \(HTTP 401\)/);
    expect(ven.status().registered).toBe(false);
  });

  it("reports the site's import during an active event, in spec-valid reports", async () => {
    const { vtn, program, start, ctx } = await setup();
    vtn.putEvent(capEvent(program.id, [100], { reportDescriptors: [{ payloadType: 'USAGE' }] }));
    ctx.bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs: Date.now(), powerW: 36_000, currentA: [52, 52, 52] });
    await start();
    const firstReport = await vtn.next((r) => r.method === 'POST' && r.path === '/reports');
    const body = firstReport.body as any;
    expect(body.eventID).toBe('cap-1');
    expect(body.clientName).toBe('depot-north');
    expect(body.resources[0].resourceName).toBe('site');
    expect(body.resources[0].intervals[0].payloads[0].type).toBe('USAGE');
    expect(body.resources[0].intervals[0].payloads[0].values[0]).toBeGreaterThanOrEqual(0);
    const update = await vtn.next((r) => r.method === 'PUT' && r.path.startsWith('/reports/'));
    expect((update.body as any).resources[0].intervals.length).toBe(2);
    expect(vtn.invalid).toEqual([]);
  });

  it('recreates its VEN and resource when the VTN has lost them (reset), and keeps applying events', async () => {
    const { vtn, program, start, importLimit, lines } = await setup();
    vtn.putEvent(capEvent(program.id, [80]));
    await start();
    await until(() => importLimit() === 80_000 || undefined, 'the limit');
    const firstVen = vtn.vens[0]!.id;
    vtn.reset();
    await until(() => vtn.vens.length === 1 && vtn.resources.length === 1 || undefined, 'the VEN and resource created again');
    expect(vtn.vens[0]!.id).not.toBe(firstVen);
    expect(vtn.resources[0]!.venID).toBe(vtn.vens[0]!.id);
    expect(lines.some((l) => /the VTN has lost this VEN/.test(l.msg))).toBe(true);
    vtn.putEvent(capEvent(program.id, [45]));
    await until(() => importLimit() === 45_000 || undefined, 'an event after the reset');
    expect(vtn.invalid).toEqual([]);
  });

  it('reports only for events that ask, with intervals aligned to the event start', async () => {
    const { vtn, program, start, ctx } = await setup();
    const startMs = Date.now() + 1_500;
    vtn.putEvent(capEvent(program.id, [100], { id: 'cap-report', intervalPeriod: { start: iso(startMs), duration: 'PT1H' }, reportDescriptors: [{ payloadType: 'USAGE' }] }));
    vtn.putEvent({ id: 'price-1', programID: program.id, intervalPeriod: { start: iso(Date.now() - MIN), duration: 'PT1H' }, intervals: [{ id: 0, payloads: [{ type: 'PRICE', values: [0.3] }] }] });
    const feed = setInterval(() => ctx.bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs: Date.now(), powerW: 36_000, currentA: [52, 52, 52] }), 50);
    try {
      await start();
      const update = await vtn.next((r) => r.method === 'PUT' && r.path.startsWith('/reports/'));
      const intervals = (update.body as any).resources[0].intervals as { id: number; intervalPeriod: { start: string; duration: string } }[];
      // Aligned: interval k starts exactly k report periods (1 s) after the event's start, never before it.
      for (const interval of intervals) expect(Date.parse(interval.intervalPeriod.start)).toBe(Math.floor(startMs / 1000) * 1000 + interval.id * 1000);
      expect(intervals.every((i) => i.intervalPeriod.duration === 'PT1S')).toBe(true);
      const posted = vtn.requests.filter((r) => r.method === 'POST' && r.path === '/reports').map((r) => (r.body as any).eventID);
      expect(posted).toEqual(['cap-report']);
      expect(vtn.invalid).toEqual([]);
    } finally {
      clearInterval(feed);
    }
  });

  it('continues its report after an EMS restart instead of creating a second one', async () => {
    const first = await setup();
    first.vtn.putEvent(capEvent(first.program.id, [100], { reportDescriptors: [{ payloadType: 'USAGE' }] }));
    const feed = setInterval(() => first.ctx.bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs: Date.now(), powerW: 36_000, currentA: [52, 52, 52] }), 50);
    try {
      await first.start();
      await first.vtn.next((r) => r.method === 'POST' && r.path === '/reports');
      await first.ven.stop();
      // A new EMS process: a new VEN service with the same config and no memory.
      const again = createVen3Service(first.ctx, first.ctx.config.openadr![0]!, { sink: first.timeline });
      const put = first.vtn.next((r) => r.method === 'PUT' && r.path === `/reports/${first.vtn.reports[0]!.id}`);
      await again.start();
      running.push(again);
      await put;
      expect(first.vtn.reports).toHaveLength(1);
      expect(first.vtn.requests.filter((r) => r.method === 'POST' && r.path === '/reports')).toHaveLength(1);
    } finally {
      clearInterval(feed);
    }
  });

  it('logs why it refuses a webhook notification, once per reason', async () => {
    const { vtn, program, start, ven, lines } = await setup({ ven: { webhook: { host: '127.0.0.1', port: 0, publicUrl: 'http://127.0.0.1:1/callback' }, pollIntervalS: 3600 } });
    await start();
    await vtn.nextEventsPoll();
    vtn.subscriptions[0].objectOperations[0].callbackUrl = ven.webhookUrl();
    const event = vtn.putEvent(capEvent(program.id, [33]));
    const token = vtn.subscriptions[0].objectOperations[0].bearerToken;
    vtn.subscriptions[0].objectOperations[0].bearerToken = 'forged';
    expect(await vtn.notify('CREATE', event)).toEqual([401]);
    expect(await vtn.notify('CREATE', event)).toEqual([401]);
    vtn.subscriptions[0].objectOperations[0].bearerToken = token;
    expect(await vtn.notify('CREATE', { ...event, intervals: 'nonsense' })).toEqual([400]);
    const refusals = lines.filter((l) => l.level === 40 && /webhook notification refused/.test(l.msg)).map((l) => l.msg);
    expect(refusals).toEqual([
      expect.stringMatching(/HTTP 401\): the bearer token is not the one this VEN gave the VTN/),
      expect.stringMatching(/HTTP 400\): invalid notification: event: intervals/),
    ]);
  });

  it('subscribes a webhook and applies pushed events at once', async () => {
    const { vtn, program, start, importLimit, ven } = await setup({ ven: { webhook: { host: '127.0.0.1', port: 0, publicUrl: 'http://127.0.0.1:1/callback' }, pollIntervalS: 3600 } });
    await start();
    await vtn.nextEventsPoll();
    expect(vtn.subscriptions).toHaveLength(1);
    expect(vtn.invalid).toEqual([]);
    // the test VTN reaches the VEN on its real local address
    vtn.subscriptions[0].objectOperations[0].callbackUrl = ven.webhookUrl();
    const event = vtn.putEvent(capEvent(program.id, [33]));
    expect(await vtn.notify('CREATE', event)).toEqual([200]);
    expect(importLimit()).toBe(33_000);
    vtn.deleteEvent('cap-1');
    expect(await vtn.notify('DELETE', event)).toEqual([200]);
    expect(importLimit()).toBeUndefined();
  });
});

describeWithPeer('openssl', hasCommand('openssl'), 'OpenADR 3.1 VEN over HTTPS', () => {
  it('serves the webhook over HTTPS and refuses notifications without the bearer token', async () => {
    const pki = createTestPki();
    const vtn = await new TestVtn3({ callbackCa: pki.read(pki.caPath) }).start();
    const program = vtn.addProgram('p');
    const site = siteContext({
      id: 'dso',
      version: '3.1',
      vtnUrl: vtn.url,
      venName: 'v',
      pollIntervalS: 3600,
      client: { id: 'ven-client', secret: 'ven-secret' },
      webhook: { host: '127.0.0.1', port: 0, publicUrl: 'https://127.0.0.1:1/callback', tls: { cert: pki.serverCertPath, key: pki.serverKeyPath } },
    });
    await site.timeline.start();
    const ven = createVen3Service(site.ctx, site.vtnConfig, { sink: site.timeline });
    const polled = vtn.nextEventsPoll();
    await ven.start();
    try {
      await polled;
      expect(ven.webhookUrl()).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
      vtn.subscriptions[0].objectOperations[0].callbackUrl = ven.webhookUrl();
      const event = vtn.putEvent({ id: 'e', programID: program.id, intervalPeriod: { start: iso(Date.now()), duration: 'PT1H' }, intervals: [{ id: 0, payloads: [{ type: 'IMPORT_CAPACITY_LIMIT', values: [21] }] }] });
      const token = vtn.subscriptions[0].objectOperations[0].bearerToken;
      vtn.subscriptions[0].objectOperations[0].bearerToken = 'forged';
      expect(await vtn.notify('CREATE', event)).toEqual([401]);
      expect(site.ctx.state.snapshot(Date.now()).signals.importLimitW).toBeUndefined();
      vtn.subscriptions[0].objectOperations[0].bearerToken = token;
      expect(await vtn.notify('CREATE', event)).toEqual([200]);
      expect(site.ctx.state.snapshot(Date.now()).signals.importLimitW).toBe(21_000);
    } finally {
      await ven.stop();
      await site.timeline.stop();
      await vtn.stop();
    }
  });

  it('verifies the VTN certificate against the configured CA', async () => {
    const pki = createTestPki();
    const vtn = await new TestVtn3({ tls: { cert: pki.read(pki.serverCertPath), key: pki.read(pki.serverKeyPath) } }).start();
    const program = vtn.addProgram('p');
    vtn.putEvent({ id: 'e', programID: program.id, intervalPeriod: { start: iso(Date.now()), duration: 'PT1H' }, intervals: [{ id: 0, payloads: [{ type: 'IMPORT_CAPACITY_LIMIT', values: [11] }] }] });
    const trusted = siteContext({ id: 'dso', version: '3.1', vtnUrl: vtn.url, venName: 'v', pollIntervalS: 0.05, client: { id: 'ven-client', secret: 'ven-secret' }, tls: { ca: pki.caPath } });
    const untrusted = siteContext({ id: 'dso', version: '3.1', vtnUrl: vtn.url, venName: 'v', pollIntervalS: 0.05, client: { id: 'ven-client', secret: 'ven-secret' } });
    const good = createVen3Service(trusted.ctx, trusted.vtnConfig, { sink: trusted.timeline });
    const bad = createVen3Service(untrusted.ctx, untrusted.vtnConfig, { sink: untrusted.timeline });
    await good.start();
    await bad.start();
    try {
      await until(() => trusted.ctx.state.snapshot(Date.now()).signals.importLimitW === 11_000 || undefined, 'the limit over HTTPS');
      expect(await until(() => bad.status().lastError, 'the certificate failure')).toMatch(/certificate/i);
    } finally {
      await good.stop();
      await bad.stop();
      await vtn.stop();
    }
  });
});

describeWithPeer('mosquitto', hasCommand('mosquitto'), "OpenADR 3.1 VEN with the VTN's MQTT notifier", () => {
  it('connects out to the announced broker and applies pushed events without waiting for a poll', async () => {
    const broker = new MosquittoBroker();
    await broker.start();
    const vtn = await new TestVtn3({ mqttUrl: broker.url }).start();
    const program = vtn.addProgram('p');
    const site = siteContext({ id: 'dso', version: '3.1', vtnUrl: vtn.url, venName: 'v', pollIntervalS: 3600, client: { id: 'ven-client', secret: 'ven-secret' }, mqttNotifications: true });
    await site.timeline.start();
    const ven = createVen3Service(site.ctx, site.vtnConfig, { sink: site.timeline });
    const subscribed = vtn.next((r) => r.path === `/notifiers/mqtt/topics/programs/${program.id}/events`);
    await ven.start();
    try {
      await subscribed;
      await until(() => ven.status().notifications?.includes('mqtt') || undefined, 'the MQTT subscription');
      const limit = () => site.ctx.state.snapshot(Date.now()).signals.importLimitW;
      const event = vtn.putEvent({ id: 'e', programID: program.id, intervalPeriod: { start: iso(Date.now()), duration: 'PT1H' }, intervals: [{ id: 0, payloads: [{ type: 'IMPORT_CAPACITY_LIMIT', values: [17] }] }] });
      await vtn.publish('CREATE', event);
      await until(() => limit() === 17_000 || undefined, 'the pushed limit');
      vtn.deleteEvent('e');
      await vtn.publish('DELETE', event);
      await until(() => limit() === undefined || undefined, 'the pushed deletion');
      expect(vtn.requests.filter((r) => r.path === '/events')).toHaveLength(1); // no extra polls were needed
    } finally {
      await ven.stop();
      await site.timeline.stop();
      await vtn.stop();
      await broker.stop();
    }
  });
});

describe('OpenADR 3.1 VEN when the announced MQTT broker is down', () => {
  it('keeps polling and says why', async () => {
    const vtn = await new TestVtn3({ mqttUrl: 'mqtt://127.0.0.1:1' }).start();
    const program = vtn.addProgram('p');
    vtn.putEvent({ id: 'e', programID: program.id, intervalPeriod: { start: iso(Date.now()), duration: 'PT1H' }, intervals: [{ id: 0, payloads: [{ type: 'IMPORT_CAPACITY_LIMIT', values: [19] }] }] });
    const site = siteContext({ id: 'dso', version: '3.1', vtnUrl: vtn.url, venName: 'v', pollIntervalS: 0.05, client: { id: 'ven-client', secret: 'ven-secret' }, mqttNotifications: true });
    await site.timeline.start();
    const ven = createVen3Service(site.ctx, site.vtnConfig, { sink: site.timeline });
    await ven.start();
    try {
      await until(() => site.ctx.state.snapshot(Date.now()).signals.importLimitW === 19_000 || undefined, 'the polled limit');
      expect(await until(() => ven.status().lastError, 'the broker failure')).toMatch(/MQTT notifier/);
      await vtn.nextEventsPoll(); // still polling
    } finally {
      await ven.stop();
      await site.timeline.stop();
      await vtn.stop();
    }
  });
});
