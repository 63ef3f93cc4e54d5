import { readFileSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import type { ChargerConfig } from '../../config/schema.ts';
import { monotonicMs, type Wait } from '../clock.ts';
import type { ConnectorCap } from '../../optimizer/types.ts';
import type { ApplyResult, ChargerCommands } from '../control/charger-commands.ts';
import type { Service, ServiceContext } from '../service.ts';
import type { TransactionStore } from '../state/transaction-store.ts';
import { TransactionBook, type TransactionBookView } from './transaction-book.ts';
import type { ChargerLink, LinkHost, LinkSettings } from './charger-link.ts';
import { ChargerLink16 } from './charger-link-16.ts';
import { ChargerLink201 } from './charger-link-201.ts';
import { FailureBackoff } from '../failure-backoff.ts';
import { OcppListenError } from './errors.ts';
import { IdTagDirectory } from './id-tags.ts';
import { ProfileDispatcher } from './profile-dispatcher.ts';
import type { HoldingsStore } from './holdings-store.ts';
import { SiteHoldings } from './site-holdings.ts';
import { DEFAULT_TRIGGER_LIMITS, MeterTriggers, type MeterTriggerLimits } from './meter-triggers.ts';
import type { ConnectorSampleState, SampleWantedSettings } from './samples-wanted.ts';
import type { Decision } from '../../optimizer/types.ts';
import { listenOcpp, type Handshake, type HandshakeVerdict, type OcppConnection, type OcppListener, type TransportFault } from './transport.ts';

export const OCPP_PATH = '/ocpp';

export interface CentralSystemDeps extends Partial<LinkSettings> {
  /**
   * The site's transaction book (src/app.ts builds it on the SQLite stores, so the relay can read
   * it too), or a bare store the central system keeps a book on (station ids in memory).
   */
  transactions: TransactionStore | TransactionBook;
  /** What the chargers hold, kept across a restart; in memory (forgotten) by default. */
  holdings?: HoldingsStore;
  /** Subprotocols offered, in order of preference. */
  protocols?: string[];
  /**
   * Wraps each charger's connection before its link uses it (local-controller mode: src/upstream
   * relays every frame to the cloud CSMS and folds its profiles into ours). Default: none.
   */
  wrapConnection?: (connection: OcppConnection<any, any>, charger: ChargerConfig) => OcppConnection<any, any>;
  /** Local-controller mode: tags the cloud CSMS accepted count as authorized here too. */
  acceptedElsewhere?: (idTag: string) => boolean;
  /** The timer the links and the profile rounds wait with (tests: virtual time); setTimeout by default. */
  wait?: Wait;
  /**
   * When a car's sample counts as settled and as stale, as the control step judges it (src/app.ts
   * passes the decide params'): the EMS asks a charger for a sample (TriggerMessage MeterValues)
   * when it has none that lets a car's unused current be lent. Default: from the config, stale
   * after control.staleAfterMs (the shortest the control step uses: asks a little early).
   */
  samples?: Omit<SampleWantedSettings, 'refreshLeadMs'>;
  /** Limits on those requests (tests); DEFAULT_TRIGGER_LIMITS by default. */
  triggerLimits?: MeterTriggerLimits;
}

export type CentralSystem = Service &
  ChargerCommands & {
    /** The bound port (config ocpp.port 0 picks a free one); 0 before start(). */
    readonly port: number;
    /** Ids of the chargers connected right now. */
    connectedChargers(): string[];
    /** Resolves once the charger is connected and through its boot setup (failsafe floor installed). */
    whenReady(chargerId: string): Promise<void>;
    /**
     * Chargers anyone who can reach the OCPP port may connect as (no password, no client
     * certificate) while that port is not loopback-only; empty when none. For the API/dashboard.
     */
    unauthenticatedChargers(): string[];
    /** The transactions, active connectors and 2.0.1 station ids (read only). */
    readonly book: TransactionBookView;
  };

/** Failed OCPP Basic auth: free tries, then 1 s doubling up to the cap; per address and per charger id. */
const AUTH_BACKOFF = { freeFailures: 3, baseMs: 1_000, forgetAfterMs: 15 * 60_000, maxKeys: 10_000 };
const ADDRESS_BACKOFF_MAX_MS = 5 * 60_000;
/** Per id the wait stays short: the real charger from an address that authenticated before is not held back. */
const ID_BACKOFF_MAX_MS = 30_000;

/** 127.0.0.0/8, ::1, the IPv4-mapped 127.x (::ffff:127.0.0.1) and localhost: nobody else can reach the port. */
const isLoopback = (host: string) => /^((::ffff:)?127\.\d+\.\d+\.\d+|::1|localhost)$/i.test(host);

/** Whether a verified client certificate names this charger (subject CN or a SAN). */
function certificateNames(certificate: NonNullable<Handshake['clientCertificate']>, chargerId: string): boolean {
  return certificate.subjectCN === chargerId || certificate.altNames.includes(chargerId);
}

const DEFAULT_SETTINGS: LinkSettings = { heartbeatIntervalS: 300, meterSampleIntervalS: 10, bootWaitMs: 5_000, callTimeoutMs: 10_000, answerWaitMs: 2_000, compositeRecheckMs: 10_000 };

function passwordMatches(expected: string, given: Buffer | undefined): boolean {
  if (!given) return false;
  const want = Buffer.from(expected, 'utf8');
  return want.length === given.length && timingSafeEqual(want, given);
}

/**
 * The site's OCPP central system: ws(s)://HOST:PORT/ocpp/{chargerId} for the chargers in the config
 * (others get 404; a charger with a password needs HTTP Basic auth, else 401), subprotocols
 * ocpp1.6 (preferred) and ocpp2.0.1, strict schema validation both ways. It turns the chargers'
 * calls into bus events, installs a failsafe floor on every (re)connect and boot, and pushes the
 * control loop's caps as charging profiles (decreases confirmed before increases).
 */
export function createCentralSystem(ctx: ServiceContext, deps: CentralSystemDeps): CentralSystem {
  const log = ctx.log.child({ module: 'ocpp' });
  const settings: LinkSettings = {
    heartbeatIntervalS: deps.heartbeatIntervalS ?? DEFAULT_SETTINGS.heartbeatIntervalS,
    meterSampleIntervalS: deps.meterSampleIntervalS ?? DEFAULT_SETTINGS.meterSampleIntervalS,
    bootWaitMs: deps.bootWaitMs ?? DEFAULT_SETTINGS.bootWaitMs,
    callTimeoutMs: deps.callTimeoutMs ?? DEFAULT_SETTINGS.callTimeoutMs,
    answerWaitMs: deps.answerWaitMs ?? DEFAULT_SETTINGS.answerWaitMs,
    compositeRecheckMs: deps.compositeRecheckMs ?? DEFAULT_SETTINGS.compositeRecheckMs,
  };
  const chargers = new Map<string, ChargerConfig>(ctx.config.chargers.map((c) => [c.id, c]));
  const book = deps.transactions instanceof TransactionBook ? deps.transactions : new TransactionBook(deps.transactions);
  const holdings = new SiteHoldings(ctx.config, ctx.clock, ctx.bus, log, deps.holdings, (chargerId, connectorId) => book.refusedDrawing(chargerId, connectorId));
  const idTags = new IdTagDirectory(ctx.config, deps.acceptedElsewhere);
  const links = new Map<string, ChargerLink>();
  const validationLogged = new Set<string>();
  let listener: OcppListener | undefined;
  let unsubscribe: (() => void) | undefined;
  const readyWaiters = new Map<string, (() => void)[]>();
  const requireClientCert = ctx.config.ocpp.tls?.clientCert === 'required';
  const byAddress = new FailureBackoff(ctx.clock, { ...AUTH_BACKOFF, maxMs: ADDRESS_BACKOFF_MAX_MS });
  const byId = new FailureBackoff(ctx.clock, { ...AUTH_BACKOFF, maxMs: ID_BACKOFF_MAX_MS });
  /** Addresses each charger authenticated from (bounded): they skip the per-id wait. */
  const knownAddresses = new Map<string, Set<string>>();
  const unauthenticated = ctx.config.chargers.filter((c) => c.password === undefined && !requireClientCert).map((c) => c.id);
  const exposed = !isLoopback(ctx.config.ocpp.host);

  const securityEvent = (kind: string, details: { chargerId?: string; remoteAddress?: string } = {}) =>
    ctx.bus.emit('security.event', { kind, atMs: ctx.clock.nowMs(), ...details });
  const onFault = (fault: TransportFault, details: { chargerId?: string; remoteAddress?: string }) =>
    securityEvent(`ocpp-${fault}`, { ...(details.chargerId ? { chargerId: details.chargerId } : {}), ...(details.remoteAddress ? { remoteAddress: details.remoteAddress } : {}) });

  const dispatcher = new ProfileDispatcher({
    bus: ctx.bus,
    clock: ctx.clock,
    log,
    voltageV: ctx.config.site.voltage,
    profileDurationS: ctx.config.control.profileDurationS,
    profileMinIntervalMs: ctx.config.control.profileMinIntervalMs,
    answerWaitMs: settings.answerWaitMs,
    target: (chargerId) => links.get(chargerId),
    activeTransaction: (chargerId, connectorId) => book.active(chargerId, connectorId),
    wait: deps.wait,
  });

  /** A sample is asked this long before a lending car's last one goes stale, ms (the answer and the sample fit in it). */
  const REFRESH_LEAD_MS = 5_000;
  const triggers = new MeterTriggers(
    { carResponseMs: ctx.config.control.carResponseS * 1000, drawStaleMs: ctx.config.control.staleAfterMs, ...deps.samples, refreshLeadMs: REFRESH_LEAD_MS },
    deps.triggerLimits ?? DEFAULT_TRIGGER_LIMITS,
    log,
  );
  let lastDecision: Decision | undefined;

  /** After a round of caps: asks the chargers whose cars the decision has no settled, fresh sample of (MeterTriggers). */
  function askForSamples(): void {
    const decision = lastDecision;
    const state = ctx.state;
    if (!decision || !state) return;
    function* connectors(): Generator<ConnectorSampleState> {
      for (const c of state!.connectors.values()) {
        yield { chargerId: c.chargerId, connectorId: c.connectorId, session: c.session !== null, lastSampleAtMs: c.drawAtMs, reachable: links.get(c.chargerId)?.ready === true };
      }
    }
    for (const want of triggers.pick(decision, connectors, monotonicMs(ctx.clock))) {
      const link = links.get(want.chargerId);
      if (!link) {
        triggers.answered(want.chargerId, want.connectorId, 'Closed', monotonicMs(ctx.clock));
        continue;
      }
      link.log.debug({ connectorId: want.connectorId, reason: want.reason }, 'asking for a MeterValues sample (TriggerMessage)');
      void link.triggerMeterValues(want.connectorId).then((answer) => triggers.answered(want.chargerId, want.connectorId, answer, monotonicMs(ctx.clock)));
    }
  }

  const host: LinkHost = {
    ctx,
    book,
    idTags,
    settings,
    wait: deps.wait,
    holdings: (chargerId) => holdings.of(chargerId),
    setupDone(link) {
      if (links.get(link.chargerId) !== link) return;
      dispatcher.restateCharger(link.chargerId, link.config.connectors);
      const held = holdings.of(link.chargerId);
      const nowMs = monotonicMs(ctx.clock);
      if (held.uncontrollable) link.log.info({ capabilities: link.capabilities, reservedA: held.maxA }, 'charger set up; it cannot be capped and counts at its max');
      else if (held.floor.inForce(nowMs)) link.log.info({ capabilities: link.capabilities, floorA: held.floor.inForce(nowMs)!.limitA }, 'charger set up; failsafe floor installed');
      else link.log.warn({ capabilities: link.capabilities }, 'charger set up without its failsafe floor (not taken yet); its connector defaults bound it, the floor is retried');
      for (const resolve of readyWaiters.get(link.chargerId) ?? []) resolve();
      readyWaiters.delete(link.chargerId);
    },
    transactionEnded: (chargerId, connectorId) => holdings.of(chargerId).transactionEnded(connectorId),
    uncontrollable(link, reason) {
      holdings.markUncontrollable(link.chargerId, reason, link.log);
      link.reportHoldings(`uncontrollable: ${reason}`);
    },
    admitsSessions: (chargerId) => holdings.admitsSessions(chargerId),
    sessionPaused: (chargerId, connectorId) => ctx.state?.connector(chargerId, connectorId)?.session?.paused === true,
  };

  function verify(handshake: Handshake): HandshakeVerdict {
    const address = handshake.remoteAddress ?? 'unknown';
    const charger = chargers.get(handshake.identity);
    if (handshake.endpoint !== OCPP_PATH || !charger) {
      log.debug({ identity: handshake.identity, endpoint: handshake.endpoint, remoteAddress: address }, 'connection refused: not a charger in the config (404)');
      securityEvent('ocpp-unknown-charger', { remoteAddress: address });
      return { accept: false, status: 404, message: 'Not found' };
    }
    if (requireClientCert) {
      // TLS already refused a missing, expired or foreign certificate; here it must name this charger.
      if (!handshake.clientCertificate || !certificateNames(handshake.clientCertificate, charger.id)) {
        log.warn({ chargerId: charger.id, remoteAddress: address, certificateCN: handshake.clientCertificate?.subjectCN }, 'connection refused: the client certificate does not name this charger (403)');
        securityEvent('ocpp-certificate-mismatch', { chargerId: charger.id, remoteAddress: address });
        return { accept: false, status: 403, message: 'Forbidden' };
      }
    }
    if (charger.password === undefined) return { accept: true };
    const known = knownAddresses.get(charger.id)?.has(address) ?? false;
    const waitMs = Math.max(byAddress.waitMs(address), known ? 0 : byId.waitMs(charger.id));
    if (waitMs > 0) {
      securityEvent('ocpp-auth-throttled', { chargerId: charger.id, remoteAddress: address });
      return { accept: false, status: 429, message: 'Too many failed attempts' };
    }
    if (!passwordMatches(charger.password, handshake.password)) {
      const perAddress = byAddress.fail(address);
      const perId = known ? undefined : byId.fail(charger.id);
      securityEvent('ocpp-auth-failed', { chargerId: charger.id, remoteAddress: address });
      if (perAddress.burstStarted || perId?.burstStarted) {
        log.warn({ chargerId: charger.id, remoteAddress: address, passwordGiven: handshake.password !== undefined }, 'connection refused: wrong or missing password (401); further failures back off and are counted in ems_security_events_total, not logged');
      }
      return { accept: false, status: 401, message: 'Unauthorized' };
    }
    byAddress.succeed(address);
    const addresses = knownAddresses.get(charger.id) ?? new Set<string>();
    if (addresses.size >= 8) addresses.delete(addresses.values().next().value as string);
    addresses.add(address);
    knownAddresses.set(charger.id, addresses);
    return { accept: true };
  }

  function onConnection(raw: OcppConnection): void {
    const config = chargers.get(raw.identity);
    if (!config) {
      void raw.close(1008, 'unknown charger');
      return;
    }
    const connection = deps.wrapConnection ? deps.wrapConnection(raw, config) : raw;
    const link: ChargerLink = connection.protocol === 'ocpp2.0.1' ? new ChargerLink201(connection, config, host) : new ChargerLink16(connection, config, host);
    const previous = links.get(config.id);
    links.set(config.id, link);
    if (previous) {
      if (unauthenticated.includes(config.id)) {
        link.log.warn({ exposed }, 'possible takeover: a second connection for a charger without password or certificate replaced the open one; closing the old one');
        securityEvent('ocpp-takeover', { chargerId: config.id });
      } else link.log.warn('charger connected again while its old socket was open; closing the old one');
      previous.dispose();
      void previous.connection.close(1000, 'replaced by a new connection');
    }
    connection.onValidationFailure((failure) => {
      const first = !validationLogged.has(config.id);
      validationLogged.add(config.id);
      const details = { action: failure.action, outbound: failure.outbound, isCall: failure.isCall, problem: failure.message };
      if (failure.outbound) link.log.error(details, 'a message of ours failed the OCPP schema (a bug); it was not sent');
      else if (first) link.log.warn(details, 'charger sent a message that fails the OCPP 1.6 schema; answered with a CALLERROR (logged once per charger)');
      else link.log.debug(details, 'schema-invalid message from charger');
    });
    connection.onClose(({ code, reason }) => {
      link.dispose();
      if (links.get(config.id) !== link) return;
      links.delete(config.id);
      link.log.info({ code, reason }, 'charger disconnected');
      link.reportHoldings('charger disconnected; it keeps what it holds', true);
      ctx.bus.emit('charger.disconnected', { chargerId: config.id, atMs: ctx.clock.nowMs() });
    });
    link.log.info({ protocol: connection.protocol }, 'charger connected');
    ctx.bus.emit('charger.connected', { chargerId: config.id, atMs: ctx.clock.nowMs(), protocol: connection.protocol });
  }

  /** After an EMS restart with persistent storage: sessions still open are known again. */
  function restoreOpenTransactions(): void {
    const restored = book.restore(ctx.clock.nowMs(), (tx) => {
      const charger = chargers.get(tx.chargerId);
      return charger !== undefined && tx.connectorId >= 1 && tx.connectorId <= charger.connectors;
    });
    for (const tx of restored) {
      const charger = chargers.get(tx.chargerId)!;
      const session = idTags.sessionDefaults(tx.idTag, charger.tier, tx.startedAtMs);
      ctx.bus.emit('session.started', {
        chargerId: tx.chargerId,
        connectorId: tx.connectorId,
        transactionId: tx.transactionId,
        idTag: tx.idTag,
        tier: session.tier,
        startedAtMs: tx.startedAtMs,
        meterStartWh: tx.meterStartWh,
        ...(session.departureAtMs !== undefined ? { departureAtMs: session.departureAtMs } : {}),
        ...(session.energyNeedWh !== undefined ? { energyNeedWh: session.energyNeedWh } : {}),
      });
    }
    // Until each charger is back, it holds what it held when the EMS stopped: counted so from the first cycle.
    holdings.reportRestored((chargerId, connectorId) => book.active(chargerId, connectorId));
  }

  function readTls(): { cert: Buffer; key: Buffer; ca?: Buffer } | undefined {
    const tls = ctx.config.ocpp.tls;
    if (!tls) return undefined;
    try {
      return { cert: readFileSync(tls.cert), key: readFileSync(tls.key), ...(tls.ca ? { ca: readFileSync(tls.ca) } : {}) };
    } catch (error) {
      throw new OcppListenError(`cannot read the OCPP TLS files (ocpp.tls): ${(error as Error).message}`, { cause: error });
    }
  }

  return {
    name: 'ocpp',
    get port() {
      return listener?.port ?? 0;
    },
    book,
    connectedChargers: () => [...links.keys()],
    unauthenticatedChargers: () => (exposed ? [...unauthenticated] : []),
    whenReady(chargerId) {
      if (links.get(chargerId)?.ready) return Promise.resolve();
      return new Promise((resolve) => readyWaiters.set(chargerId, [...(readyWaiters.get(chargerId) ?? []), resolve]));
    },
    async start() {
      if (listener) return;
      restoreOpenTransactions();
      const offReconcile = ctx.bus.on('charger.reconcile', ({ chargerId }) => links.get(chargerId)?.requestStatus());
      const offDecision = ctx.bus.on('decision', (decision) => {
        lastDecision = decision;
      });
      unsubscribe = () => {
        offReconcile();
        offDecision();
      };
      const tls = readTls();
      if (tls && requireClientCert && !tls.ca) throw new OcppListenError('ocpp.tls.clientCert: required needs ocpp.tls.ca');
      listener = await listenOcpp({
        host: ctx.config.ocpp.host,
        port: ctx.config.ocpp.port,
        ...(tls ? { tls: { ...tls, requireClientCert } } : {}),
        protocols: deps.protocols ?? ['ocpp1.6', 'ocpp2.0.1'],
        callTimeoutMs: settings.callTimeoutMs,
        log,
        verify,
        onConnection,
        onFault,
      });
      log.info({ url: `${tls ? 'wss' : 'ws'}://${ctx.config.ocpp.host}:${listener.port}${OCPP_PATH}/{chargerId}`, chargers: chargers.size }, 'OCPP central system listening');
      const withPassword = ctx.config.chargers.filter((c) => c.password !== undefined).map((c) => c.id);
      if (!tls && withPassword.length) {
        log.warn({ chargers: withPassword }, 'charger passwords travel in clear text over ws:// (Security Profile 1, trusted networks only); set ocpp.tls for wss://');
      }
      if (exposed && unauthenticated.length) {
        log.warn(
          { chargers: unauthenticated, host: ctx.config.ocpp.host },
          'chargers without password or client certificate on an OCPP port that is not loopback: anyone who can reach the port and knows an id can connect as that charger; set chargers[].password (and ocpp.tls) or ocpp.tls.clientCert: required',
        );
      }
    },
    async stop() {
      const current = listener;
      listener = undefined;
      unsubscribe?.();
      unsubscribe = undefined;
      for (const link of links.values()) link.dispose();
      holdings.dispose();
      await current?.close();
      links.clear();
    },
    async applyCaps(caps: readonly ConnectorCap[]): Promise<ApplyResult> {
      for (const link of links.values()) link.maintain();
      const result = await dispatcher.applyCaps(caps);
      // Behind the round's profiles on each link, never ahead of a decrease.
      if (listener) askForSamples();
      return result;
    },
  };
}
