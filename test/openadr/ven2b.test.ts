import { execFileSync } from 'node:child_process';
import { afterEach, beforeAll, expect, it } from 'vitest';
import type { Service } from '../../src/service.ts';
import { createVen2bService } from '../../src/openadr/ven2b/ven2b-service.ts';
import { createTestPki, type TestPki } from '../fixtures/openadr/certs.ts';
import { TestVtn2b } from '../fixtures/openadr/vtn2b-server.ts';
import type { FixtureEvent } from '../fixtures/openadr/vtn2b-messages.ts';
import { MAX_VTN_POLL_MS } from '../../src/openadr/ven2b/ven2b-service.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { recordingLogger, siteContext, until } from './helpers.ts';

const MIN = 60_000;

describeWithPeer('openssl', hasCommand('openssl'), 'OpenADR 2.0b VEN against a mutual-TLS VTN', () => {
  let pki: TestPki;
  const running: { stop(): Promise<void> }[] = [];

  beforeAll(() => {
    pki = createTestPki();
  });

  afterEach(async () => {
    for (const item of running.splice(0).reverse()) await item.stop();
  });

  async function setup(options: { vtn?: Partial<ConstructorParameters<typeof TestVtn2b>[0]>; ven?: Record<string, unknown>; clientCert?: 'ven' | 'stranger' } = {}) {
    const vtn = await new TestVtn2b({ ca: pki.read(pki.caPath), cert: pki.read(pki.serverCertPath), key: pki.read(pki.serverKeyPath), ...options.vtn }).start();
    running.push(vtn);
    const stranger = options.clientCert === 'stranger';
    const recorder = recordingLogger();
    const { ctx, timeline, vtnConfig } = siteContext(
      {
        id: 'utility',
        version: '2.0b',
        vtnUrl: vtn.url,
        venName: 'depot-north',
        pollIntervalS: 0.05,
        tls: { ca: pki.caPath, cert: stranger ? pki.strangerCertPath : pki.clientCertPath, key: stranger ? pki.strangerKeyPath : pki.clientKeyPath },
        simpleLevels: { 1: 100_000, 2: 60_000, 3: 20_000 },
        ...options.ven,
      },
      recorder.log,
    );
    await timeline.start();
    running.push(timeline);
    const ven = createVen2bService(ctx, vtnConfig, { sink: timeline });
    return { vtn, ctx, timeline, ven, lines: recorder.lines, start: async () => (await ven.start(), running.push(ven as Service)) };
  }

  const simple = (level: number, over: Partial<FixtureEvent> = {}): FixtureEvent => ({
    eventId: 'shed-1',
    modificationNumber: 0,
    startMs: Date.now() - MIN,
    durationS: 3600,
    status: 'active',
    signals: [{ name: 'SIMPLE', type: 'level', intervals: [{ durationS: 3600, value: level }] }],
    ...over,
  });

  const importLimit = (ctx: ReturnType<typeof siteContext>['ctx']) => ctx.state.snapshot(Date.now()).signals.importLimitW;

  it('registers over mutual TLS 1.2 in the 2.0b order and then polls', async () => {
    const { vtn, start } = await setup();
    const polled = vtn.nextOf('oadrPoll');
    await start();
    await polled;
    expect(vtn.received.slice(0, 5).map((m) => `${m.service}:${m.type}`)).toEqual([
      'EiRegisterParty:oadrQueryRegistration',
      'EiRegisterParty:oadrCreatePartyRegistration',
      'EiReport:oadrRegisterReport',
      'EiEvent:oadrRequestEvent',
      'OadrPoll:oadrPoll',
    ]);
    expect(vtn.received[0].tlsVersion).toBe('TLSv1.2');
    expect(vtn.received[0].clientCN).toBe('ven');
    expect(vtn.received[1].body.oadrHttpPullModel).toBe('true');
    expect(vtn.received[4].body.venID).toBe(vtn.venId);
  });

  it('shows the certificate fingerprint the VTN knows this VEN by', async () => {
    const { ven, start } = await setup();
    await start();
    const openssl = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', pki.clientCertPath], { encoding: 'utf8' });
    const expected = openssl.trim().split('=')[1].split(':').slice(-10).join(':');
    expect(ven.status().certificateFingerprint).toBe(expected);
    expect(expected).toMatch(/^([0-9A-F]{2}:){9}[0-9A-F]{2}$/);
  });

  it("polls no more often than the VTN's requested frequency", async () => {
    const { vtn, ven, start } = await setup({ vtn: { pollFreqS: 30 } });
    await start();
    await vtn.nextOf('oadrRequestEvent');
    expect(ven.status().pollIntervalMs).toBe(30_000);
  });

  it('polls at most every 5 min however slow a poll period the VTN asks for, and says so once', async () => {
    const { vtn, ven, start } = await setup({ vtn: { pollFreqS: 365 * 86_400 } });
    await start();
    await vtn.nextOf('oadrRequestEvent');
    expect(ven.status().pollIntervalMs).toBe(MAX_VTN_POLL_MS);
    expect(MAX_VTN_POLL_MS).toBe(300_000);
  });

  it('finishes setup on the next poll when the VTN fails half-way through registration', async () => {
    const { vtn, ctx, start, ven } = await setup();
    vtn.events = [simple(2)];
    vtn.failOnce.set('oadrRegisterReport', 500);
    const answered = vtn.nextOf('oadrCreatedEvent');
    await start();
    await answered;
    expect(importLimit(ctx)).toBe(60_000);
    expect(vtn.received.filter((m) => m.type === 'oadrCreatePartyRegistration')).toHaveLength(1);
    expect(vtn.received.filter((m) => m.type === 'oadrRegisterReport')).toHaveLength(2);
    expect(ven.status().registered).toBe(true);
  });

  it('applies a SIMPLE event as the configured import limit within one poll and opts in', async () => {
    const { vtn, ctx, start } = await setup();
    await start();
    await vtn.nextOf('oadrPoll');
    const reply = vtn.nextOf('oadrCreatedEvent');
    vtn.setEvents([simple(2)]);
    const created = await reply;
    const response = created.body.eiCreatedEvent.eventResponses.eventResponse[0] ?? created.body.eiCreatedEvent.eventResponses.eventResponse;
    expect(response.optType).toBe('optIn');
    expect(response.qualifiedEventID).toEqual({ eventID: 'shed-1', modificationNumber: '0' });
    expect(response.requestID).toMatch(/^dist-/);
    expect(importLimit(ctx)).toBe(60_000);
    expect(ctx.state.signals.find((s) => s.kind === 'load-shed')?.value).toBe(2);
  });

  it('follows modifications once each, and lifts the limit when the event is cancelled', async () => {
    const { vtn, ctx, start } = await setup();
    vtn.events = [simple(1)];
    const first = vtn.nextOf('oadrCreatedEvent');
    await start();
    await first;
    expect(importLimit(ctx)).toBe(100_000);

    const modified = vtn.nextOf('oadrCreatedEvent');
    vtn.setEvents([simple(3, { modificationNumber: 1 })]);
    expect((await modified).body.eiCreatedEvent.eventResponses.eventResponse.qualifiedEventID.modificationNumber).toBe('1');
    expect(importLimit(ctx)).toBe(20_000);

    // the same modification again: nothing new to answer
    const before = vtn.received.filter((m) => m.type === 'oadrCreatedEvent').length;
    vtn.setEvents([simple(3, { modificationNumber: 1 })]);
    await until(() => vtn.pollQueue.length === 0, 'the repeat to be polled');
    await vtn.nextOf('oadrPoll');
    expect(vtn.received.filter((m) => m.type === 'oadrCreatedEvent').length).toBe(before);

    const cancelled = vtn.nextOf('oadrCreatedEvent');
    vtn.setEvents([simple(3, { modificationNumber: 2, status: 'cancelled' })]);
    expect((await cancelled).body.eiCreatedEvent.eventResponses.eventResponse.qualifiedEventID.modificationNumber).toBe('2');
    expect(importLimit(ctx)).toBeUndefined();
  });

  it('holds a limit exactly for the event period and withdraws an event the VTN stops sending', async () => {
    const { vtn, ctx, timeline, start } = await setup();
    const startMs = Math.floor(Date.now() / 1000) * 1000 + 10 * MIN;
    vtn.events = [simple(3, { startMs, durationS: 1800, status: 'far', signals: [{ name: 'SIMPLE', type: 'level', intervals: [{ durationS: 600, value: 1 }, { durationS: 1200, value: 3 }] }] })];
    const answered = vtn.nextOf('oadrCreatedEvent');
    await start();
    await answered;
    const limits = timeline.list().filter((s) => s.kind === 'import-limit');
    expect(limits.map((s) => [s.startMs - startMs, s.endMs - startMs, s.value])).toEqual([
      [0, 10 * MIN, 100_000],
      [10 * MIN, 30 * MIN, 20_000],
    ]);
    expect(importLimit(ctx)).toBeUndefined(); // not started yet
    expect(ctx.state.snapshot(startMs + 15 * MIN).signals.importLimitW).toBe(20_000);
    expect(ctx.state.snapshot(startMs + 30 * MIN).signals.importLimitW).toBeUndefined();

    vtn.setEvents([]);
    await until(() => timeline.list().length === 0 || undefined, 'the withdrawn event to leave the timeline');
  });

  it('turns price and capacity signals into prices and import limits', async () => {
    const { vtn, ctx, timeline, start } = await setup();
    vtn.events = [
      {
        eventId: 'price-1',
        modificationNumber: 0,
        startMs: Date.now() - MIN,
        durationS: 7200,
        status: 'active',
        signals: [{ name: 'ELECTRICITY_PRICE', type: 'price', unit: 'EUR', intervals: [{ durationS: 3600, value: 0.31 }, { durationS: 3600, value: 0.12 }] }],
      },
      {
        eventId: 'cap-1',
        modificationNumber: 0,
        startMs: Date.now() - MIN,
        durationS: 3600,
        status: 'active',
        signals: [{ name: 'LOAD_CONTROL', type: 'x-loadControlCapacity', unit: 'kW', intervals: [{ durationS: 3600, value: 45 }] }],
      },
    ];
    const answered = vtn.nextOf('oadrCreatedEvent');
    await start();
    const created = await answered;
    expect(created.body.eiCreatedEvent.eventResponses.eventResponse.map((r: any) => r.optType)).toEqual(['optIn', 'optIn']);
    expect(timeline.list().filter((s) => s.kind === 'price').map((s) => s.value)).toEqual([0.31, 0.12]);
    expect(importLimit(ctx)).toBe(45_000);
  });

  it('logs a contradictory x-loadControlCapacity of 150.0 once, with the nearest safe value it applies', async () => {
    const { vtn, ctx, lines, start } = await setup();
    const capacity = (value: number, modificationNumber = 0): FixtureEvent => ({
      eventId: 'cap-150',
      modificationNumber,
      startMs: Date.now() - MIN,
      durationS: 3600,
      status: 'active',
      signals: [{ name: 'LOAD_CONTROL', type: 'x-loadControlCapacity', intervals: [{ durationS: 3600, value }] }],
    });
    vtn.events = [capacity(150)];
    await start();
    // No power unit: a fraction of the site's 100 A × 230 V × 3 = 69 kW; 150 becomes 1 (all of it).
    await until(() => importLimit(ctx) === 69_000, 'the nearest safe value applied');
    vtn.setEvents([capacity(150)]);
    await vtn.nextOf('oadrPoll');
    await vtn.nextOf('oadrPoll');
    const notes = lines.filter((l) => /x-loadControlCapacity 150 is outside 0\.\.1/.test(l.msg));
    expect(notes).toHaveLength(1);
    expect(notes[0]!.msg).toMatch(/applied the nearest safe value 1 \(69000 W\)/);
    vtn.setEvents([capacity(0.5, 1)]);
    await until(() => importLimit(ctx) === 34_500, 'a valid fraction applied as sent');
  });

  it('answers malformed XML with 454, logs one line, and keeps the last good events in force', async () => {
    const { vtn, ctx, lines, start } = await setup();
    vtn.events = [simple(2)];
    const answered = vtn.nextOf('oadrCreatedEvent');
    await start();
    await answered;
    expect(importLimit(ctx)).toBe(60_000);

    const rejected = vtn.next((m) => m.type === 'oadrResponse' && m.body.eiResponse.responseCode === '454');
    vtn.pollQueue.push('<oadrPayload><oadrSignedObject><oadrDistributeEvent></oadrPayload>', '<not-xml');
    await rejected;
    const invalid = vtn.next((m) => m.type === 'oadrCreatedEvent' && m.body.eiCreatedEvent.eiResponse.responseCode === '454');
    vtn.pollQueue.push(vtn.distribute().replace(/<ei:eventID>shed-1<\/ei:eventID>/, ''));
    await invalid;
    await vtn.nextOf('oadrPoll');
    expect(importLimit(ctx)).toBe(60_000);
    const warnings = lines.filter((l) => l.level >= 40 && /last good event set/.test(l.msg));
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.length).toBeLessThanOrEqual(3); // one per distinct fault, not one per poll
  });

  it('tells the VTN when the operator opts out, and lifts the limit', async () => {
    const { vtn, ctx, timeline, start } = await setup();
    vtn.events = [simple(3)];
    const answered = vtn.nextOf('oadrCreatedEvent');
    await start();
    await answered;
    const optOut = vtn.nextOf('oadrCreatedEvent');
    timeline.optOut('shed-1', { username: 'olga', role: 'operator' });
    expect((await optOut).body.eiCreatedEvent.eventResponses.eventResponse.optType).toBe('optOut');
    expect(importLimit(ctx)).toBeUndefined();
    expect(timeline.list().every((s) => s.opt === 'out')).toBe(true);
  });

  it('opts out of every event when configured to, applying none', async () => {
    const { vtn, ctx, start } = await setup({ ven: { optOut: true } });
    vtn.events = [simple(3)];
    const answered = vtn.nextOf('oadrCreatedEvent');
    await start();
    expect((await answered).body.eiCreatedEvent.eventResponses.eventResponse.optType).toBe('optOut');
    expect(importLimit(ctx)).toBeUndefined();
  });

  it('opts out of events from programs it does not follow', async () => {
    const { vtn, ctx, start } = await setup({ ven: { programs: ['http://gridco.example/dr/other'] } });
    vtn.events = [simple(3)];
    const answered = vtn.nextOf('oadrCreatedEvent');
    await start();
    expect((await answered).body.eiCreatedEvent.eventResponses.eventResponse.optType).toBe('optOut');
    expect(importLimit(ctx)).toBeUndefined();
  });

  it('delays the start by a stable random share of startafter', async () => {
    const { vtn, timeline, start } = await setup();
    const startMs = Math.floor(Date.now() / 1000) * 1000 + 60 * MIN;
    vtn.events = [simple(2, { startMs, status: 'far', startAfterS: 600 })];
    const answered = vtn.nextOf('oadrCreatedEvent');
    await start();
    await answered;
    const [first] = timeline.list().filter((s) => s.kind === 'import-limit');
    const offsetMs = first.startMs - startMs;
    expect(offsetMs).toBeGreaterThanOrEqual(0);
    expect(offsetMs).toBeLessThanOrEqual(600_000);
    expect(first.endMs - first.startMs).toBe(3600_000);
    vtn.setEvents([simple(2, { startMs, status: 'near', startAfterS: 600, modificationNumber: 1 })]);
    await vtn.next((m) => m.type === 'oadrCreatedEvent');
    expect(timeline.list().find((s) => s.kind === 'import-limit')?.startMs).toBe(first.startMs);
  });

  it('reports site import power as the VTN requested', async () => {
    const { vtn, ctx, start } = await setup({ vtn: { reportRequest: { reportRequestId: 'rr-1', granularityS: 1, backS: 1 } } });
    ctx.bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs: Date.now(), powerW: 42_000, currentA: [60, 61, 62] });
    const created = vtn.nextOf('oadrCreatedReport');
    const update = vtn.nextOf('oadrUpdateReport');
    await start();
    expect((await created).body.oadrPendingReports.reportRequestID).toBe('rr-1');
    const report = (await update).body.oadrReport;
    expect(report.reportRequestID).toBe('rr-1');
    expect(report.reportName).toBe('TELEMETRY_USAGE');
    const intervals = [report.intervals.interval].flat();
    expect(intervals.length).toBeGreaterThan(0);
    expect(intervals.every((i: any) => i.oadrReportPayload.payloadFloat.value === '42000')).toBe(true);
  });

  it('re-registers when asked, and withdraws its events when the VTN cancels the registration', async () => {
    const { vtn, ctx, start } = await setup();
    vtn.events = [simple(2)];
    const answered = vtn.nextOf('oadrCreatedEvent');
    await start();
    await answered;

    const again = vtn.next((m) => m.type === 'oadrCreatePartyRegistration' && m.body.registrationID === vtn.registrationId);
    vtn.pollQueue.push((await import('../fixtures/openadr/vtn2b-messages.ts')).requestReregistration(vtn.venId));
    const reregistration = await again;
    expect(reregistration.body.venID).toBe(vtn.venId);
    const ackIndex = vtn.received.findIndex((m) => m.type === 'oadrResponse' && m.service === 'EiRegisterParty');
    expect(ackIndex).toBeGreaterThan(-1);
    expect(ackIndex).toBeLessThan(vtn.received.indexOf(reregistration));

    const canceled = vtn.nextOf('oadrCanceledPartyRegistration');
    vtn.events = [];
    vtn.pollQueue.push(
      (await import('../fixtures/openadr/vtn2b-messages.ts')).cancelPartyRegistration({ requestId: 'cancel-1', registrationId: vtn.registrationId, venId: vtn.venId }),
    );
    const ack = await canceled;
    expect(ack.body.eiResponse.requestID).toBe('cancel-1');
    expect(ack.body.registrationID).toBe(vtn.registrationId);
    expect(importLimit(ctx)).toBeUndefined();
  });

  it('sends oadrCancelPartyRegistration when the site leaves the program', async () => {
    const { vtn, ven, start } = await setup();
    await start();
    await vtn.nextOf('oadrPoll');
    const cancel = vtn.nextOf('oadrCancelPartyRegistration');
    await ven.stop();
    await ven.deregister();
    expect((await cancel).body.registrationID).toBe(vtn.registrationId);
    expect(ven.status().registered).toBe(false);
  });

  it('cannot register with a certificate the VTN does not trust, and keeps running', async () => {
    const { vtn, ven, lines, start } = await setup({ clientCert: 'stranger' });
    await start();
    await until(() => ven.status().lastError, 'the TLS failure to surface');
    expect(ven.status().registered).toBe(false);
    expect(vtn.received).toEqual([]);
    expect(lines.filter((l) => l.level >= 40).length).toBe(1);
  });

  it('registers afresh when the VTN restarts with no memory of the VEN, logging the VTN\'s code', async () => {
    const { vtn, ven, lines, ctx, start } = await setup();
    vtn.events = [simple(2)];
    await start();
    await until(() => ven.status().registered, 'the first registration');
    await until(() => importLimit(ctx) === 60_000, 'the first event applied');
    const oldVenId = vtn.venId;
    await vtn.restart();
    expect(vtn.venId).not.toBe(oldVenId);
    // The stale ids are refused once (452), then a registration without them succeeds.
    const fresh = await vtn.next((m) => m.type === 'oadrCreatePartyRegistration' && m.body.venID === undefined && m.body.registrationID === undefined);
    expect(fresh).toBeDefined();
    await until(() => ven.status().venId === vtn.venId, 'the new venID');
    expect(lines.some((l) => l.level === 40 && /registering afresh/.test(l.msg))).toBe(true);
    expect(lines.some((l) => /452 Invalid ID: unknown VEN/.test(l.msg))).toBe(true);
    // The last good event stayed in force meanwhile, and a new event arrives on the new registration.
    expect(importLimit(ctx)).toBe(60_000);
    const answered = vtn.nextOf('oadrCreatedEvent');
    vtn.setEvents([simple(3, { eventId: 'shed-2' })]);
    expect((await answered).body.eiCreatedEvent.venID).toBe(vtn.venId);
    await until(() => importLimit(ctx) === 20_000, 'the new event applied');
    // Polls after that name only the new venID.
    const poll = await vtn.nextOf('oadrPoll');
    expect(poll.body.venID).toBe(vtn.venId);
  });

  it('runs one report stream per request after oadrRequestReregistration', async () => {
    const { vtn, start } = await setup({ vtn: { reportRequest: { reportRequestId: 'rr-1', granularityS: 1, backS: 1 } } });
    await start();
    await vtn.nextOf('oadrUpdateReport');
    const reregistered = vtn.next((m) => m.type === 'oadrCreatedReport' && vtn.received.filter((r) => r.type === 'oadrCreatePartyRegistration').length >= 2);
    // After re-registration the VTN asks for the same telemetry under a new request id.
    vtn.reportRequest = { reportRequestId: 'rr-2', granularityS: 1, backS: 1 };
    vtn.pollQueue.push((await import('../fixtures/openadr/vtn2b-messages.ts')).requestReregistration(vtn.venId));
    expect([(await reregistered).body.oadrPendingReports.reportRequestID].flat()).toEqual(['rr-2']);
    const from = vtn.received.length;
    await vtn.nextOf('oadrUpdateReport');
    await vtn.nextOf('oadrUpdateReport');
    await vtn.nextOf('oadrUpdateReport');
    const updates = vtn.received.slice(from).filter((m) => m.type === 'oadrUpdateReport');
    // Only the new stream runs; the old request id is gone.
    expect(updates.map((u) => u.body.oadrReport.reportRequestID)).toEqual(['rr-2', 'rr-2', 'rr-2']);
  });
});
