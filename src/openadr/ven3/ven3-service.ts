import { randomBytes, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { OpenAdrConfig } from '../../../config/schema.ts';
import { z } from 'zod';
import type { Service, ServiceContext } from '../../service.ts';
import { OpenAdrTransportError } from '../errors.ts';
import { certificateExpiryMs, loadTls, type TlsMaterial } from '../http-request.ts';
import { formatDateTime, formatIsoDuration } from '../iso-duration.ts';
import { PowerSamples, siteImportPowerW } from '../power-samples.ts';
import { eventToSignals } from '../signal-mapping.ts';
import type { OpenAdrSignal, SignalSinkLike, VenStatus } from '../types.ts';
import { fallbackSignals } from './capacity-fallback.ts';
import { toVenEvent } from './event-mapping.ts';
import type { components } from './openapi.d.ts';
import {
  eventSchema,
  notifierTopicsSchema,
  notificationSchema,
  notifiersSchema,
  programSchema,
  reportSchema,
  resourceSchema,
  subscriptionSchema,
  venSchema,
  type Vtn3Event,
  type Vtn3Program,
} from './schemas.ts';
import { MqttNotifier } from './mqtt-notifier.ts';
import { Vtn3Client } from './vtn3-client.ts';

type Schemas = components['schemas'];

export interface Ven3Deps {
  sink: SignalSinkLike;
}

interface EventReport {
  reportId?: string;
  /** The intervals reported so far (gaps without a reading are left out). */
  intervals: Schemas['interval'][];
  /** Index of the next aligned interval to report. */
  nextK: number;
}

/** At most this many report intervals are worked through per poll. */
const MAX_INTERVALS_PER_POLL = 1000;

const RESOURCE_NAME = 'site';

/**
 * OpenADR 3.1 VEN: OAuth2 client credentials, VEN and resource registration, polling programs and
 * events (plus a webhook subscription when configured), events → site signals, and reports of the
 * site's import during events. An event that disappears from the VTN counts as cancelled.
 */
export function createVen3Service(ctx: ServiceContext, config: OpenAdrConfig, deps: Ven3Deps): Service & { status(): VenStatus; webhookUrl(): string | undefined } {
  const log = ctx.log.child({ module: 'openadr', vtn: config.id, version: '3.1' });
  const source = `openadr:${config.id}`;
  const firstSeen = new Map<string, number>();
  const reports = new Map<string, EventReport>();
  const samples = new PowerSamples();
  let events = new Map<string, Vtn3Event>();
  let programs = new Map<string, Vtn3Program>();
  let client: Vtn3Client | undefined;
  let tls: TlsMaterial | undefined;
  let venId: string | undefined;
  let resourceId: string | undefined;
  let subscriptionId: string | undefined;
  let webhook: { server: Server; token: string; localUrl: string } | undefined;
  let lastContactAtMs: number | undefined;
  let lastPollAtMs: number | undefined;
  let webhookCert: Buffer | undefined;
  let fault: string | undefined;
  let failedExchanges = 0;
  let faults = 0;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let inFlight: Promise<void> | undefined;
  let mqttNotifier: MqttNotifier | undefined;
  let mqttMissingLogged = false;
  let mqttSubscribed = false;
  let webhookRejection: string | undefined;

  // Out-of-range or contradictory values: each logged once with what was applied instead.
  const noted = new Set<string>();
  const noteOnce = (note: string) => {
    if (noted.has(note)) return;
    if (noted.size > 1000) noted.clear();
    noted.add(note);
    log.warn({ note }, `VTN value adjusted: ${note}`);
  };
  const mapping = { simpleLevels: config.simpleLevels, seed: config.venName, randomize: config.randomize, onAdjust: noteOnce };

  async function register(api: Vtn3Client): Promise<void> {
    const found = await api.send('GET', `/vens?${new URLSearchParams({ venName: config.venName })}`, venSchema.array());
    const existing = found.find((v) => v.venName === config.venName);
    if (existing) venId = existing.id;
    else {
      const body: Schemas['VenVenRequest'] = { objectType: 'VEN_VEN_REQUEST', venName: config.venName };
      venId = (await api.send('POST', '/vens', venSchema, body)).id;
    }
    const resources = await api.send('GET', `/resources?${new URLSearchParams({ venID: venId, resourceName: RESOURCE_NAME })}`, resourceSchema.array());
    const resource = resources.find((r) => r.resourceName === RESOURCE_NAME);
    if (resource) resourceId = resource.id;
    else {
      const body: Schemas['VenResourceRequest'] = { objectType: 'VEN_RESOURCE_REQUEST', resourceName: RESOURCE_NAME, venID: venId };
      resourceId = (await api.send('POST', '/resources', resourceSchema, body)).id;
    }
    log.info({ venId, resourceId }, 'registered with VTN');
  }

  /**
   * The VTN may have lost this VEN (a reset, a restore from an old backup): when its VEN or
   * resource object is gone, both are created again, and the subscription with them.
   */
  async function verifyRegistration(api: Vtn3Client): Promise<void> {
    if (!venId) return;
    const gone = async (path: string) => {
      try {
        await api.send('GET', path, z.unknown());
        return false;
      } catch (error) {
        if (error instanceof OpenAdrTransportError && error.status === 404) return true;
        throw error;
      }
    };
    const lostVen = await gone(`/vens/${encodeURIComponent(venId)}`);
    const lostResource = !lostVen && resourceId !== undefined && (await gone(`/resources/${encodeURIComponent(resourceId)}`));
    if (!lostVen && !lostResource) return;
    log.warn({ venId, resourceId, lost: lostVen ? 'ven' : 'resource' }, 'the VTN has lost this VEN; registering again');
    venId = undefined;
    resourceId = undefined;
    subscriptionId = undefined;
    reports.clear();
    await register(api);
  }

  async function subscribe(api: Vtn3Client): Promise<void> {
    if (!config.webhook || !webhook || subscriptionId) return;
    const body: Schemas['subscriptionRequest'] = {
      clientName: config.venName,
      objectOperations: [{ objects: ['EVENT', 'PROGRAM'], operations: ['CREATE', 'UPDATE', 'DELETE'], callbackUrl: config.webhook.publicUrl, bearerToken: webhook.token }],
    };
    subscriptionId = (await api.send('POST', '/subscriptions', subscriptionSchema, body)).id;
    log.info({ subscriptionId, callbackUrl: config.webhook.publicUrl }, 'subscribed to event notifications');
  }

  async function fetchAll(api: Vtn3Client): Promise<void> {
    const allPrograms = await api.list('/programs', {}, programSchema);
    const followed = config.programs.length ? allPrograms.filter((p) => config.programs.includes(p.programName)) : allPrograms;
    const nextPrograms = new Map(followed.map((p) => [p.id, p]));
    const nextEvents = new Map<string, Vtn3Event>();
    for (const program of followed) {
      for (const event of await api.list('/events', { programID: program.id }, eventSchema)) {
        if (event.programID === program.id) nextEvents.set(event.id, event);
      }
    }
    programs = nextPrograms;
    replaceEvents(nextEvents);
  }

  function replaceEvents(next: Map<string, Vtn3Event>): void {
    for (const [id, event] of events) if (!next.has(id)) log.info({ eventId: id, program: event.programID }, 'event disappeared from the VTN; treated as cancelled');
    for (const [id, event] of next) {
      const previous = events.get(id);
      if (!previous) log.info({ eventId: id, program: event.programID, name: event.eventName }, 'event received');
      else if (previous.modificationDateTime !== event.modificationDateTime) log.info({ eventId: id }, 'event modified');
    }
    events = next;
    for (const id of firstSeen.keys()) if (!events.has(id)) firstSeen.delete(id);
    publish();
  }

  function publish(): void {
    const nowMs = ctx.clock.nowMs();
    const signals: OpenAdrSignal[] = [];
    const subscriptions: OpenAdrSignal[] = [];
    for (const event of events.values()) {
      if (!firstSeen.has(event.id)) firstSeen.set(event.id, nowMs);
      const mapped = toVenEvent(event, programs.get(event.programID), firstSeen.get(event.id)!);
      if (mapped.unsupported.length) log.debug({ eventId: event.id, unsupported: mapped.unsupported }, 'event payloads not used by this site');
      if (config.optOut) continue;
      signals.push(...eventToSignals(source, mapped.event, mapping));
      subscriptions.push(...eventToSignals(source, mapped.subscriptions, mapping));
    }
    deps.sink.submit(source, [...signals, ...fallbackSignals(subscriptions, signals)]);
  }

  /**
   * Site import during each event that asks for a report (reportDescriptors) and that the site
   * takes part in: one interval per report period, aligned to the event's start (interval k covers
   * start + k·period .. start + (k+1)·period), sent once it is complete. A report this VEN made
   * before a restart is found on the VTN and continued, not created twice.
   */
  async function sendReports(api: Vtn3Client): Promise<void> {
    const nowMs = ctx.clock.nowMs();
    const periodMs = config.reportIntervalS * 1000;
    const startOf = new Map<string, number>();
    for (const s of ctx.state.signals) {
      const eventId = (s as OpenAdrSignal).eventId;
      if (s.source !== source || !eventId || !(s.startMs <= nowMs && nowMs < s.endMs + periodMs)) continue;
      startOf.set(eventId, Math.min(startOf.get(eventId) ?? Infinity, s.startMs));
    }
    for (const event of events.values()) {
      const descriptors = event.reportDescriptors ?? [];
      const eventStartMs = startOf.get(event.id);
      if (!descriptors.length || eventStartMs === undefined || config.optOut) continue;
      if (deps.sink.optState(source, event.id) === 'out') continue;
      let state = reports.get(event.id);
      if (!state) {
        // Intervals before this VEN had any reading cannot be reported: start at the first one it saw.
        const firstSampleMs = samples.range(eventStartMs, nowMs + 1)[0]?.atMs ?? nowMs;
        state = (await findOwnReport(api, event.id)) ?? { intervals: [], nextK: Math.max(0, Math.floor((firstSampleMs - eventStartMs) / periodMs)) };
        reports.set(event.id, state);
      }
      const wantsDemand = descriptors.some((d) => d.payloadType === 'DEMAND') && !descriptors.some((d) => d.payloadType === 'USAGE');
      let added = false;
      // Every complete, aligned interval not reported yet.
      for (let n = 0; n < MAX_INTERVALS_PER_POLL; n++) {
        const k = state.nextK;
        const fromMs = eventStartMs + k * periodMs;
        const toMs = fromMs + periodMs;
        if (toMs > nowMs) break;
        const window = samples.range(fromMs, toMs);
        if (!window.length) {
          // No reading in that period: a gap, not a zero. Wait one period for a late sample.
          if (nowMs - toMs <= periodMs) break;
          state.nextK++;
          continue;
        }
        const averageW = window.reduce((sum, x) => sum + x.powerW, 0) / window.length;
        state.intervals.push({
          id: k,
          intervalPeriod: { start: formatDateTime(fromMs), duration: formatIsoDuration(periodMs) },
          payloads: [{ type: wantsDemand ? 'DEMAND' : 'USAGE', values: [round3(wantsDemand ? averageW / 1000 : (averageW / 1000) * (periodMs / 3_600_000))] }],
        });
        state.nextK++;
        added = true;
      }
      if (!added) continue;
      const intervals = state.intervals;
      const body: Schemas['reportRequest'] = {
        eventID: event.id,
        clientName: config.venName,
        reportName: reportName(event),
        payloadDescriptors: [
          { objectType: 'REPORT_PAYLOAD_DESCRIPTOR', payloadType: wantsDemand ? 'DEMAND' : 'USAGE', readingType: wantsDemand ? 'AVERAGE' : 'DIRECT_READ', units: wantsDemand ? 'KW' : 'KWH' },
        ],
        resources: [{ resourceName: RESOURCE_NAME, intervals }],
      };
      if (state.reportId) await api.send('PUT', `/reports/${encodeURIComponent(state.reportId)}`, reportSchema, body);
      else state.reportId = (await api.send('POST', '/reports', reportSchema, body)).id;
    }
    for (const id of reports.keys()) if (!events.has(id)) reports.delete(id);
  }

  const reportName = (event: Vtn3Event) => `site import during ${event.eventName ?? event.id}`;

  /** This VEN's report for the event, if the VTN already has one (made before a restart). */
  async function findOwnReport(api: Vtn3Client, eventId: string): Promise<EventReport | undefined> {
    let found: z.infer<typeof reportSchema>[];
    try {
      found = await api.list('/reports', { eventID: eventId, clientName: config.venName }, reportSchema);
    } catch (error) {
      if (error instanceof OpenAdrTransportError && error.status === 404) return undefined;
      throw error;
    }
    const own = found.find((r) => r.eventID === eventId && r.clientName === config.venName && (r.resources as { resourceName?: string }[] | undefined)?.some((x) => x.resourceName === RESOURCE_NAME));
    if (!own) return undefined;
    const intervals = ((own.resources as { resourceName?: string; intervals?: Schemas['interval'][] }[]).find((x) => x.resourceName === RESOURCE_NAME)?.intervals ?? []).slice();
    const lastId = intervals.reduce((max, i) => Math.max(max, typeof i.id === 'number' ? i.id : -1), -1);
    log.info({ eventId, reportId: own.id, intervals: intervals.length }, 'continuing the report made before a restart');
    return { reportId: own.id, intervals, nextK: lastId + 1 };
  }

  async function tick(): Promise<void> {
    const api = client!;
    lastPollAtMs = ctx.clock.nowMs();
    try {
      if (!venId) await register(api);
      else await verifyRegistration(api);
      await subscribe(api);
      await fetchAll(api);
      lastContactAtMs = ctx.clock.nowMs();
      samples.add(ctx.clock.nowMs(), siteImportPowerW(ctx));
      await sendReports(api);
      await connectMqtt(api); // last: a broker that is down must not hold up events or reports
      if (fault !== undefined) log.info('VTN exchange working again');
      fault = undefined;
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      failedExchanges++;
      if (fault === undefined) faults++;
      if (fault !== text) log.warn({ err: error }, `VTN exchange failed; last good event set stays in force: ${text}`);
      fault = text;
    }
  }

  function schedule(delayMs: number): void {
    if (!running) return;
    timer = setTimeout(() => {
      timer = undefined;
      inFlight = tick().finally(() => {
        inFlight = undefined;
        schedule(config.pollIntervalS * 1000);
      });
    }, delayMs);
  }

  function onNotification(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://callback');
    const echo = url.searchParams.get('echo');
    if (req.method === 'GET' && echo !== null) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(echo);
      return;
    }
    const auth = Buffer.from(String(req.headers.authorization ?? ''));
    const expected = Buffer.from(`Bearer ${webhook!.token}`);
    if (req.method !== 'POST') {
      reject(res, 405, `method ${String(req.method).slice(0, 10)} is not allowed (POST notifications, GET echo checks)`);
      return;
    }
    if (auth.length !== expected.length || !timingSafeEqual(auth, expected)) {
      reject(res, 401, req.headers.authorization ? 'the bearer token is not the one this VEN gave the VTN' : 'no bearer token');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= 1_000_000) chunks.push(chunk);
    });
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (typeof body === 'string') body = JSON.parse(body); // some VTNs encode the body twice
      } catch {
        reject(res, 400, 'the body is not JSON');
        return;
      }
      const outcome = applyNotification(body);
      if (typeof outcome === 'object') reject(res, 400, `invalid notification: ${outcome.invalid}`);
      else {
        res.writeHead(200).end();
        if (webhookRejection !== undefined) log.info('webhook notifications accepted again');
        webhookRejection = undefined;
      }
    });
  }

  /** Answers a refused webhook call and logs why, once per distinct reason. */
  function reject(res: ServerResponse, status: number, reason: string): void {
    res.writeHead(status).end();
    if (webhookRejection === reason) return;
    webhookRejection = reason;
    log.warn({ status, reason }, `webhook notification refused (HTTP ${status}): ${reason}`);
  }

  /** A webhook or MQTT notification: events apply at once; anything else triggers a re-read. */
  function applyNotification(body: unknown): 'applied' | { invalid: string } | 'reread' {
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body); // some VTNs encode the body twice
      } catch {
        return { invalid: 'a JSON string that is not JSON inside' };
      }
    }
    const parsed = notificationSchema.safeParse(body);
    if (!parsed.success) return { invalid: zodReason(parsed.error) };
    const event = parsed.data.objectType === 'EVENT' ? eventSchema.safeParse(parsed.data.object) : undefined;
    if (event && !event.success) return { invalid: `event: ${zodReason(event.error)}` };
    if (!event?.success) {
      // A program changed: re-read everything now, unless a poll is already under way.
      if (!inFlight) inFlight = tick().finally(() => (inFlight = undefined));
      return 'reread';
    }
    if (!programs.has(event.data.programID)) return 'applied';
    const next = new Map(events);
    if (parsed.data.operation === 'DELETE') next.delete(event.data.id);
    else next.set(event.data.id, event.data);
    replaceEvents(next);
    return 'applied';
  }

  async function connectMqtt(api: Vtn3Client): Promise<void> {
    if (!config.mqttNotifications) return;
    if (!mqttNotifier) {
      const notifiers = await api.send('GET', '/notifiers', notifiersSchema);
      if (!notifiers.MQTT) {
        if (!mqttMissingLogged) log.warn('the VTN offers no MQTT notifier; polling only');
        mqttMissingLogged = true;
        return;
      }
      const notifier = new MqttNotifier({
        binding: notifiers.MQTT,
        clientId: config.client?.id,
        token: await api.accessToken(),
        log,
        onNotification: (body, topic) => {
          const outcome = applyNotification(body);
          if (typeof outcome === 'object') log.warn({ topic, reason: outcome.invalid }, `MQTT notification is invalid; ignored: ${outcome.invalid}`);
        },
      });
      await notifier.connect();
      mqttNotifier = notifier;
    }
    const topics: string[] = [];
    for (const program of programs.values()) {
      const answer = await api.send('GET', `/notifiers/mqtt/topics/programs/${encodeURIComponent(program.id)}/events`, notifierTopicsSchema);
      const t = answer.topics;
      topics.push(...(t.ALL ? [t.ALL] : [t.CREATE, t.UPDATE, t.DELETE].filter((x): x is string => Boolean(x))));
    }
    await mqttNotifier.subscribe(topics);
    mqttSubscribed = true;
  }

  return {
    name: `openadr:${config.id}`,
    async start() {
      tls = loadTls(config.tls);
      client = new Vtn3Client({ baseUrl: config.vtnUrl, tls, timeoutMs: config.requestTimeoutMs, credentials: config.client, clock: ctx.clock, log });
      if (config.webhook) {
        const files = config.webhook.tls;
        webhookCert = files ? readPem(files.cert) : undefined;
        const server = files
          ? createHttpsServer({ cert: webhookCert!, key: readPem(files.key), minVersion: 'TLSv1.2' }, onNotification)
          : createServer(onNotification);
        server.listen(config.webhook.port, config.webhook.host);
        await once(server, 'listening');
        const address = server.address() as AddressInfo;
        webhook = { server, token: randomBytes(24).toString('base64url'), localUrl: `${files ? 'https' : 'http'}://${address.address}:${address.port}/` };
      }
      running = true;
      schedule(0);
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await inFlight;
      await mqttNotifier?.close();
      mqttNotifier = undefined;
      mqttSubscribed = false;
      if (webhook) {
        webhook.server.closeAllConnections();
        await new Promise((resolve) => webhook!.server.close(resolve));
        webhook = undefined;
      }
    },
    webhookUrl: () => webhook?.localUrl,
    status(): VenStatus {
      const nowMs = ctx.clock.nowMs();
      return {
        id: config.id,
        version: '3.1',
        registered: Boolean(venId),
        venId,
        lastContactAtMs,
        lastPollAtMs,
        lastError: fault,
        failedExchanges,
        faults,
        certificateExpiresAtMs: minDefined(certificateExpiryMs(tls?.cert), certificateExpiryMs(webhookCert)),
        pollIntervalMs: config.pollIntervalS * 1000,
        notifications: [...(subscriptionId ? ['webhook'] : []), ...(mqttSubscribed ? ['mqtt'] : [])],
        events: [...events.values()].map((event) => {
          const signals = ctx.state.signals.filter((s) => (s as OpenAdrSignal).eventId === event.id && s.source === source);
          const active = signals.some((s) => s.startMs <= nowMs && nowMs < s.endMs);
          const ended = signals.length > 0 && signals.every((s) => s.endMs <= nowMs);
          return {
            eventId: event.id,
            modificationNumber: 0,
            program: programs.get(event.programID)?.programName ?? event.programID,
            state: active ? 'active' : ended ? 'completed' : 'far',
            opt: config.optOut || deps.sink.optState(source, event.id) === 'out' ? 'out' : 'in',
            applied: !config.optOut,
          };
        }),
      };
    },
  };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

function zodReason(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`.slice(0, 200);
}

function readPem(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new OpenAdrTransportError(`cannot read the webhook TLS file ${path}`, undefined, { cause: error });
  }
}
