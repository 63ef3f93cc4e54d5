import { Backoff } from '../../adapters/backoff.ts';
import type { ChargerConfig, UpstreamConfig } from '../../config/schema.ts';
import { monotonicMs, type Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { TransactionBookView } from '../ocpp/transaction-book.ts';
import { clearMatches, foldRequest, keptProfile, type KeptProfile } from './profile-fold.ts';
import { chargerAnswerTo201, chargerCallTo201, csmsAnswerTo16, csmsCallTo16, TRANSLATED_FROM_CHARGER } from './translate-16-201.ts';
import { csmsAnswerTo201, csmsCallTo201, NO_AUTHORIZATION_ID_TAG, noteEvent, stationAnswerTo16, stationCallTo16, transactionEventTo16, TRANSLATED_FROM_STATION, type StationTx } from './translate-201-16.ts';
import { UplinkUnavailable, UpstreamConnectError, UpstreamGarbled, UpstreamRefused, type UpstreamSocket } from './upstream-socket.ts';
import { STATION_TX_STALE_MS, type UpstreamStore } from './upstream-store.ts';

/** The charger-side connection as src/ocpp types it (structurally; src/upstream imports no code from there). */
export interface ChargerConnection {
  readonly identity: string;
  readonly protocol: string;
  call(action: string, req: unknown, timeoutMs?: number): Promise<any>;
  handle(action: string, handler: (req: any) => unknown): void;
  handleOther(handler: (action: string, req: unknown) => unknown): void;
  onInboundCall(listener: (action: string) => void): void;
  onValidationFailure(listener: (failure: any) => void): void;
  onClose(listener: (info: { code: number; reason: string }) => void): void;
  close(code?: number, reason?: string): Promise<void>;
  /** While a handler starts: the CALL's params as the charger spelled them (src/ocpp/transport.ts). */
  inboundParamsText?(action: string): string | undefined;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface CsmsProfileHolder {
  readonly profiles: readonly KeptProfile[];
  /** Replaces the kept profiles (and stores them durably). */
  replace(profiles: KeptProfile[]): void;
}

export type UplinkState = 'connecting' | 'online' | 'offline' | 'refused' | 'closed';

export interface RelayStatus {
  chargerId: string;
  upstreamId: string;
  protocol: string;
  uplink: UplinkState;
  /** Frames held back for the CSMS (durable). */
  queueLength: number;
  lastFromChargerAtMs?: number;
  lastToChargerAtMs?: number;
  lastFromCsmsAtMs?: number;
  lastToCsmsAtMs?: number;
  lastError?: string;
  /** CSMS charging profiles kept for this charger. */
  csmsProfiles: number;
}

export interface RelayDeps {
  charger: ChargerConfig;
  connection: ChargerConnection;
  upstream: UpstreamConfig;
  store: UpstreamStore;
  /** The site's one transaction book (src/ocpp): which transaction runs where, as the EMS recorded it. */
  book: TransactionBookView;
  log: Logger;
  clock: Clock;
  timers: Timers;
  voltageV: number;
  /** A new socket to the CSMS (not connected yet). */
  /** `chargerId`: whose socket it is (the wire-timing channels name it beside the upstream identity). */
  openSocket(identity: string, password: string | undefined, protocol: string, chargerId: string): UpstreamSocket;
  /** An error the charger's transport answers as a CALLERROR with this code. */
  refuse(code: string, message: string): Error;
  /** A tag the relay accepts while the uplink is down (acceptUnknownOffline): the EMS's own bookkeeping accepts it too. */
  markAccepted(idTag: string): void;
  /** Called when the status changed (for the bus, metrics and MQTT). */
  changed(relay: ChargerRelay): void;
  /** The CSMS's profiles for this charger; they outlive a connection of the charger and an EMS restart. */
  held: CsmsProfileHolder;
  /** [0, 1) for the reconnect jitter; Math.random when not given. */
  random?: () => number;
}

/** Charger frames that belong to a transaction's record and are queued while the uplink is down. */
const QUEUED = new Set(['StartTransaction', 'StopTransaction', 'MeterValues', 'TransactionEvent']);
/** MeterValues outside a transaction (1.6 without transactionId, every 2.0.1 one) are live data, not a record. */
const isRecord = (action: string, req: any, is16: boolean) => QUEUED.has(action) && (action !== 'MeterValues' || (is16 && req?.transactionId !== undefined));
/** Frames held in the queue while it is not empty: the records, and the latest status of each connector (older ones replaced). */
const isHeld = (action: string, req: any, is16: boolean) => action === 'StatusNotification' || isRecord(action, req, is16);
/** What a full queue gives up first, oldest first: meter values inside a transaction, never its start or end. */
const droppable = (action: string, payload: any) => action === 'MeterValues' || (action === 'TransactionEvent' && payload?.eventType === 'Updated');
/** The connector a status is about (1.6: connectorId; 2.0.1: EVSE and connector). */
const statusKey = (payload: any) => `${payload?.evseId ?? ''}/${payload?.connectorId ?? ''}`;
/** Frames that start or end a session in the EMS's book: their answer waits for its bookkeeping (ChargerRelay.book). */
const sessionBoundary = (action: string, req: any) =>
  action === 'StartTransaction' || action === 'StopTransaction' || (action === 'TransactionEvent' && (req?.eventType === 'Started' || req?.eventType === 'Ended'));
const FRAMES_PER_BATCH = 50;
/** A queued 2.0.1 StatusNotification's 1.6 status for Occupied, as it was when the station sent it (201-to-16). */
const OCCUPIED_AS = 'emsOccupiedAs16';
/** Bounds on what the CSMS may make the EMS keep per charger. */
const MAX_CSMS_PROFILES = 32;
const MAX_CSMS_PERIODS = 1024;

type Handler = (req: any) => unknown;

/** The EMS's own answer to a frame whose handler ran before the CSMS answered (ChargerRelay.relayStop16). */
interface EarlyAnswer {
  answer?: () => Promise<unknown>;
}

/** Stages of one session boundary through the relay (see ChargerRelay.trace). */
interface BoundaryTrace {
  mark(stage: 'csmsAnswered' | 'bookkeepingStarted' | 'written'): void;
  /** The group commit of what was written (the answer does not wait for it). */
  durable(commit: Promise<unknown>): void;
  done(): void;
}

/** A charger frame OCPP 2.0.1 has no words for (translate-16-201.ts): answered by the EMS, not held. */
class NotTranslated extends UpstreamGarbled {}

/**
 * One charger in local-controller mode: its own WebSocket to the CSMS with the charger's identity.
 * It stands between the charger's connection and the EMS's link to it (it is the connection the
 * link sees), so every frame passes here:
 * - charger → CSMS: forwarded unchanged; the CSMS's answer is what the charger gets; the EMS's own
 *   handler still runs for its bookkeeping (1.6 transaction ids translated to the EMS's).
 * - CSMS → charger: forwarded, the charger's answer (or CALLERROR) goes back; charging profiles
 *   are kept and folded into the EMS's (profile-fold.ts), never installed as they are.
 * - uplink down: the EMS answers; transaction frames wait in SQLite and are delivered in order
 *   when it returns, 1.6 ids reconciled (the charger keeps the local id it was given).
 */
export class ChargerRelay implements ChargerConnection {
  readonly identity: string;
  readonly protocol: string;
  readonly chargerId: string;
  readonly upstreamId: string;
  uplink: UplinkState = 'connecting';
  queueLength: number;
  lastFromChargerAtMs?: number;
  lastToChargerAtMs?: number;
  lastFromCsmsAtMs?: number;
  lastToCsmsAtMs?: number;
  lastError?: string;
  private readonly log: Logger;
  private readonly local = new Map<string, Handler>();
  private socket: UpstreamSocket | undefined;
  private closed = false;
  private draining = false;
  /** The shared reconnect policy (adapters/backoff.ts) with the configured bounds, up to a fifth shorter at random. */
  private readonly backoff: Backoff;
  private reconnectTimer: unknown;
  private refreshTimer: unknown;
  /** The CSMS's last answer was invalid (logged once until a valid one comes). */
  private garbling = false;
  /** Frames dropped from a full queue since it last drained (logged when it starts and when it drains). */
  private droppedFrames = 0;
  /** The EMS's own profiles as it last sent them (unfolded), by slot. */
  private readonly emsProfiles = new Map<string, any>();
  private drainAgain = false;
  /** Connector → a StartTransaction whose answer is still on its way (1.6). */
  private readonly startsInFlight = new Map<number, Promise<void>>();
  /** The EMS's bookkeeping of the frames relayed so far (see book()). */
  private bookkeeping: Promise<void> = Promise.resolve();
  /**
   * A charger and a CSMS of different OCPP versions (upstream.protocol): frames are translated both
   * ways (translate-16-201.ts: a 1.6 charger, 2.0.1 CSMS; translate-201-16.ts: the reverse). Every
   * transaction frame is answered by the EMS and reaches the CSMS through the (durable, ordered)
   * queue, so an uplink drop changes nothing for the charger.
   */
  private readonly translation: 'none' | '16-to-201' | '201-to-16';
  /** The protocol of the uplink (the CSMS's). */
  private readonly upstreamProtocol: string;
  /** 1.6 charger, 2.0.1 CSMS: the requestId of the CSMS's last UpdateFirmware / GetLog (1.6 status notifications lack it); also in SQLite. */
  private firmwareRequestId: number | undefined;
  private logRequestId: number | undefined;
  /** 2.0.1 station: EVSE → its chargingState, for the 1.6 status of an Occupied connector. */
  private readonly chargingState = new Map<number, string>();
  /** 2.0.1 station, 1.6 CSMS: the requestId/remoteStartId 2.0.1 wants and 1.6 has not. */
  private nextRequestId: number;

  constructor(private readonly deps: RelayDeps) {
    const { charger, connection } = deps;
    this.identity = connection.identity;
    this.protocol = connection.protocol;
    this.chargerId = charger.id;
    this.upstreamId = charger.upstreamId ?? charger.id;
    this.log = deps.log.child({ module: 'upstream', chargerId: charger.id });
    this.backoff = new Backoff({ initialMs: deps.upstream.reconnectMinMs, maxMs: deps.upstream.reconnectMaxMs, factor: 2, jitter: 0.2 }, deps.random);
    this.queueLength = deps.store.count(charger.id);
    this.upstreamProtocol = deps.upstream.protocol ?? this.protocol;
    this.translation = this.upstreamProtocol === this.protocol ? 'none' : this.is16 ? '16-to-201' : '201-to-16';
    this.nextRequestId = Math.floor(deps.clock.nowMs() / 1000) % 1_000_000_000;
    if (this.translation === '16-to-201') {
      this.firmwareRequestId = deps.store.requestId(charger.id, 'firmware');
      this.logRequestId = deps.store.requestId(charger.id, 'log');
    }
    connection.handleOther((action, req) => this.fromCharger(action, req));
    connection.onClose(() => this.stop());
  }

  private get is16(): boolean {
    return this.protocol === 'ocpp1.6';
  }

  private get translating(): boolean {
    return this.translation !== 'none';
  }

  private get now(): number {
    return this.deps.clock.nowMs();
  }

  status(): RelayStatus {
    const optional = <K extends string>(key: K, value: number | string | undefined) => (value === undefined ? {} : { [key]: value });
    return {
      chargerId: this.chargerId,
      upstreamId: this.upstreamId,
      protocol: this.protocol,
      uplink: this.uplink,
      queueLength: this.queueLength,
      csmsProfiles: this.deps.held.profiles.length,
      ...optional('lastFromChargerAtMs', this.lastFromChargerAtMs),
      ...optional('lastToChargerAtMs', this.lastToChargerAtMs),
      ...optional('lastFromCsmsAtMs', this.lastFromCsmsAtMs),
      ...optional('lastToCsmsAtMs', this.lastToCsmsAtMs),
      ...optional('lastError', this.lastError),
    };
  }

  // --- the connection the EMS's link sees ---------------------------------------------------

  handle(action: string, handler: Handler): void {
    this.local.set(action, handler);
    this.deps.connection.handle(action, (req) => this.fromCharger(action, req));
  }

  handleOther(): void {
    // The relay answers every call the EMS does not handle (it forwards them).
  }

  onInboundCall(listener: (action: string) => void): void {
    this.deps.connection.onInboundCall(listener);
  }

  onValidationFailure(listener: (failure: any) => void): void {
    this.deps.connection.onValidationFailure(listener);
  }

  onClose(listener: (info: { code: number; reason: string }) => void): void {
    this.deps.connection.onClose(listener);
  }

  close(code?: number, reason?: string): Promise<void> {
    return this.deps.connection.close(code, reason);
  }

  /** The EMS's own calls to the charger: its profiles are remembered and folded with the CSMS's. */
  async call(action: string, req: any, timeoutMs?: number): Promise<any> {
    if (action === 'SetChargingProfile') {
      req = await this.chargerTxIdsIn(req);
      this.emsProfiles.set(slotKey(req), req);
      req = foldRequest(req, this.deps.held.profiles, this.now, { voltageV: this.deps.voltageV });
    } else if (action === 'ClearChargingProfile') {
      for (const [key, kept] of this.emsProfiles) {
        const profile = keptProfile(kept, this.now);
        if (profile && clearMatches(profile, req)) this.emsProfiles.delete(key);
      }
    }
    return this.toCharger(action, req, timeoutMs);
  }

  private async toCharger(action: string, req: unknown, timeoutMs?: number): Promise<any> {
    this.lastToChargerAtMs = this.now;
    const conf = await this.deps.connection.call(action, req, timeoutMs);
    this.lastFromChargerAtMs = this.now;
    return conf;
  }

  /** 1.6: a TxProfile names the EMS's transaction id; the charger knows the transaction by its own. */
  private async chargerTxIdsIn(req: any): Promise<any> {
    const profile = req.csChargingProfiles;
    if (!this.is16 || profile?.transactionId === undefined) return req;
    await this.startsInFlight.get(req.connectorId);
    const ids = this.deps.store.byLocalTxId(this.chargerId, profile.transactionId);
    if (!ids || ids.chargerTxId === String(profile.transactionId)) return req;
    return { ...req, csChargingProfiles: { ...profile, transactionId: Number(ids.chargerTxId) } };
  }

  // --- the uplink ----------------------------------------------------------------------------

  start(): void {
    void this.connect();
  }

  stop(): void {
    if (this.closed) return;
    this.closed = true;
    this.uplink = 'closed';
    this.deps.timers.clearTimeout(this.reconnectTimer);
    this.deps.timers.clearTimeout(this.refreshTimer);
    const socket = this.socket;
    this.socket = undefined;
    // Local Controller rule: the charger's socket closed, so does its upstream socket.
    void socket?.close(1000, 'charger disconnected');
    this.deps.changed(this);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const socket = this.deps.openSocket(this.upstreamId, this.deps.charger.upstreamPassword, this.upstreamProtocol, this.chargerId);
    socket.handle((action, params) => this.fromCsms(action, params));
    try {
      await socket.connect();
    } catch (error) {
      this.connectFailed(error);
      return;
    }
    if (this.closed) {
      void socket.close(1000, 'charger disconnected');
      return;
    }
    this.socket = socket;
    if (this.backoff.failureCount > 0 || this.uplink !== 'connecting') this.log.info({ afterFailures: this.backoff.failureCount }, 'uplink to the CSMS is back');
    else this.log.info({ upstreamId: this.upstreamId }, 'uplink to the CSMS open');
    this.backoff.succeed();
    this.uplink = 'online';
    delete this.lastError;
    socket.onClose(({ code, reason }) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      if (this.closed) return;
      this.uplink = 'offline';
      this.lastError = `uplink closed (${code}${reason ? ` ${reason}` : ''})`;
      this.log.warn({ code, reason }, 'uplink to the CSMS lost; the EMS answers the charger and queues its transactions');
      this.deps.changed(this);
      this.scheduleReconnect();
    });
    this.deps.changed(this);
    void this.drain();
  }

  private connectFailed(error: unknown): void {
    if (this.closed) return;
    const status = error instanceof UpstreamConnectError ? error.httpStatus : undefined;
    const refused = status === 401 || status === 403;
    const state: UplinkState = refused ? 'refused' : 'offline';
    const message = error instanceof Error ? error.message : String(error);
    // A recurring fault is logged when it starts (and when it clears, in connect()).
    if (this.backoff.failureCount === 0 || state !== this.uplink) {
      if (refused) this.log.error({ httpStatus: status, upstreamId: this.upstreamId }, "the CSMS refused the charger's identity or upstreamPassword; the EMS keeps balancing it and retries");
      else this.log.warn({ err: message }, 'cannot reach the CSMS; the EMS answers the charger and queues its transactions');
    }
    this.uplink = state;
    this.lastError = message;
    this.deps.changed(this);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    const delayMs = this.backoff.fail();
    this.deps.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = this.deps.timers.setTimeout(() => void this.connect(), delayMs);
  }

  /** A frame to the CSMS; throws UplinkUnavailable (handle it locally) or UpstreamRefused (its CALLERROR). */
  private async toCsms(action: string, params: unknown, held?: { seq: number; chargerTxId: string | undefined }, paramsText?: string): Promise<any> {
    const socket = this.socket;
    if (!socket) throw new UplinkUnavailable('the uplink is down');
    let upAction = action;
    let upParams = params;
    if (this.translation === '16-to-201') {
      const context = { seqNo: held?.seq ?? 0, chargerTxId: held?.chargerTxId, firmwareRequestId: this.firmwareRequestId, logRequestId: this.logRequestId };
      const translated = chargerCallTo201(action, params, context);
      if (!translated) throw new NotTranslated(`${action} has no OCPP 2.0.1 counterpart here`);
      ({ action: upAction, params: upParams } = translated);
    } else if (this.translation === '201-to-16') {
      const status = params as { evseId?: number; [OCCUPIED_AS]?: string } | undefined;
      const translated = stationCallTo16(action, params, { occupiedAs: status?.[OCCUPIED_AS] ?? this.occupiedAs(status?.evseId) });
      if (!translated) throw new NotTranslated(`${action} has no OCPP 1.6 counterpart here`);
      ({ action: upAction, params: upParams } = translated);
    }
    const conf = await this.callCsms(socket, action, upAction, upParams, this.translating ? undefined : paramsText);
    if (this.translation === '16-to-201') return csmsAnswerTo16(action, conf);
    if (this.translation === '201-to-16') return csmsAnswerTo201(action, conf);
    return conf;
  }

  /** 2.0.1 station, 1.6 CSMS: the status an Occupied connector shows in 1.6. */
  private occupiedAs(evseId: number | undefined): string {
    const state = evseId === undefined ? undefined : this.chargingState.get(evseId);
    if (state === 'Charging' || state === 'SuspendedEV' || state === 'SuspendedEVSE') return state;
    return evseId !== undefined && this.deps.book.active(this.chargerId, evseId) !== undefined ? 'Charging' : 'Preparing';
  }

  /** One call on the uplink as it stands (no translation); the errors of toCsms. */
  private async callCsms(socket: UpstreamSocket, action: string, upAction: string, upParams: unknown, paramsText?: string): Promise<any> {
    this.lastToCsmsAtMs = this.now;
    try {
      const conf = await socket.call(upAction, upParams, this.deps.upstream.callTimeoutMs, paramsText);
      this.lastFromCsmsAtMs = this.now;
      if (this.garbling) {
        this.garbling = false;
        delete this.lastError;
        this.log.info({ action }, 'the CSMS answers validly again');
        this.deps.changed(this);
      }
      return conf;
    } catch (error) {
      if (error instanceof UpstreamRefused || error instanceof UpstreamGarbled) {
        this.lastFromCsmsAtMs = this.now;
        if (error instanceof UpstreamGarbled) this.noteGarbled(action, error);
      } else if (this.socket === socket) {
        // A CSMS that stops answering on an open socket is treated as gone: reconnect rather than
        // make every later frame wait callTimeoutMs too.
        this.log.warn({ action, timeoutMs: this.deps.upstream.callTimeoutMs }, 'the CSMS did not answer in time; reopening the uplink');
        void socket.close(1001, 'no answer');
      }
      throw error;
    }
  }

  /** A CSMS that answers nonsense: logged once when it starts (and the frame handled as unanswered). */
  private noteGarbled(action: string, error: UpstreamGarbled): void {
    this.lastError = error.message;
    if (!this.garbling) this.log.error({ action, err: error.message }, 'the CSMS answered with an invalid message; the EMS answers the charger itself and holds transaction frames for a retry');
    this.garbling = true;
    this.deps.changed(this);
  }

  // --- charger → CSMS ------------------------------------------------------------------------

  private async fromCharger(action: string, req: any): Promise<unknown> {
    this.lastFromChargerAtMs = this.now;
    // Read before the first await (it is there only while the transport dispatches the frame).
    const paramsText = this.translating ? undefined : this.deps.connection.inboundParamsText?.(action);
    if (this.translating && !(this.is16 ? TRANSLATED_FROM_CHARGER : TRANSLATED_FROM_STATION).has(action)) {
      // Not translated (firmware/diagnostics status...): the EMS answers, the CSMS does not hear of it.
      const handler = this.local.get(action);
      return handler ? handler(req) : {};
    }
    // Behind frames still held back, a record or a status waits its turn (never overtakes an older one).
    // Translating, the EMS names every transaction: its frames always go through the queue.
    const mustQueue = isHeld(action, req, this.is16) && (this.draining || this.queueLength > 0 || (this.translating && isRecord(action, req, this.is16)));
    /** Whether the CSMS never got the frame (so it is held for it); a garbled answer means it did. */
    let hold = true;
    /** The EMS's own answer, when its handler already ran while the frame was on its way up (relayStop16). */
    const early: EarlyAnswer = {};
    if (this.uplink === 'online' && !mustQueue) {
      try {
        const conf = await this.relay(action, req, paramsText, early);
        this.lastToChargerAtMs = this.now;
        return conf;
      } catch (error) {
        if (error instanceof UpstreamRefused) {
          this.log.warn({ action, code: error.rpcErrorCode }, 'the CSMS refused a charger frame; its CALLERROR goes back to the charger');
          throw this.deps.refuse(error.rpcErrorCode, error.message);
        }
        if (!(error instanceof UplinkUnavailable)) throw error;
        // The CSMS got the frame and answered nonsense: the EMS answers, and does not send it again.
        if (error instanceof UpstreamGarbled) hold = false;
        else this.log.warn({ action, err: error.message }, 'CSMS did not answer; the EMS answers this frame');
      }
    }
    // The EMS's own handler sees the frames in the order they came: the relayed ones first.
    await this.bookkeeping;
    const conf = await this.answerLocally(action, req, hold, early.answer?.());
    this.lastToChargerAtMs = this.now;
    return conf;
  }

  /**
   * Forward first: the charger gets the CSMS's answer as soon as it is here; what the EMS does with
   * the frame (its handler, SQLite writes, the tag cache, the id map) runs after that, one frame
   * after the other in arrival order. Nothing the CSMS must get waits for it. A frame that starts
   * or ends a session (sessionBoundary) is the exception: its answer waits for the EMS's
   * bookkeeping to be written (in the WAL, safe against kill -9), so the charger is never told a
   * start or a stop was taken that the EMS's session book does not have, nor that a restart would
   * lose; it does not wait for the group commit (fsync) that makes the write survive power loss
   * too: the CSMS, which answered, holds the record the charger relies on (docs/local-controller.md,
   * "Durable answers"). The answers of every other frame go out before their bookkeeping (`deferred`).
   * A task's promise is awaited by the next frame's task: a task returns once its writes are done,
   * never after a group commit.
   */
  private book(task: () => Promise<void> | void, deferred: boolean): Promise<void> {
    const run = this.bookkeeping
      // setImmediate: after the microtasks that write the answer to the charger's socket.
      .then(() => (deferred ? new Promise<void>((resolve) => setImmediate(resolve)) : undefined))
      .then(task)
      .catch((error: unknown) => this.log.error({ err: error }, "the EMS's bookkeeping of a relayed frame failed"));
    this.bookkeeping = run;
    return run;
  }

  /**
   * Runs the EMS's own handler for its bookkeeping only (the CSMS's answer is the charger's). When
   * it returns, the handler's synchronous part has run: its SQLite writes are in the WAL. The
   * promise it returns is the handler's answer, which comes once the group commit (fsync) the
   * handler waits for is done; undefined when the handler refused the frame.
   */
  private bookkeep(action: string, req: unknown, trace?: BoundaryTrace): Promise<any> {
    return this.runHandler(action, req, trace).catch((error: unknown) => this.refusedHere(action, req, error));
  }

  /**
   * The EMS's handler refused a frame the CSMS answered (or, for a session boundary, its group
   * commit failed after the charger had its answer): a boundary is worth a warning, the rest debug.
   */
  private refusedHere(action: string, req: unknown, error: unknown): undefined {
    const level = sessionBoundary(action, req) ? 'warn' : 'debug';
    this.log[level]({ action, err: error }, "the EMS's own handler refused a frame the CSMS answered, or could not make its record durable");
    return undefined;
  }

  /** The EMS's handler of `action` (none: undefined); a refusal, also a synchronous one, rejects the promise. */
  private runHandler(action: string, req: unknown, trace?: BoundaryTrace): Promise<any> {
    const handler = this.local.get(action);
    if (!handler) return Promise.resolve(undefined);
    let answer: Promise<any>;
    try {
      answer = Promise.resolve(handler(req));
    } catch (error) {
      answer = Promise.reject(error);
    }
    // The handler's synchronous part is its SQLite write; what it awaits after is the group commit.
    trace?.mark('written');
    return answer;
  }

  /** 1.6: the frame as the EMS's bookkeeping knows it (its own transaction id). */
  private localFrame(req: any): any {
    if (!this.is16 || req?.transactionId === undefined) return req;
    const ids = this.deps.store.byChargerTxId(this.chargerId, String(req.transactionId));
    return ids?.localTxId !== undefined ? { ...req, transactionId: ids.localTxId } : req;
  }

  /** `paramsText`: the charger's own text of `req`, sent as it is when nothing in it is rewritten. */
  private async relay(action: string, req: any, paramsText: string | undefined, early: EarlyAnswer): Promise<unknown> {
    if (this.is16 && action === 'StartTransaction') return this.relayStart16(req, paramsText);
    let upReq = req;
    if (this.is16 && req.transactionId !== undefined) {
      const ids = this.deps.store.byChargerTxId(this.chargerId, String(req.transactionId));
      if (ids?.csmsTxId !== undefined && ids.csmsTxId !== String(req.transactionId)) upReq = { ...req, transactionId: Number(ids.csmsTxId) };
    }
    if (this.is16 && action === 'StopTransaction' && this.local.has(action)) return this.relayStop16(req, upReq, upReq === req ? paramsText : undefined, early);
    const boundary = sessionBoundary(action, req);
    const trace = boundary ? this.trace(action) : undefined;
    let conf: any;
    try {
      conf = await this.toCsms(action, upReq, undefined, upReq === req ? paramsText : undefined);
    } catch (error) {
      if (error instanceof UpstreamRefused) {
        const booked = this.book(() => void this.bookkeep(action, this.localFrame(req)), !boundary);
        if (boundary) await booked;
      }
      throw error;
    }
    trace?.mark('csmsAnswered');
    const booked = this.book(() => {
      trace?.mark('bookkeepingStarted');
      this.noteTag(req, conf);
      const connectorId = this.connectorOf(action, req);
      const durable = this.bookkeep(action, this.localFrame(req), trace);
      this.noteFrame(action, req, conf, connectorId);
      trace?.durable(durable);
    }, !boundary);
    if (boundary) await booked;
    trace?.done();
    return conf;
  }

  /**
   * 1.6 StopTransaction: the EMS's bookkeeping of a stop (its write) needs nothing from the CSMS's
   * answer, so it runs while the frame is on its way up, not after the answer came back; the
   * charger is answered once both are done, and the CSMS's verdict on the tag is cached then.
   * Should the CSMS not answer, the handler's answer, already booked, is the charger's (`early`:
   * the EMS answers on its own authority then, so after the group commit; the tag's offline
   * acceptance comes too late for it, a stop's idTagInfo changes nothing at the charger).
   */
  private async relayStop16(req: any, upReq: any, paramsText: string | undefined, early: EarlyAnswer): Promise<unknown> {
    const trace = this.trace('StopTransaction');
    let local: Promise<unknown> = Promise.resolve(undefined);
    const booked = this.book(() => {
      trace?.mark('bookkeepingStarted');
      const connectorId = this.connectorOf('StopTransaction', req);
      local = this.runHandler('StopTransaction', this.localFrame(req), trace);
      const durable = local.catch((error: unknown) => this.refusedHere('StopTransaction', req, error));
      this.noteFrame('StopTransaction', req, undefined, connectorId);
      trace?.durable(durable);
    }, false);
    early.answer = () => booked.then(() => local);
    let conf: any;
    try {
      conf = await this.toCsms('StopTransaction', upReq, undefined, paramsText);
    } catch (error) {
      // A CALLERROR goes back to the charger once the EMS has the stop, as every boundary's answer.
      if (error instanceof UpstreamRefused) await booked;
      throw error;
    }
    trace?.mark('csmsAnswered');
    await booked;
    this.noteTag(req, conf);
    trace?.done();
    return conf;
  }

  /**
   * At debug level, where a session boundary's time goes on its way through the relay (ms since
   * the relay had the charger's frame): the CSMS's answer, the EMS's bookkeeping (its SQLite write),
   * the answer, and the group commit that made the write durable against power loss (after the
   * answer: see book()); logged once both are done. Nothing is traced at other levels.
   */
  private trace(action: string): BoundaryTrace | undefined {
    if (!this.log.isLevelEnabled('debug')) return undefined;
    const clock = this.deps.clock;
    const startedAtMs = monotonicMs(clock);
    const marks: Record<string, number> = {};
    let pending = 1;
    const mark = (stage: string) => {
      marks[stage] = Math.round((monotonicMs(clock) - startedAtMs) * 1000) / 1000;
    };
    const settle = () => {
      if (--pending === 0) this.log.debug({ action, ms: marks }, 'session boundary relayed');
    };
    return {
      mark,
      durable: (commit) => {
        pending++;
        void commit.finally(() => {
          mark('durable');
          settle();
        });
      },
      done: () => {
        mark('answered');
        settle();
      },
    };
  }

  private async relayStart16(req: any, paramsText: string | undefined): Promise<unknown> {
    const trace = this.trace('StartTransaction');
    let done!: () => void;
    const mapped = new Promise<void>((resolve) => (done = resolve));
    this.startsInFlight.set(req.connectorId, mapped);
    const settled = () => {
      if (this.startsInFlight.get(req.connectorId) === mapped) this.startsInFlight.delete(req.connectorId);
      done();
    };
    let conf: any;
    try {
      conf = await this.toCsms('StartTransaction', req, undefined, paramsText);
    } catch (error) {
      settled();
      throw error;
    }
    trace?.mark('csmsAnswered');
    const chargerTxId = String(conf.transactionId);
    const map = (localTxId: unknown) => {
      this.deps.store.mapTransaction({ chargerId: this.chargerId, chargerTxId, csmsTxId: chargerTxId, ...(typeof localTxId === 'number' ? { localTxId } : {}) }, this.now);
      this.noteFrame('StartTransaction', req, conf, req.connectorId);
      // The map gets a group commit of its own asking (the handler's may have begun before it was written).
      const commit = this.deps.store.flushed().catch((error: unknown) => this.refusedHere('StartTransaction', req, error));
      trace?.durable(commit);
    };
    // A session boundary: answered once the EMS's bookkeeping and the id map are written (see book()).
    await this.book(() => {
      trace?.mark('bookkeepingStarted');
      // The CSMS's verdict on the tag first: the EMS's bookkeeping takes a tag the CSMS accepted.
      this.noteTag(req, conf);
      const answer = this.bookkeep('StartTransaction', req, trace);
      const localTxId = this.sessionBookedBy(req);
      if (localTxId !== undefined) return map(localTxId);
      // No session booked (a tag the EMS refuses): its id comes with the handler's answer, after
      // the group commit, and so does the charger's (rare; never a running session).
      return answer.then((local) => map(local?.transactionId));
    }, false).finally(() => {
      // An EMS TxProfile for this transaction (chargerTxIdsIn waits for this) goes after the answer
      // that gives the charger the transaction id, not before it.
      setImmediate(settled);
    });
    trace?.done();
    return conf;
  }

  /**
   * 1.6: the EMS's transaction the handler has just booked for this StartTransaction (its
   * synchronous part ran): the one the book has running on the connector, when it is this start's
   * (same tag and meter start, still open); undefined when it booked none there.
   */
  private sessionBookedBy(req: any): number | undefined {
    const transactionId = this.deps.book.active(this.chargerId, req.connectorId);
    const record = transactionId === undefined ? undefined : this.deps.book.get(transactionId);
    if (!record || record.stoppedAtMs !== undefined || record.idTag !== req.idTag || record.meterStartWh !== req.meterStart) return undefined;
    return transactionId;
  }

  /**
   * What the relay keeps of a transaction frame the EMS's handler has just recorded (the book says
   * which transaction runs where): the 2.0.1 charging state of the EVSE, and the CSMS profiles that
   * end or move with a transaction. `connectorId`: connectorOf(), taken before the handler ran.
   */
  private noteFrame(action: string, req: any, conf: any, connectorId: number | undefined): void {
    if (connectorId === undefined) return;
    if (action === 'TransactionEvent' && req.transactionInfo?.chargingState) this.chargingState.set(connectorId, req.transactionInfo.chargingState);
    if ((action === 'StartTransaction' && conf?.transactionId !== undefined) || (action === 'TransactionEvent' && req.eventType === 'Started')) this.transactionStarted(connectorId);
    if (action === 'StopTransaction' || (action === 'TransactionEvent' && req.eventType === 'Ended')) {
      this.chargingState.delete(connectorId);
      this.transactionEnded(connectorId);
    }
  }

  private noteTag(req: any, conf: any): void {
    const idTag: string | undefined = req?.idTag ?? req?.idToken?.idToken;
    const info = conf?.idTagInfo ?? conf?.idTokenInfo;
    if (idTag && info?.status) this.cacheTag(idTag, info);
  }

  /** Remembers the CSMS's verdict on a tag for offline use (written only when it changed). */
  private cacheTag(idTag: string, info: { status: string; expiryDate?: string; cacheExpiryDateTime?: string }): void {
    const expiresAtMs = Date.parse(info.expiryDate ?? info.cacheExpiryDateTime ?? '');
    const tag = { status: info.status, ...(Number.isFinite(expiresAtMs) ? { expiresAtMs } : {}) };
    const known = this.deps.store.cachedTag(idTag);
    if (known && known.status === tag.status && known.expiresAtMs === tag.expiresAtMs) return;
    this.deps.store.cacheTag(idTag, tag, this.now);
  }

  private transactionStarted(connectorId: number): void {
    // A RemoteStart's profile without a connector was kept for every connector: it belongs to this one now.
    const kept = this.deps.held.profiles.filter((p) => !(p.purpose === 'tx' && p.transactionId === undefined && p.id < 0 && p.connectorId !== connectorId));
    // Written (a synchronous SQLite commit) only when something changed, not on every start.
    if (kept.length === this.deps.held.profiles.length) return;
    this.deps.held.replace(kept);
    this.deps.changed(this);
  }

  /** A transaction ended on the connector: the CSMS's TxProfile ends with it (as on a charger), unless the book has another running there. */
  private transactionEnded(connectorId: number): void {
    if (this.deps.book.active(this.chargerId, connectorId) !== undefined) return;
    const kept = this.deps.held.profiles.filter((p) => !(p.purpose === 'tx' && p.connectorId === connectorId));
    if (kept.length === this.deps.held.profiles.length) return;
    this.deps.held.replace(kept);
    this.deps.changed(this);
  }

  /**
   * Tags while the uplink is down: the EMS's own answer decides (the local list, then the tags the
   * CSMS accepted before, see UpstreamService.acceptedElsewhere); with acceptUnknownOffline any tag.
   */
  private authorizeOffline(req: any): void {
    const idTag: string | undefined = req?.idTag ?? req?.idToken?.idToken;
    if (idTag && this.deps.upstream.acceptUnknownOffline) this.deps.markAccepted(idTag);
  }

  /** `booked`: the handler's answer when it already ran (relayStop16), so it does not run twice. */
  private async answerLocally(action: string, req: any, hold: boolean, booked?: Promise<unknown>): Promise<unknown> {
    const handler = this.local.get(action);
    this.authorizeOffline(req);
    if (this.is16 && action === 'StartTransaction') return this.startOffline16(req, hold);
    const connectorId = this.connectorOf(action, req);
    let localReq = req;
    let chargerTxId: string | undefined;
    if (this.is16 && req.transactionId !== undefined) {
      chargerTxId = String(req.transactionId);
      const ids = this.deps.store.byChargerTxId(this.chargerId, chargerTxId);
      if (ids?.localTxId !== undefined) localReq = { ...req, transactionId: ids.localTxId };
    }
    if (!handler) throw this.deps.refuse('InternalError', `${action} needs the CSMS and the uplink is down`);
    const conf: any = booked ? await booked : await handler(localReq);
    if (action === 'BootNotification' && hold) {
      // The last boot answered locally is held (on disk) and delivered first when the uplink returns.
      this.queueLength = Math.max(0, this.queueLength - this.deps.store.dropQueued(this.chargerId, 'BootNotification', () => true));
      this.enqueue(action, req, undefined);
      await this.deps.store.flushed();
    }
    if (action === 'StatusNotification' && hold) {
      // The CSMS needs a connector's latest status, not its history: the newer replaces the queued one.
      const key = statusKey(req);
      const replaced = this.deps.store.dropQueued(this.chargerId, 'StatusNotification', (queued) => statusKey(queued) === key);
      this.queueLength = Math.max(0, this.queueLength - replaced);
      // Translated later, the 1.6 status of an Occupied connector is the one it had now.
      this.enqueue(action, this.translation === '201-to-16' ? { ...req, [OCCUPIED_AS]: this.occupiedAs(req.evseId) } : req, undefined);
    }
    if (isRecord(action, req, this.is16)) {
      if (hold) this.enqueue(action, req, chargerTxId ?? (action === 'TransactionEvent' ? String(req.transactionInfo?.transactionId) : undefined));
      this.noteFrame(action, req, undefined, connectorId);
    }
    // What the charger is told was taken is on disk first (it forgets the frame once answered).
    if (hold && isHeld(action, req, this.is16)) await this.deps.store.flushed();
    return conf;
  }

  /** 1.6 start while the uplink is down: the charger gets the EMS's id; the CSMS's comes with delivery. */
  private async startOffline16(req: any, holds: boolean): Promise<unknown> {
    const handler = this.local.get('StartTransaction');
    if (!handler) throw this.deps.refuse('InternalError', 'StartTransaction needs the CSMS and the uplink is down');
    const conf: any = await handler(req);
    const chargerTxId = String(conf.transactionId);
    this.deps.store.mapTransaction({ chargerId: this.chargerId, chargerTxId, localTxId: conf.transactionId }, this.now);
    if (holds) this.enqueue('StartTransaction', req, chargerTxId);
    this.transactionStarted(req.connectorId);
    await this.deps.store.flushed();
    return conf;
  }

  private enqueue(action: string, payload: unknown, chargerTxId: string | undefined): void {
    if (this.queueLength >= this.deps.upstream.maxQueuedFrames && this.deps.store.dropOldest(this.chargerId, droppable)) {
      if (this.droppedFrames === 0) {
        this.log.warn({ maxQueuedFrames: this.deps.upstream.maxQueuedFrames }, 'queue for the CSMS full: dropping the oldest meter values (never a start or an end) until the uplink is back');
      }
      this.droppedFrames++;
      this.queueLength--;
    }
    this.deps.store.enqueue({ chargerId: this.chargerId, action, payload, queuedAtMs: this.now, ...(chargerTxId !== undefined ? { chargerTxId } : {}) });
    if (this.queueLength === 0 && !this.socket) this.log.info({ action }, 'holding transaction frames for the CSMS until the uplink is back');
    this.queueLength++;
    this.deps.changed(this);
    // With the uplink up, a queued frame is delivered at once: translating, the queue is the way to
    // the CSMS; else it is a frame answered locally after a timeout, queued after the reconnect's
    // drain may already have found the queue empty.
    if (this.socket) setImmediate(() => void this.drain());
  }

  /** Delivers what was held back, oldest first; each frame leaves the queue once the CSMS answered it. */
  private async drain(): Promise<void> {
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = true;
    let delivered = 0;
    try {
      // A boot the EMS answered while the uplink was down goes first: a CSMS expects it before the rest.
      for (const boot of this.deps.store.queued(this.chargerId, 'BootNotification')) {
        await this.deliver(boot.seq, boot.action, boot.payload as any, undefined);
        delivered++;
      }
      for (;;) {
        const batch = this.deps.store.pending(this.chargerId, FRAMES_PER_BATCH);
        if (batch.length === 0) break;
        for (const frame of batch) {
          await this.deliver(frame.seq, frame.action, frame.payload as any, frame.chargerTxId);
          delivered++;
        }
      }
      this.queueLength = 0;
      if (delivered > 0) this.log.info({ delivered, droppedWhileFull: this.droppedFrames }, 'every held-back frame delivered to the CSMS');
      this.droppedFrames = 0;
    } catch (error) {
      if (!(error instanceof UplinkUnavailable)) this.log.error({ err: error }, 'delivering held-back frames failed; retried when the uplink is back');
    } finally {
      this.draining = false;
      this.queueLength = this.deps.store.count(this.chargerId);
      this.deps.changed(this);
      if (this.drainAgain && this.socket) {
        this.drainAgain = false;
        void this.drain();
      }
    }
  }

  private async deliver(seq: number, action: string, payload: any, chargerTxId: string | undefined): Promise<void> {
    let frame = payload;
    if (this.is16 && payload.transactionId !== undefined) {
      const ids = this.deps.store.byChargerTxId(this.chargerId, String(payload.transactionId));
      if (ids?.csmsTxId !== undefined) frame = { ...payload, transactionId: Number(ids.csmsTxId) };
    }
    let conf: any;
    try {
      if (this.translation === '201-to-16' && action === 'TransactionEvent') await this.deliverEventTo16(payload);
      else conf = await this.toCsms(action, frame, { seq, chargerTxId });
    } catch (error) {
      if (error instanceof NotTranslated) {
        this.deps.store.delivered(seq);
        this.queueLength = Math.max(0, this.queueLength - 1);
        return;
      }
      if (!(error instanceof UpstreamRefused || error instanceof UpstreamGarbled)) throw error;
      // Retrying a frame the CSMS refuses (or answers with nonsense) would block every frame behind it.
      this.log.error({ action, seq, code: error instanceof UpstreamRefused ? error.rpcErrorCode : error.code, err: error.message }, 'the CSMS refused a held-back frame; dropped');
      if (this.translation === '201-to-16' && action === 'TransactionEvent' && payload?.eventType === 'Ended') this.deps.store.forgetStationTx(this.chargerId, String(payload.transactionInfo?.transactionId));
      this.deps.store.delivered(seq);
      this.queueLength = Math.max(0, this.queueLength - 1);
      return;
    }
    const reconcile =
      this.is16 && action === 'StartTransaction' && chargerTxId !== undefined && conf?.transactionId !== undefined
        ? { chargerId: this.chargerId, chargerTxId, csmsTxId: String(conf.transactionId) }
        : undefined;
    this.deps.store.delivered(seq, reconcile);
    this.queueLength = Math.max(0, this.queueLength - 1);
    if (reconcile) this.log.info({ chargerTransactionId: chargerTxId, csmsTransactionId: reconcile.csmsTxId }, 'transaction started offline now known to the CSMS');
    const idTag: string | undefined = payload.idTag ?? payload.idToken?.idToken;
    const info = conf?.idTagInfo ?? conf?.idTokenInfo;
    if (idTag && info?.status) this.cacheTag(idTag, info);
  }

  /**
   * 2.0.1 station, 1.6 CSMS: a TransactionEvent as the 1.6 calls it becomes (translate-201-16.ts),
   * in order; the CSMS's id from its StartTransaction answer is recorded at once (a retry after a
   * drop sends only what is left) and names the MeterValues and StopTransaction after it.
   */
  private async deliverEventTo16(payload: any): Promise<void> {
    const socket = this.socket;
    if (!socket) throw new UplinkUnavailable('the uplink is down');
    const stationTxId = String(payload.transactionInfo?.transactionId);
    // What the translation saw of the transaction so far is on disk (an EMS restart in the middle
    // changes nothing); the CSMS's id is in the id map; the EVSE, where no event named it yet, is
    // the one the EMS's book has the transaction on (only Started must name it).
    const seen = this.deps.store.stationTx(this.chargerId, stationTxId);
    const csmsTxId = this.deps.store.byChargerTxId(this.chargerId, stationTxId)?.csmsTxId;
    const evseId = seen?.evseId ?? this.evseOfStationTx(stationTxId);
    const tx: StationTx = { ...seen, ...(csmsTxId !== undefined ? { csmsTxId: Number(csmsTxId) } : {}), ...(evseId !== undefined ? { evseId } : {}) };
    for (const step of transactionEventTo16(payload, tx)) {
      if (step.needsCsmsTxId) {
        if (tx.csmsTxId === undefined) continue;
        step.params.transactionId = tx.csmsTxId;
      }
      const conf = await this.callCsms(socket, step.action, step.action, step.params);
      if (step.action === 'StartTransaction') {
        tx.csmsTxId = conf.transactionId;
        this.deps.store.mapTransaction({ chargerId: this.chargerId, chargerTxId: stationTxId, csmsTxId: String(conf.transactionId) }, this.now);
        if (conf.idTagInfo?.status && step.params.idTag !== NO_AUTHORIZATION_ID_TAG) this.cacheTag(step.params.idTag, conf.idTagInfo);
        this.log.info({ stationTransactionId: stationTxId, csmsTransactionId: conf.transactionId }, 'station transaction known to the 1.6 CSMS');
      }
    }
    noteEvent(tx, payload);
    if (seen === undefined) this.forgetEndlessStationTxs(stationTxId, tx.evseId);
    if (payload.eventType === 'Ended') this.deps.store.forgetStationTx(this.chargerId, stationTxId);
    else {
      const seenNow: StationTx = { ...tx };
      delete seenNow.csmsTxId;
      this.deps.store.saveStationTx(this.chargerId, stationTxId, seenNow, this.now);
    }
  }

  /**
   * A new station transaction went up: the ones it supersedes on its EVSE (their Ended would have
   * come first) and the ones silent for STATION_TX_STALE_MS will never end here, so their rows go.
   */
  private forgetEndlessStationTxs(stationTxId: string, evseId: number | undefined): void {
    for (const old of this.deps.store.forgetEndlessStationTxs(this.chargerId, evseId, stationTxId, this.now - STATION_TX_STALE_MS)) {
      this.log.warn({ stationTransactionId: old.stationTxId, evseId: old.seen?.evseId, lastRegisterWh: old.seen?.lastRegisterWh, by: stationTxId }, 'a station transaction never ended (no TransactionEvent Ended before a newer one); forgotten');
    }
  }

  /** 2.0.1: the EVSE the EMS's book has a station transaction on (undefined once it ended there). */
  private evseOfStationTx(stationTxId: string): number | undefined {
    const transactionId = this.deps.book.byStationId(this.chargerId, stationTxId);
    return transactionId === undefined ? undefined : this.deps.book.get(transactionId)?.connectorId;
  }

  /** 1.6: the EMS's id of a transaction the charger names (the same id where the relay mapped none). */
  private localTxId(chargerTxId: string): number | undefined {
    const ids = this.deps.store.byChargerTxId(this.chargerId, chargerTxId);
    if (ids) return ids.localTxId;
    const id = Number(chargerTxId);
    return Number.isInteger(id) ? id : undefined;
  }

  /**
   * The connector a transaction frame is about, from the frame or the EMS's book; taken before the
   * EMS's handler runs (a 2.0.1 Ended makes the book forget the station's id).
   */
  private connectorOf(action: string, req: any): number | undefined {
    if (action === 'StartTransaction') return req?.connectorId;
    if (action === 'StopTransaction') {
      const local = this.localTxId(String(req?.transactionId));
      return local === undefined ? undefined : this.deps.book.get(local)?.connectorId;
    }
    if (action === 'TransactionEvent') return req?.evse?.id ?? this.evseOfStationTx(String(req?.transactionInfo?.transactionId));
    return undefined;
  }

  // --- CSMS → charger ------------------------------------------------------------------------

  private async fromCsms(action: string, params: any): Promise<unknown> {
    this.lastFromCsmsAtMs = this.now;
    // A call right behind the CSMS's answer (a TxProfile for the transaction it just started) finds
    // the relay knowing what that answer started.
    await this.bookkeeping;
    let conf: unknown;
    if (action === 'SetChargingProfile') conf = await this.csmsSetProfile(params);
    else if (action === 'ClearChargingProfile') conf = await this.csmsClearProfile(params);
    else if (this.translation === '201-to-16') conf = await this.csmsCallTo201(action, params);
    else if (this.translating) {
      const translated = csmsCallTo16(action, params);
      if (!translated) throw { rpcErrorCode: 'NotSupported', message: `${action} is not translated to OCPP 1.6 by the local controller` } satisfies { rpcErrorCode: string; message: string };
      if (action === 'UpdateFirmware') this.firmwareRequestId = this.rememberRequest('firmware', params.requestId);
      if (action === 'GetLog') this.logRequestId = this.rememberRequest('log', params.requestId);
      conf = chargerAnswerTo201(action, await this.forward(translated.action, translated.params), params);
    } else conf = await this.forward(action, await this.forCharger(action, params));
    this.lastToCsmsAtMs = this.now;
    return conf;
  }

  /** 1.6 charger, 2.0.1 CSMS: a firmware/log requestId, kept on disk (a status after an EMS restart still names it). */
  private rememberRequest(kind: 'firmware' | 'log', requestId: number | undefined): number | undefined {
    if (typeof requestId === 'number') this.deps.store.saveRequestId(this.chargerId, kind, requestId, this.now);
    return requestId;
  }

  /** 2.0.1 station, 1.6 CSMS: a CSMS call translated for the station, its answer back. */
  private async csmsCallTo201(action: string, params: any): Promise<unknown> {
    let stationTxId: string | undefined;
    if (action === 'RemoteStopTransaction') {
      stationTxId = this.deps.store.byCsmsTxId(this.chargerId, String(params.transactionId))?.chargerTxId;
      // A transaction the CSMS names that this station does not run (as a 1.6 charger answers).
      if (stationTxId === undefined) return { status: 'Rejected' };
    }
    const translated = csmsCallTo201(action, await this.forCharger(action, params), { stationTxId, requestId: this.nextRequestId++ });
    if (translated && 'answer' in translated) return translated.answer;
    if (!translated) throw { rpcErrorCode: 'NotSupported', message: `${action} is not translated to OCPP 2.0.1 by the local controller` } satisfies { rpcErrorCode: string; message: string };
    return stationAnswerTo16(action, await this.forward(translated.action, translated.params), params);
  }

  private async forward(action: string, params: unknown): Promise<unknown> {
    try {
      return await this.toCharger(action, params, this.deps.upstream.callTimeoutMs);
    } catch (error) {
      const code = (error as { rpcErrorCode?: string }).rpcErrorCode;
      this.log.warn({ action, code, err: (error as Error).message }, 'a CSMS call failed at the charger');
      throw { rpcErrorCode: code ?? 'InternalError', message: (error as Error).message };
    }
  }

  /** Translates a CSMS call for the charger: 1.6 transaction ids, and profiles a RemoteStart carries. */
  private async forCharger(action: string, params: any): Promise<any> {
    if (this.is16 && action === 'RemoteStopTransaction') {
      const ids = this.deps.store.byCsmsTxId(this.chargerId, String(params.transactionId));
      return ids ? { ...params, transactionId: Number(ids.chargerTxId) } : params;
    }
    const profile = params?.chargingProfile;
    if ((action === 'RemoteStartTransaction' || action === 'RequestStartTransaction') && profile) {
      // Kept and folded like any CSMS profile, so the EMS's cap still applies from the first second.
      // The profile is in the CSMS's protocol.
      const csms16 = this.upstreamProtocol === 'ocpp1.6';
      const connectorId: number | undefined = csms16 ? params.connectorId : params.evseId;
      const targets = connectorId !== undefined ? [connectorId] : range(this.deps.charger.connectors);
      const rest = { ...params };
      delete rest.chargingProfile;
      for (const target of targets) {
        const req = csms16 ? { connectorId: target, csChargingProfiles: profile } : { evseId: target, chargingProfile: profile };
        const kept = keptProfile(req, this.now);
        if (kept) this.keep({ ...kept, id: connectorId === undefined ? -kept.id : kept.id });
      }
      await this.refold();
      return rest;
    }
    return params;
  }

  private keep(profile: KeptProfile): void {
    this.deps.held.replace([
      ...this.deps.held.profiles.filter(
        (p) => p.id !== profile.id && !(p.purpose === profile.purpose && p.connectorId === profile.connectorId && p.stackLevel === profile.stackLevel),
      ),
      profile,
    ]);
    this.deps.changed(this);
  }

  private async csmsSetProfile(params: any): Promise<unknown> {
    const kept = keptProfile(params, this.now);
    if (!kept) return { status: 'Rejected' };
    // Bounded work per fold, whatever the CSMS sends.
    if (kept.periods.length > MAX_CSMS_PERIODS || (this.deps.held.profiles.length >= MAX_CSMS_PROFILES && !this.deps.held.profiles.some((p) => p.id === kept.id))) {
      this.log.warn({ periods: kept.periods.length, kept: this.deps.held.profiles.length }, 'CSMS profile refused: too many periods or profiles');
      return { status: 'Rejected' };
    }
    if (kept.purpose === 'max' && kept.connectorId !== 0) return { status: 'Rejected' };
    if (kept.purpose === 'tx') {
      const running = kept.connectorId === 0 ? undefined : this.deps.book.active(this.chargerId, kept.connectorId);
      if (running === undefined) return { status: 'Rejected' };
      const started = this.deps.book.get(running);
      // Relative counts from the transaction start (never from the future: clocks differ).
      if (started) kept.anchorMs = Math.min(started.startedAtMs, this.now);
    }
    this.keep(kept);
    this.log.info({ purpose: kept.purpose, connectorId: kept.connectorId, stackLevel: kept.stackLevel, id: kept.id }, "CSMS profile kept and folded into the EMS's");
    return { status: (await this.refold()) ? 'Accepted' : 'Rejected' };
  }

  private async csmsClearProfile(params: any): Promise<unknown> {
    const kept = this.deps.held.profiles.filter((p) => !clearMatches(p, params));
    if (kept.length === this.deps.held.profiles.length) return { status: 'Unknown' };
    this.deps.held.replace(kept);
    this.deps.changed(this);
    await this.refold();
    return { status: 'Accepted' };
  }

  /**
   * Sends the EMS's last profiles again, folded with the CSMS's as they stand now; true when the
   * charger took them all. Refreshed hourly while CSMS profiles are kept (the fold looks 24 h ahead).
   */
  private async refold(): Promise<boolean> {
    this.deps.timers.clearTimeout(this.refreshTimer);
    if (this.deps.held.profiles.length > 0 && !this.closed) this.refreshTimer = this.deps.timers.setTimeout(() => void this.refold(), 3_600_000);
    let allAccepted = true;
    for (const [key, req] of this.emsProfiles) {
      const schedule = req.chargingProfile?.chargingSchedule?.[0] ?? req.csChargingProfiles?.chargingSchedule;
      const startMs = Date.parse(schedule?.startSchedule ?? '');
      if (schedule?.duration !== undefined && Number.isFinite(startMs) && startMs + schedule.duration * 1000 <= this.now) {
        this.emsProfiles.delete(key);
        continue;
      }
      try {
        const conf = await this.toCharger('SetChargingProfile', foldRequest(req, this.deps.held.profiles, this.now, { voltageV: this.deps.voltageV }));
        if (conf?.status !== 'Accepted') allAccepted = false;
      } catch (error) {
        allAccepted = false;
        this.log.warn({ err: error, slot: key }, 'could not fold a CSMS profile into the charger');
      }
    }
    return allAccepted;
  }
}

function slotKey(req: any): string {
  const p = req.chargingProfile ?? req.csChargingProfiles;
  return `${req.evseId ?? req.connectorId}:${p.chargingProfilePurpose}:${p.stackLevel}`;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
