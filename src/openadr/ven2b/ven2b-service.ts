import type { OpenAdrConfig } from '../../../config/schema.ts';
import type { Service, ServiceContext } from '../../service.ts';
import { OpenAdrAuthError, OpenAdrProtocolError, OpenAdrTransportError, OpenAdrUnknownVenError, UNKNOWN_VEN_CODES } from '../errors.ts';
import { certificateExpiryMs, loadTls, sendHttp, venFingerprint, type TlsMaterial } from '../http-request.ts';
import { eventToSignals, randomOffsetMs } from '../signal-mapping.ts';
import type { OpenAdrSignal, SignalSinkLike, VenStatus } from '../types.ts';
import { PowerSamples, siteImportPowerW } from '../power-samples.ts';
import { eventState, toVenEvent } from './event-mapping.ts';
import { TelemetryReports } from './telemetry-reports.ts';
import * as build from './xml-build.ts';
import { Oadr2bInvalidMessageError, parseMessage, type IncomingMessage, type IncomingOf, type Oadr2bEvent, type ReportRequest } from './xml-parse.ts';

type ServiceName = 'EiRegisterParty' | 'EiEvent' | 'EiReport' | 'OadrPoll';

export interface Ven2bDeps {
  sink: SignalSinkLike;
}

interface KnownEvent {
  event: Oadr2bEvent;
  requestId: string;
  repliedModification?: number;
  repliedOpt?: 'optIn' | 'optOut';
  applied: boolean;
  note?: string;
}

/**
 * OpenADR 2.0b VEN, simple HTTP pull: registers, polls at the VTN's frequency, answers every
 * message, turns events into site signals and reports site import power. Mutual TLS 1.2.
 */
/** The slowest poll period a VTN may ask for (oadrRequestedOadrPollFreq); beyond it the VEN polls at this. */
export const MAX_VTN_POLL_MS = 5 * 60_000;

export function createVen2bService(ctx: ServiceContext, config: OpenAdrConfig, deps: Ven2bDeps): Service & { status(): VenStatus; deregister(): Promise<void> } {
  const log = ctx.log.child({ module: 'openadr', vtn: config.id, version: '2.0b' });
  const source = `openadr:${config.id}`;
  const base = config.vtnUrl.replace(/\/+$/, '');
  const events = new Map<string, KnownEvent>();
  const reports = new TelemetryReports(config.reportIntervalS * 1000);
  const samples = new PowerSamples();
  let tls: TlsMaterial | undefined;
  let venId: string | undefined;
  let registrationId: string | undefined;
  let vtnId: string | undefined;
  let pollFreqMs: number | undefined;
  let cappedPollFreqLogged: number | undefined;
  let lastContactAtMs: number | undefined;
  let lastPollAtMs: number | undefined;
  let fault: string | undefined;
  let failedExchanges = 0;
  let faults = 0;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let inFlight: Promise<void> | undefined;
  let counter = 0;
  let unsubscribe: (() => void) | undefined;
  let pendingSetup = false;

  // Out-of-range or contradictory values: each logged once with what was applied instead.
  const noted = new Set<string>();
  const noteOnce = (note: string) => {
    if (noted.has(note)) return;
    if (noted.size > 1000) noted.clear();
    noted.add(note);
    log.warn({ note }, `VTN value adjusted: ${note}`);
  };

  const requestId = () => `${config.venName}-${ctx.clock.nowMs().toString(36)}-${(++counter).toString(36)}`;
  const intervalMs = () => Math.max(config.pollIntervalS * 1000, pollFreqMs ?? 0);

  async function exchange(service: ServiceName, xml: string): Promise<IncomingMessage> {
    const res = await sendHttp({
      method: 'POST',
      url: `${base}/${service}`,
      headers: { 'content-type': 'application/xml' },
      body: xml,
      tls,
      tls12Only: true,
      timeoutMs: config.requestTimeoutMs,
    });
    if (res.status < 200 || res.status >= 300) throw new OpenAdrTransportError(`${service}: VTN answered HTTP ${res.status}`, res.status);
    lastContactAtMs = ctx.clock.nowMs();
    if (!res.body.trim()) return { type: 'oadrResponse', response: { responseCode: 200, requestID: '' }, venId };
    return parseMessage(res.body);
  }

  /** "452 Invalid ID" from the VTN's eiResponse, for logs and errors. */
  const describeResponse = (response: { responseCode: number; responseDescription?: string | undefined }) =>
    `${response.responseCode}${response.responseDescription ? ` ${response.responseDescription}` : ''}`;

  function expect<T extends IncomingMessage['type']>(message: IncomingMessage, type: T): IncomingOf<T> {
    if (message.type === type) return message as IncomingOf<T>;
    if (message.type === 'oadrResponse') {
      const text = `expected ${type}, VTN sent oadrResponse ${describeResponse(message.response)}`;
      if (UNKNOWN_VEN_CODES.has(message.response.responseCode)) throw new OpenAdrUnknownVenError(text);
      throw new OpenAdrProtocolError(text);
    }
    throw new OpenAdrProtocolError(`expected ${type}, VTN sent ${message.type}`);
  }

  /**
   * The VTN has lost this VEN (restarted without its database, or dropped the registration): the
   * stale ids are dropped so the next registration starts fresh. The last good events stay in
   * force until they end; report streams end with the registration they belonged to.
   */
  function dropStaleIds(why: string): void {
    if (venId === undefined && registrationId === undefined) return;
    log.warn({ venId, registrationId, why }, `VTN does not know this VEN any more; registering afresh (${why})`);
    venId = undefined;
    registrationId = undefined;
    pendingSetup = false;
    reports.clear();
  }

  /** Sends an acknowledgement; the VTN answers oadrResponse (or nothing). */
  async function acknowledge(service: ServiceName, xml: string): Promise<void> {
    const answer = await exchange(service, xml);
    if (answer.type === 'oadrResponse' && UNKNOWN_VEN_CODES.has(answer.response.responseCode)) {
      dropStaleIds(`VTN answered ${describeResponse(answer.response)} to ${service}`);
    } else if (answer.type === 'oadrResponse' && answer.response.responseCode >= 300) {
      log.warn({ service, code: answer.response.responseCode, description: answer.response.responseDescription }, `VTN refused an acknowledgement: ${describeResponse(answer.response)}`);
    }
  }

  /**
   * The VTN's requested poll period, taken when it is slower than the config's, but never beyond
   * MAX_VTN_POLL_MS: a VTN (or a garbled answer) asking for P1Y must not leave the site deaf to
   * events for a year. Logged once per requested value when capped.
   */
  function takePollFreq(requestedMs: number | undefined): void {
    if (requestedMs === undefined) return;
    if (requestedMs > MAX_VTN_POLL_MS && requestedMs !== cappedPollFreqLogged) {
      cappedPollFreqLogged = requestedMs;
      log.warn({ requestedMs, usedMs: MAX_VTN_POLL_MS }, 'the VTN asks for a poll period over the limit; polling at the limit instead');
    }
    pollFreqMs = Math.min(Math.max(0, requestedMs), MAX_VTN_POLL_MS);
  }

  async function register(): Promise<void> {
    const query = expect(await exchange('EiRegisterParty', build.queryRegistration(requestId())), 'oadrCreatedPartyRegistration');
    takePollFreq(query.pollFreqMs);
    let created: IncomingOf<'oadrCreatedPartyRegistration'>;
    try {
      created = await createRegistration();
    } catch (error) {
      // Re-registering with ids the VTN refuses: drop them and register as a new VEN, once.
      if (!(error instanceof OpenAdrUnknownVenError || error instanceof OpenAdrAuthError) || (venId === undefined && registrationId === undefined)) throw error;
      dropStaleIds((error as Error).message);
      created = await createRegistration();
    }
    venId = created.venId;
    registrationId = created.registrationId ?? registrationId;
    vtnId = created.vtnId;
    takePollFreq(created.pollFreqMs);
    log.info({ venId, registrationId, vtnId, pollFreqMs }, 'registered with VTN');
    // Report streams belong to a registration: the VTN asks again for what it wants now.
    reports.clear();
    pendingSetup = true;
    await completeSetup();
  }

  async function createRegistration(): Promise<IncomingOf<'oadrCreatedPartyRegistration'>> {
    const created = expect(
      await exchange('EiRegisterParty', build.createPartyRegistration({ requestId: requestId(), venName: config.venName, venId, registrationId })),
      'oadrCreatedPartyRegistration',
    );
    if (created.response.responseCode >= 300 || !created.venId) {
      const text = `VTN refused registration: ${describeResponse(created.response)}`;
      if (UNKNOWN_VEN_CODES.has(created.response.responseCode)) throw new OpenAdrUnknownVenError(text);
      throw new OpenAdrAuthError(text);
    }
    return created;
  }

  /** Report registration and the first event request; retried on the next tick until both went through. */
  async function completeSetup(): Promise<void> {
    const registered = expect(
      await exchange(
        'EiReport',
        build.registerReport({ requestId: requestId(), venId: venId!, createdAtMs: ctx.clock.nowMs(), minPeriodMs: 10_000, maxPeriodMs: 3_600_000 }),
      ),
      'oadrRegisteredReport',
    );
    if (registered.reportRequests.length) await acceptReportRequests(registered.response.requestID || requestId(), registered.reportRequests);
    await dispatch(await exchange('EiEvent', build.requestEvent({ requestId: requestId(), venId: venId! })));
    pendingSetup = false;
  }

  async function acceptReportRequests(ackRequestId: string, requests: readonly ReportRequest[]): Promise<void> {
    const refused = reports.accept(requests, ctx.clock.nowMs());
    if (refused.length) log.warn({ reportRequestIds: refused }, 'report requests name data points this VEN does not offer');
    await acknowledge('EiReport', build.createdReport({ code: 200, requestId: ackRequestId, venId: venId!, pendingReportRequestIds: reports.pendingIds() }));
  }

  async function dispatch(message: IncomingMessage): Promise<void> {
    switch (message.type) {
      case 'oadrResponse':
        if (UNKNOWN_VEN_CODES.has(message.response.responseCode)) dropStaleIds(`VTN answered ${describeResponse(message.response)}`);
        else if (message.response.responseCode >= 300) log.warn({ code: message.response.responseCode, description: message.response.responseDescription }, `VTN answered ${describeResponse(message.response)}`);
        return;
      case 'oadrDistributeEvent':
        return distribute(message);
      case 'oadrCreateReport':
        return acceptReportRequests(message.requestId, message.reportRequests);
      case 'oadrRegisterReport':
        return acknowledge('EiReport', build.registeredReport({ code: 200, requestId: message.requestId, venId: venId! }));
      case 'oadrCancelReport':
        reports.cancel(message.reportRequestIds);
        return acknowledge('EiReport', build.canceledReport({ code: 200, requestId: message.requestId, venId: venId!, pendingReportRequestIds: reports.pendingIds() }));
      case 'oadrUpdateReport':
        return acknowledge('EiReport', build.updatedReport({ code: 200, requestId: message.requestId, venId: venId! }));
      case 'oadrCancelPartyRegistration': {
        const ack = build.canceledPartyRegistration({ code: 200, requestId: message.requestId, registrationId: message.registrationId, venId });
        log.warn({ registrationId: message.registrationId }, 'VTN cancelled the registration; its events are withdrawn');
        await acknowledge('EiRegisterParty', ack);
        forgetRegistration();
        return;
      }
      case 'oadrRequestReregistration':
        log.info('VTN asks for re-registration');
        await acknowledge('EiRegisterParty', build.response({ code: 200, requestId: '', venId }));
        await register();
        return;
      default:
        log.warn({ type: message.type }, 'ignoring a message the VTN should not send to a VEN here');
    }
  }

  function forgetRegistration(): void {
    venId = undefined;
    registrationId = undefined;
    events.clear();
    reports.clear();
    deps.sink.submit(source, []);
  }

  function optFor(event: Oadr2bEvent, hasSupported: boolean): { opt: 'optIn' | 'optOut'; apply: boolean; note?: string } {
    if (config.programs.length && !config.programs.includes(event.marketContext)) return { opt: 'optOut', apply: false, note: 'program not followed' };
    if (!hasSupported && event.status !== 'cancelled') return { opt: 'optOut', apply: false, note: 'no supported signal' };
    if (config.optOut) return { opt: 'optOut', apply: false, note: 'configured to opt out' };
    if (deps.sink.optState(source, event.eventId) === 'out') return { opt: 'optOut', apply: true, note: 'operator opted out' };
    if (event.testEvent) return { opt: 'optIn', apply: false, note: 'test event' };
    return { opt: 'optIn', apply: true };
  }

  async function distribute(message: IncomingOf<'oadrDistributeEvent'>): Promise<void> {
    const replies: build.EventReply[] = [];
    const nowMs = ctx.clock.nowMs();
    const next = new Map<string, KnownEvent>();
    for (const event of message.events) {
      const previous = events.get(event.eventId);
      if (previous && previous.event.modificationNumber > event.modificationNumber) {
        next.set(event.eventId, previous); // a stale copy: keep the newer one
        continue;
      }
      const { event: venEvent, unsupported, adjusted } = toVenEvent(event, { siteCapacityW: siteCapacityW() });
      adjusted.forEach(noteOnce);
      if (unsupported.length) log.warn({ eventId: event.eventId, unsupported }, 'event carries signals this VEN does not support');
      const decision = optFor(event, venEvent.slots.length > 0);
      const known: KnownEvent = { event, requestId: message.requestId, applied: decision.apply, note: decision.note };
      if (previous?.repliedModification === event.modificationNumber && previous.repliedOpt === decision.opt) {
        known.repliedModification = previous.repliedModification;
        known.repliedOpt = previous.repliedOpt;
      } else if (event.responseRequired) {
        replies.push({ code: 200, requestId: message.requestId, eventId: event.eventId, modificationNumber: event.modificationNumber, opt: decision.opt, description: decision.note });
        known.repliedModification = event.modificationNumber;
        known.repliedOpt = decision.opt;
      }
      if (!previous || previous.event.modificationNumber !== event.modificationNumber) {
        log.info({ eventId: event.eventId, modificationNumber: event.modificationNumber, state: eventState(event, nowMs), opt: decision.opt }, 'event received');
      }
      next.set(event.eventId, known);
    }
    for (const eventId of events.keys()) if (!next.has(eventId)) log.info({ eventId }, 'event no longer distributed; withdrawn');
    events.clear();
    for (const [id, known] of next) events.set(id, known);
    publish();
    if (replies.length) await acknowledge('EiEvent', build.createdEvent({ venId: venId!, replies }));
  }

  function publish(): void {
    const signals: OpenAdrSignal[] = [];
    const options = { simpleLevels: config.simpleLevels, seed: config.venName, randomize: config.randomize, onAdjust: noteOnce };
    for (const known of events.values()) {
      if (!known.applied || known.event.status === 'cancelled') continue;
      signals.push(...eventToSignals(source, toVenEvent(known.event, { siteCapacityW: siteCapacityW() }).event, options));
    }
    deps.sink.submit(source, signals);
  }

  function siteCapacityW(): number {
    const grid = ctx.config.grid;
    return grid.maxPower ?? grid.maxCurrent * ctx.config.site.voltage * 3;
  }

  async function answerInvalid(error: Oadr2bInvalidMessageError): Promise<void> {
    if (!venId) return;
    if (error.messageType === 'oadrDistributeEvent') {
      await acknowledge('EiEvent', build.createdEvent({ venId, code: 454, description: error.message.slice(0, 200), replies: [] }));
    } else {
      await acknowledge(error.messageType?.includes('Report') ? 'EiReport' : 'EiEvent', build.response({ code: 454, requestId: error.requestId, venId, description: error.message.slice(0, 200) }));
    }
  }

  async function sendDueReports(): Promise<void> {
    const nowMs = ctx.clock.nowMs();
    for (const due of reports.due(nowMs, samples)) {
      const answer = await exchange('EiReport', build.updateReport({ requestId: requestId(), venId: venId!, createdAtMs: nowMs, ...due }));
      if ((answer.type === 'oadrUpdatedReport' || answer.type === 'oadrResponse') && UNKNOWN_VEN_CODES.has(answer.response.responseCode)) {
        dropStaleIds(`VTN answered ${describeResponse(answer.response)} to a report`);
        return;
      }
      if (answer.type === 'oadrUpdatedReport' && answer.response.responseCode >= 300) {
        log.warn({ code: answer.response.responseCode, description: answer.response.responseDescription }, `VTN refused a telemetry report: ${describeResponse(answer.response)}`);
      }
    }
  }

  async function tick(): Promise<void> {
    lastPollAtMs = ctx.clock.nowMs();
    try {
      if (!venId) await register();
      else if (pendingSetup) await completeSetup();
      samples.add(ctx.clock.nowMs(), siteImportPowerW(ctx));
      let message: IncomingMessage;
      try {
        message = await exchange('OadrPoll', build.poll(venId!));
      } catch (error) {
        if (error instanceof Oadr2bInvalidMessageError) {
          logFault(error);
          await answerInvalid(error);
          return;
        }
        throw error;
      }
      await dispatch(message);
      // The VTN lost us: register as a new VEN now rather than a poll period later.
      if (!venId) {
        await register();
        return clearFault();
      }
      await sendDueReports();
      clearFault();
    } catch (error) {
      logFault(error);
      if (error instanceof OpenAdrUnknownVenError) dropStaleIds(error.message);
      if (error instanceof Oadr2bInvalidMessageError) await answerInvalid(error).catch(() => undefined);
    }
  }

  function logFault(error: unknown): void {
    const text = error instanceof Error ? error.message : String(error);
    failedExchanges++;
    if (fault === undefined) faults++;
    if (fault === text) return;
    fault = text;
    log.warn({ err: error }, `VTN exchange failed; last good event set stays in force: ${text}`);
  }

  function clearFault(): void {
    if (fault === undefined) return;
    log.info('VTN exchange working again');
    fault = undefined;
  }

  function schedule(delayMs: number): void {
    if (!running) return;
    timer = setTimeout(() => {
      timer = undefined;
      inFlight = tick().finally(() => {
        inFlight = undefined;
        schedule(intervalMs());
      });
    }, delayMs);
  }

  async function onOptChange(change: { source: string; eventId: string; opt: 'in' | 'out' }): Promise<void> {
    if (change.source !== source) return;
    const known = events.get(change.eventId);
    if (!known || !venId) return;
    const opt = change.opt === 'out' ? 'optOut' : 'optIn';
    known.repliedOpt = opt;
    known.repliedModification = known.event.modificationNumber;
    try {
      await acknowledge(
        'EiEvent',
        build.createdEvent({ venId, replies: [{ code: 200, requestId: known.requestId, eventId: known.event.eventId, modificationNumber: known.event.modificationNumber, opt }] }),
      );
    } catch (error) {
      logFault(error);
    }
  }

  return {
    name: `openadr:${config.id}`,
    async start() {
      tls = loadTls(config.tls);
      running = true;
      unsubscribe = deps.sink.onOptChange((change) => void onOptChange(change));
      schedule(0);
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      unsubscribe?.();
      await inFlight;
    },
    async deregister() {
      if (!venId || !registrationId) return;
      const answer = await exchange('EiRegisterParty', build.cancelPartyRegistration({ requestId: requestId(), registrationId, venId }));
      if (answer.type !== 'oadrCanceledPartyRegistration' && answer.type !== 'oadrResponse') throw new OpenAdrProtocolError(`unexpected ${answer.type}`);
      forgetRegistration();
    },
    status(): VenStatus {
      const nowMs = ctx.clock.nowMs();
      const options = { simpleLevels: config.simpleLevels, seed: config.venName, randomize: config.randomize };
      return {
        id: config.id,
        version: '2.0b',
        registered: Boolean(venId),
        venId,
        vtnId,
        lastContactAtMs,
        lastPollAtMs,
        lastError: fault,
        failedExchanges,
        faults,
        certificateFingerprint: venFingerprint(tls?.cert),
        certificateExpiresAtMs: certificateExpiryMs(tls?.cert),
        pollIntervalMs: intervalMs(),
        events: [...events.values()].map((k) => ({
          eventId: k.event.eventId,
          modificationNumber: k.event.modificationNumber,
          program: k.event.marketContext,
          state: eventState(k.event, nowMs, randomOffsetMs({ eventId: k.event.eventId, randomizeMs: k.event.startAfterMs }, options)),
          opt: k.repliedOpt === 'optOut' ? 'out' : 'in',
          applied: k.applied,
          note: k.note,
        })),
      };
    },
  };
}
