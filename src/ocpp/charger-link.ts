import type { ChargerConfig } from '../../config/schema.ts';
import type { ConnectorStatus } from '../../optimizer/types.ts';
import type { ConnectorMeter } from '../bus.ts';
import { CLOCK_STEP_MS, monotonicMs, realWait, type Wait } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { ServiceContext } from '../service.ts';
import type { TransactionBook } from './transaction-book.ts';
import { CONSERVATIVE_CAPABILITIES, type ChargerCapabilities } from './capabilities.ts';
import type { ChargerHoldings, ProfileSlot } from './charger-holdings.ts';
import { OcppCallError, OcppCallRefused } from './errors.ts';
import type { IdTagDirectory } from './id-tags.ts';
import type { MeterValue } from './messages.ts';
import { parseMeterValues, type MeterParse } from './meter-values.ts';
import type { TriggerAnswer } from './meter-triggers.ts';
import type { LimitSpec } from './profile.ts';
import { settleProfileCall, type ProfileOutcome } from './profile-answer.ts';
import type { ProfileIntent, ProfileTarget } from './profile-dispatcher.ts';
import { chargerShareA } from './static-share.ts';

/** Composite-schedule checks after profile changes: at most one per charger in this time, ms. */
const COMPOSITE_RECHECK_MS = 5 * 60_000;

/**
 * A TriggerMessage unanswered this long counts as failed, ms: the charger's later calls (a profile
 * decrease among them) wait behind it on the link, so it gets less than an ordinary call.
 */
const TRIGGER_TIMEOUT_MS = 5_000;

/** How long a charger's timestamps must agree on an earlier clock than the one we know before it is taken, ms. */
const LOWER_CLOCK_CONFIRM_MS = 60_000;
import type { OcppConnection } from './transport.ts';

export interface LinkSettings {
  heartbeatIntervalS: number;
  meterSampleIntervalS: number;
  /** How long to wait for a BootNotification before setting a charger up anyway. */
  bootWaitMs: number;
  callTimeoutMs: number;
  /** How long one applyCaps round waits for profile answers before going on. */
  answerWaitMs: number;
  /** How long to wait before asking again for a composite schedule above what was sent. */
  compositeRecheckMs: number;
}

/** What a link needs from the central system that owns it. */
export interface LinkHost {
  ctx: ServiceContext;
  /** The site's transactions, active connectors and station ids: outlives this link. */
  book: TransactionBook;
  idTags: IdTagDirectory;
  settings: LinkSettings;
  /** What this charger holds; one object per charger for the life of the EMS process. */
  holdings(chargerId: string): ChargerHoldings;
  /** The boot setup finished (whatever the charger accepted). */
  setupDone(link: ChargerLink): void;
  transactionEnded(chargerId: string, connectorId: number): void;
  /** The charger cannot be capped (capabilities, NotSupported, NotImplemented, ignored profiles). */
  uncontrollable(link: ChargerLink, reason: string): void;
  /** Whether a session may start on this charger now (control.uncontrollable: refuse-sessions). */
  admitsSessions(chargerId: string): boolean;
  /**
   * Whether the connector's running session is paused by the operator (site state, restored from
   * storage before any charger is back): its default goes out at 0 A first in the boot setup.
   */
  sessionPaused?(chargerId: string, connectorId: number): boolean;
  /** The timer the link waits with (boot wait, composite re-ask); setTimeout by default. */
  wait?: Wait | undefined;
}

export const iso = (atMs: number) => new Date(atMs).toISOString();

/** Above this (A, any phase) a car under a refused tag counts as drawing. */
const REFUSED_DRAW_A = 1;
/** A draw this far above every limit a connector may hold counts as ignoring it, A. */
const IGNORED_TOLERANCE_A = 2;
/** ...for at least this long (or 3 meter intervals), ms: longer than any car takes to follow. */
const IGNORED_AFTER_MIN_MS = 30_000;
/**
 * A composite schedule above what was sent is asked again this many times, this far apart, before
 * the charger counts as uncontrollable: many chargers store a profile at once but report it only
 * after their next control step (GetCompositeSchedule is indicative, OCPP 1.6 §5.7), and a verdict
 * on one early answer would stop steering a charger that obeys. Meanwhile a charger that really
 * lets a car draw above its limit is caught by what it draws (checkObeys).
 */
const COMPOSITE_RECHECKS = 2;

/** What a charger's capabilities say about smart charging. */
export interface CapabilityReading {
  /** false: the charger says it has no smart charging (1.6 SupportedFeatureProfiles, 2.0.1 SmartChargingCtrlr). */
  smartCharging: boolean | undefined;
}

/**
 * One connected charger, whatever its OCPP version: the wire session. It runs the boot setup
 * (capabilities, failsafe floor, connector defaults, meter sampling) after every connect and boot,
 * turns the charger's transactions and readings into bus events, and carries the profiles the
 * dispatcher sends. What the charger holds lives in its ChargerHoldings, which outlives the link.
 * Subclasses speak the wire format.
 */
export abstract class ChargerLink implements ProfileTarget {
  readonly chargerId: string;
  readonly log: Logger;
  capabilities: ChargerCapabilities = { ...CONSERVATIVE_CAPABILITIES };
  ready = false;
  protected closed = false;
  private setupRunning: Promise<void> | undefined;
  private setupAgain = false;
  private firstCallSeen = false;
  private bootTimer: ReturnType<Wait> | undefined;
  private recheckTimer: ReturnType<Wait> | undefined;
  private readonly faults = new Map<number, string>();
  private meterGarbage = false;
  private statusWanted = false;
  /** Whether the charger named its highest stack level (else we try one level up and see). */
  protected stackLevelReported = false;
  /**
   * The charger's clock minus our monotonic clock: ours (as it was when it connected) until its
   * timestamps say otherwise (noteChargerClock).
   */
  private chargerOffsetMs: number;
  /** A composite-schedule check is running (verifyHoldings); when the last one started, monotonic ms. */
  private verifying = false;
  private verifiedAtMonoMs = Number.NEGATIVE_INFINITY;
  /** The charger did not report a composite schedule (Rejected, NotImplemented, no answer): not asked again on this link. */
  private compositeUnreported = false;
  /** A lower clock the charger's recent timestamps agree on, not yet taken (noteChargerClock). */
  private lowerClock: { offsetMs: number; sinceMonoMs: number } | undefined;

  constructor(
    readonly connection: OcppConnection<any, any>,
    readonly config: ChargerConfig,
    protected readonly host: LinkHost,
  ) {
    this.chargerId = config.id;
    this.log = host.ctx.log.child({ module: 'ocpp', chargerId: config.id });
    this.chargerOffsetMs = this.now - this.mono;
    connection.onInboundCall((action) => {
      if (this.firstCallSeen) return;
      this.firstCallSeen = true;
      // A charger that boots says BootNotification first; one that only reconnected says anything else.
      if (action !== 'BootNotification') this.requestSetup('reconnect');
    });
    const bootTimer = this.wait(host.settings.bootWaitMs);
    this.bootTimer = bootTimer;
    void bootTimer.promise.then(() => {
      if (this.bootTimer !== bootTimer || this.closed) return;
      if (!this.firstCallSeen) {
        this.firstCallSeen = true;
        this.requestSetup('quiet after connect');
      }
    });
  }

  get holdings(): ChargerHoldings {
    return this.host.holdings(this.chargerId);
  }

  // --- the wire format, per OCPP version ---------------------------------------------------
  abstract sendProfile(intent: ProfileIntent): Promise<string>;
  /** Reads the smart-charging capabilities into `this.capabilities`; conservative when unknown. */
  protected abstract readCapabilities(): Promise<CapabilityReading>;
  /** Installs the charger-wide floor (connector/EVSE 0), or with `lifted` the lift above it. */
  protected abstract sendMaxProfile(spec: LimitSpec, lifted?: { stackLevel: number; durationS: number }): Promise<string>;
  protected abstract configureMeterValues(): Promise<void>;
  protected abstract callTriggerStatus(): Promise<string>;
  /** TriggerMessage MeterValues for one connector (1.6 connectorId, 2.0.1 evse), answered within `timeoutMs`. */
  protected abstract callTriggerMeterValues(connectorId: number, timeoutMs: number): Promise<string>;
  protected abstract callClearTxProfile(connectorId: number): Promise<string>;
  /** GetCompositeSchedule for one connector over `durationS`: the most it lets a car draw, A per phase; undefined when not reported. */
  protected abstract callCompositeSchedule(connectorId: number, durationS: number): Promise<number | undefined>;

  /** The socket closed (the link is disposed): a call on the wire was cut short with it. */
  get disconnected(): boolean {
    return this.closed;
  }

  /** The socket closed: stop everything this link owns. */
  dispose(): void {
    this.closed = true;
    this.ready = false;
    this.bootTimer?.cancel();
    this.recheckTimer?.cancel();
  }

  /** The injected timer (LinkHost.wait), or setTimeout. */
  private get wait(): Wait {
    return this.host.wait ?? realWait;
  }

  /** Wall-clock time (timestamps in messages). */
  protected get now(): number {
    return this.host.ctx.clock.nowMs();
  }

  /** Monotonic time (durations, refreshes, backoff). */
  protected get mono(): number {
    return monotonicMs(this.host.ctx.clock);
  }

  /**
   * The charger's own clock as best we know it: from the last timestamp it sent, carried forward on
   * our monotonic clock, so a step of our wall clock does not move the schedules we send; our wall
   * clock until it sent one. Absolute schedules start from here.
   */
  chargerNowMs(): number {
    return this.mono + this.chargerOffsetMs;
  }

  protected get timeoutMs(): number {
    return this.host.settings.callTimeoutMs;
  }

  stepDownStackLevel(): void {
    if (this.capabilities.maxStackLevel > 0) {
      this.capabilities = { ...this.capabilities, maxStackLevel: this.capabilities.maxStackLevel - 1 };
      this.log.info({ maxStackLevel: this.capabilities.maxStackLevel }, 'TxProfile refused; stepping the stack level down');
    }
  }

  uncontrollableFound(detail: string): void {
    this.host.uncontrollable(this, detail);
  }

  /** Clears the TxProfile of a finished transaction, if one was ever sent to the charger. */
  async clearTxProfile(connectorId: number): Promise<void> {
    try {
      const status = await this.callClearTxProfile(connectorId);
      this.log.debug({ connectorId, status }, 'TxProfile cleared after the transaction');
    } catch (error) {
      // A charger that disconnected meanwhile (its socket closed, the call cut short) is logged
      // where it goes; the TxProfile names a transaction that is over and expires by its duration.
      if (this.closed) this.log.info({ err: (error as Error).message, connectorId }, 'charger disconnected before it answered the clearing of a TxProfile; it expires by its duration');
      else this.log.warn({ err: error, connectorId }, 'could not clear the TxProfile after the transaction; it expires by its duration');
    }
  }

  /**
   * Asks the charger to report every connector again (TriggerMessage StatusNotification), after
   * its setup if that is still running: used after an EMS restart, when stored sessions may be stale.
   */
  requestStatus(): void {
    this.statusWanted = true;
    if (this.ready) void this.triggerStatus();
  }

  private async triggerStatus(): Promise<void> {
    if (!this.statusWanted || this.closed) return;
    this.statusWanted = false;
    try {
      const status = await this.callTriggerStatus();
      this.log.info({ status }, 'asked the charger to report its connectors again');
    } catch (error) {
      if (!this.closed) this.log.warn({ err: error }, 'TriggerMessage StatusNotification failed; connector states update with the next notification');
    }
  }

  /**
   * Asks the charger for a MeterValues sample of one connector now (TriggerMessage); the sample
   * arrives as an ordinary MeterValues (context Trigger) and feeds the same path as periodic ones.
   * A CALLERROR NotImplemented / NotSupported counts as NotImplemented; no answer within
   * TRIGGER_TIMEOUT_MS (its calls queue behind it) or another error as Failed; a closed link as Closed.
   */
  async triggerMeterValues(connectorId: number): Promise<TriggerAnswer> {
    if (this.closed) return 'Closed';
    try {
      const status = await this.callTriggerMeterValues(connectorId, Math.min(this.timeoutMs, TRIGGER_TIMEOUT_MS));
      return status === 'Accepted' || status === 'Rejected' || status === 'NotImplemented' ? status : 'Rejected';
    } catch (error) {
      if (this.closed) return 'Closed';
      const code = error instanceof OcppCallError ? error.rpcErrorCode : undefined;
      if (code === 'NotImplemented' || code === 'NotSupported') return 'NotImplemented';
      this.log.debug({ err: error, connectorId }, 'TriggerMessage MeterValues failed');
      return 'Failed';
    }
  }

  /** Runs the boot setup now, or once more after the one in progress. */
  requestSetup(why: string): void {
    if (this.closed) return;
    this.bootTimer?.cancel();
    if (this.setupRunning) {
      this.setupAgain = true;
      return;
    }
    this.setupRunning = this.setup(why)
      .catch((error) => this.log.error({ err: error }, 'charger setup failed'))
      .finally(() => {
        this.setupRunning = undefined;
        if (this.setupAgain) {
          this.setupAgain = false;
          this.requestSetup('boot during setup');
        }
      });
  }

  /**
   * Reports every connector's reservation on the bus (what it may draw whatever we decide now).
   * `offline`: the charger cannot take new limits, so even a connector at its cap stays reserved.
   */
  reportHoldings(detail: string, offline = false): void {
    const nowMs = this.mono;
    for (let connectorId = 1; connectorId <= this.config.connectors; connectorId++) {
      const transactionId = this.host.book.active(this.chargerId, connectorId);
      const status = this.holdings.status(connectorId, transactionId, nowMs, offline);
      this.host.ctx.bus.emit('profile.status', { chargerId: this.chargerId, connectorId, ...status, atMs: this.now, detail });
    }
  }

  private async setup(why: string): Promise<void> {
    this.ready = false;
    const holdings = this.holdings;
    // What the connectors held before: a reconnect must not raise a default the control loop lowered.
    const previousDefaults = Array.from({ length: this.config.connectors + 1 }, (_, c) => holdings.defaultSlot(c).possibleA(this.mono));
    // A charger that only lost its link (or whose EMS restarted) keeps what it holds; one that booted may have lost it.
    const booted = why === 'BootNotification' || why === 'boot during setup';
    holdings.reconnected(booted);
    holdings.noteHolds(this.mono);
    // Until the setup is through it takes no new limit: every connector is reserved at what it may hold.
    this.reportHoldings(booted ? 'charger booted; counted at its max until it confirms its limits' : 'charger back; it keeps what it holds until it confirms again', true);
    this.log.info({ why, protocol: this.connection.protocol }, 'setting the charger up: capabilities, failsafe floor, meter sampling');
    let reading: CapabilityReading = { smartCharging: undefined };
    try {
      reading = await this.readCapabilities();
    } catch (error) {
      this.capabilities = { ...CONSERVATIVE_CAPABILITIES };
      if (!this.closed) this.log.warn({ err: error }, 'reading smart-charging capabilities failed; using conservative defaults');
    }
    if (this.closed) return;
    if (this.config.smartCharging === false) this.host.uncontrollable(this, 'configured without smart charging (chargers[].smartCharging: false)');
    else if (reading.smartCharging === false) this.host.uncontrollable(this, 'the charger reports no smart charging');
    if (!holdings.uncontrollable) {
      // The floor goes on before anything else that can wait (until it is there, the charger is
      // unbounded), only a paused session's 0 A default before it (a car that must not resume).
      await this.installFloor(previousDefaults);
      if (this.closed) return;
    }
    if (!holdings.uncontrollable) {
      holdings.liftUnsupported = this.stackLevelReported && this.capabilities.maxStackLevel < 1;
      if (holdings.liftUnsupported) this.log.warn('charger takes only stack level 0: its charger-wide limit stays at the static safe share');
      else await this.installLift();
      if (this.closed) return;
    }
    await this.configureMeterValues();
    if (this.closed) return;
    this.ready = true;
    holdings.settingUp = false;
    // What it holds is reserved until the next control round compares it with the caps wanted.
    this.reportHoldings(holdings.uncontrollable ? `uncontrollable: ${holdings.uncontrollable.reason}` : 'failsafe floor', true);
    this.host.setupDone(this);
    void this.triggerStatus();
    if (!holdings.uncontrollable) void this.verifyHoldings();
  }

  /**
   * A profile was accepted: check again that the charger applies what it holds (verifyHoldings),
   * at most once per COMPOSITE_RECHECK_MS, one at a time, and never again once it could not say
   * (a charger that answers Rejected or NotImplemented is not asked every few minutes).
   */
  profileAccepted(): void {
    if (!this.ready || this.closed || this.verifying || this.compositeUnreported || this.holdings.uncontrollable) return;
    if (this.mono - this.verifiedAtMonoMs < COMPOSITE_RECHECK_MS) return;
    void this.verifyHoldings();
  }

  /**
   * Asks the charger what each connector will let a car draw over the next two profile durations
   * (GetCompositeSchedule) and compares it with what the EMS believes it holds (before and after
   * the question, as profiles may be on the wire meanwhile). A charger that still reports more
   * after COMPOSITE_RECHECKS more questions does not apply our profiles: uncontrollable. One that
   * cannot say (Rejected, NotImplemented) is trusted on its answers to SetChargingProfile.
   */
  private async verifyHoldings(recheck = 0): Promise<void> {
    this.verifying = true;
    this.verifiedAtMonoMs = this.mono;
    try {
      await this.verifyConnectors(recheck);
    } finally {
      this.verifying = false;
    }
  }

  private async verifyConnectors(recheck: number): Promise<void> {
    const durationS = 2 * this.host.ctx.config.control.profileDurationS;
    for (let connectorId = 1; connectorId <= this.config.connectors; connectorId++) {
      if (this.closed || this.holdings.uncontrollable) return;
      const believedA = () => this.holdings.holdA(connectorId, this.host.book.active(this.chargerId, connectorId), this.mono);
      const beforeA = believedA();
      let reportedA: number | undefined;
      try {
        reportedA = await this.callCompositeSchedule(connectorId, durationS);
      } catch (error) {
        this.log.debug({ err: error, connectorId }, 'GetCompositeSchedule not answered; what the connector holds is not verified');
        this.compositeUnreported = true;
        return;
      }
      if (reportedA === undefined) this.compositeUnreported = true;
      if (reportedA === undefined || this.closed || this.holdings.uncontrollable) continue;
      const allowedA = Math.max(beforeA, believedA());
      if (reportedA > allowedA + IGNORED_TOLERANCE_A && recheck < COMPOSITE_RECHECKS) {
        this.log.debug({ connectorId, reportedA, believedA: allowedA, recheck }, 'composite schedule above what the connector was sent; asking again after its control step');
        this.recheckTimer?.cancel();
        const recheckTimer = this.wait(this.host.settings.compositeRecheckMs);
        this.recheckTimer = recheckTimer;
        void recheckTimer.promise.then(() => {
          if (this.recheckTimer === recheckTimer && !this.closed) void this.verifyHoldings(recheck + 1);
        });
        return;
      }
      if (reportedA > allowedA + IGNORED_TOLERANCE_A) {
        this.host.uncontrollable(
          this,
          `connector ${connectorId} reports a composite schedule of ${reportedA.toFixed(1)} A over the next ${durationS} s, above the ${allowedA.toFixed(1)} A it was sent: it does not apply the EMS's charging profiles`,
        );
        return;
      }
      this.log.debug({ connectorId, reportedA, believedA: allowedA }, 'composite schedule within what the connector was sent');
    }
  }

  /** Floors and defaults hold for whatever car arrives; the lift is the charger's own max. */
  private spec(capA: number, car: 'known' | 'any' = 'any'): LimitSpec {
    return { capA, phases: this.config.phases, voltageV: this.host.ctx.config.site.voltage, unit: this.capabilities.rateUnit, car };
  }

  /**
   * Sends one charger-side profile into a slot and records the outcome there. During the setup each
   * answer is reported at once: a connector whose limits the charger confirmed is no longer counted
   * at its max while the rest of the setup runs (a car that starts then is held to them).
   */
  private async sendInto(slot: ProfileSlot, limitA: number, durationS: number | undefined, send: () => Promise<string>): Promise<ProfileOutcome> {
    const sentAtMs = this.mono;
    slot.begin({ limitA, phases: this.config.phases, sentAtMs, ...(durationS === undefined ? {} : { expiresAtMs: sentAtMs + durationS * 1000 }) });
    this.holdings.noteHolds(sentAtMs);
    // During the setup a rise (the lift) is reported before the charger can hold it.
    if (!this.ready && !this.closed && !this.holdings.uncontrollable) this.reportHoldings('setting up: counted at what it may hold until the setup is through', true);
    const { outcome, detail } = await settleProfileCall(send);
    if (outcome === 'accepted') {
      slot.accepted();
      slot.backoff.succeed();
    } else {
      if (outcome === 'unanswered') slot.unanswered();
      else slot.refusedNow();
      slot.backoff.fail(this.mono);
    }
    this.holdings.noteHolds(this.mono);
    if (outcome === 'unsupported' && !this.closed) this.host.uncontrollable(this, `charging profile answered ${detail}`);
    if (outcome === 'refused' || outcome === 'unanswered') this.lastRefusal = detail;
    if (!this.ready && !this.closed && !this.holdings.uncontrollable) this.reportHoldings('setting up: counted at what it may hold until the setup is through', true);
    return outcome;
  }

  private lastRefusal = '';

  private floorA(): number {
    return chargerShareA(this.holdings.shareA, this.config.connectors);
  }

  /**
   * The default a connector gets in the boot setup: never above what it held before (a reconnect
   * must not raise a default the control loop lowered), nor above the TxProfile limit of its running
   * session (the cap last sent: an expiring TxProfile must only lower it), and 0 while its session
   * is paused. `first`: it goes out before the floor (a pause, or a default to lower under a
   * session): until it is there the charger may let a paused car resume if the EMS dies.
   */
  private bootDefault(connectorId: number, before: readonly number[]): { limitA: number; first: boolean } {
    const holdings = this.holdings;
    const transactionId = this.host.book.active(this.chargerId, connectorId);
    if (transactionId !== undefined && this.host.sessionPaused?.(this.chargerId, connectorId)) return { limitA: 0, first: true };
    let boundA = before.length ? Math.min(...before) : holdings.shareA;
    if (transactionId !== undefined) {
      const tx = holdings.existingTxSlot(connectorId, transactionId)?.possibleA(this.mono) ?? [];
      if (tx.length) boundA = Math.min(boundA, ...tx);
    }
    const limitA = holdings.defaultTargetA(boundA);
    const heldA = before.length ? Math.max(...before) : holdings.maxA;
    return { limitA, first: transactionId !== undefined && limitA < heldA - 0.05 };
  }

  private async installDefault(connectorId: number, limitA: number): Promise<void> {
    const holdings = this.holdings;
    const intent: ProfileIntent = { purpose: 'TxDefaultProfile', connectorId, spec: this.spec(limitA) };
    const outcome = await this.sendInto(holdings.defaultSlot(connectorId), limitA, undefined, () => this.sendProfile(intent));
    if (!this.closed && (outcome === 'refused' || outcome === 'unanswered')) {
      this.log.error({ connectorId, answer: this.lastRefusal, limitA }, 'charger did not take a connector default; the connector counts at its max until it does');
    }
  }

  private async installFloor(previousDefaults: number[][]): Promise<void> {
    const holdings = this.holdings;
    const defaults = Array.from({ length: this.config.connectors }, (_, i) => ({ connectorId: i + 1, ...this.bootDefault(i + 1, previousDefaults[i + 1] ?? []) }));
    // A paused session's default (and any default to lower under a session) goes out before the floor.
    for (const d of defaults.filter((d) => d.first)) {
      if (this.closed || holdings.uncontrollable) return;
      await this.installDefault(d.connectorId, d.limitA);
    }
    if (this.closed || holdings.uncontrollable) return;
    const floorA = this.floorA();
    const floor = await this.sendInto(holdings.floor, floorA, undefined, () => this.sendMaxProfile(this.spec(floorA)));
    if (!this.closed && (floor === 'refused' || floor === 'unanswered')) {
      this.log.error({ answer: this.lastRefusal, limitA: floorA }, 'charger did not take its charger-wide failsafe floor; its connector defaults bound it, retrying with backoff');
    }
    for (const d of defaults.filter((d) => !d.first)) {
      if (this.closed || holdings.uncontrollable) return;
      await this.installDefault(d.connectorId, d.limitA);
    }
  }

  /**
   * The static floor on connector 0 caps the whole charger at its share; the lift one stack level
   * up (the charger's full max, with a duration) lets the per-connector profiles decide while the
   * EMS runs. If the EMS stops refreshing it, it lapses and the floor rules again.
   */
  private async installLift(): Promise<void> {
    const holdings = this.holdings;
    const durationS = this.host.ctx.config.control.profileDurationS;
    const liftA = this.config.maxCurrent * this.config.connectors;
    const wasFailing = holdings.lift.backoff.failures > 0;
    const outcome = await this.sendInto(holdings.lift, liftA, durationS, () => this.sendMaxProfile(this.spec(liftA, 'known'), { stackLevel: 1, durationS }));
    if (outcome === 'accepted') {
      if (wasFailing) this.log.info('charger-wide lift above the floor installed again');
      return;
    }
    if (outcome === 'unsupported') return;
    // Unknown or reported as 1 (which may mean "levels 0..0"): a refusal means no second level.
    if ((!this.stackLevelReported || this.capabilities.maxStackLevel <= 1) && outcome === 'refused') {
      holdings.liftUnsupported = true;
      holdings.lift.forget();
      this.log.warn(
        { answer: this.lastRefusal },
        holdings.floor.inForce(this.mono) !== undefined
          ? 'charger refused a second stack level: its charger-wide limit stays at the static safe share'
          : 'charger refused a second stack level, and its failsafe floor is not installed either: its connector defaults bound it',
      );
      return;
    }
    if (!wasFailing && !this.closed) {
      const floorHolds = holdings.floor.inForce(this.mono) !== undefined;
      this.log.warn(
        { answer: this.lastRefusal },
        floorHolds ? 'charger-wide lift refused; retrying with backoff (meanwhile the static share caps the charger)' : 'charger-wide lift refused; retrying with backoff (its failsafe floor is not installed either)',
      );
    }
  }

  /**
   * Called every control cycle: retries a refused charger-wide floor with backoff (1 s to 60 s),
   * because without it the charger as a whole is bounded only by its connector defaults; refreshes
   * the lift above it at half its duration (monotonic time).
   */
  maintain(): void {
    const holdings = this.holdings;
    if (!this.ready || holdings.uncontrollable) return;
    const nowMs = this.mono;
    const lift = holdings.lift;
    const halfLifeMs = (this.host.ctx.config.control.profileDurationS * 1000) / 2;
    const liftHeld = lift.inForce(nowMs);
    if (!holdings.liftUnsupported && !lift.inFlight && lift.backoff.ready(nowMs) && (!liftHeld || nowMs - liftHeld.sentAtMs >= halfLifeMs)) {
      void this.installLift();
    }
    const floor = holdings.floor;
    const floorA = this.floorA();
    const floorHeld = floor.inForce(nowMs);
    const floorDue = !floorHeld || floorHeld.sentAtMs === -Infinity || Math.abs(floorHeld.limitA - floorA) >= 0.05;
    if (!floorDue || floor.inFlight || !floor.backoff.ready(nowMs)) return;
    const wasInstalled = floorHeld !== undefined;
    void this.sendInto(floor, floorA, undefined, () => this.sendMaxProfile(this.spec(floorA))).then((outcome) => {
      if (this.closed) return;
      if (outcome === 'accepted' && !wasInstalled) this.log.info({ limitA: floorA }, 'failsafe charger-wide profile installed on retry');
      if (outcome === 'accepted' && wasInstalled) this.log.info({ limitA: floorA }, 'failsafe charger-wide profile updated');
    });
  }

  // --- shared handling of what the charger reports ----------------------------------------

  /** Refuses (PropertyConstraintViolation) a connector the config does not give this charger. */
  protected checkConnector(connectorId: number, allowZero: boolean): void {
    if (connectorId > this.config.connectors || connectorId < 0 || (!allowZero && connectorId === 0)) {
      this.log.warn({ connectorId }, 'call for a connector this charger does not have (see chargers[].connectors); refused');
      throw new OcppCallRefused('PropertyConstraintViolation', `connector ${connectorId} does not exist on ${this.chargerId} (${this.config.connectors} connectors)`);
    }
  }

  /**
   * When something the charger stamped happened, on our clock: now, less how long before the
   * charger's own clock (learned from its timestamps) it was stamped; now for no or a garbage
   * timestamp. Ages never come from comparing its wall clock with ours, so neither a step of ours
   * nor a charger clock an hour off makes a reading look fresh or old.
   */
  protected chargerTime(timestamp: string | undefined): number {
    const atMs = timestamp === undefined ? NaN : Date.parse(timestamp);
    if (!Number.isFinite(atMs)) return this.now;
    this.noteChargerClock(atMs);
    return this.now - Math.max(0, this.chargerNowMs() - atMs);
  }

  /** MeterValues entries on our clock: the charger's clock is learned from the newest before any is placed. */
  protected meterValuesOf(meterValues: readonly MeterValue[]): MeterParse {
    for (const entry of meterValues) {
      const atMs = Date.parse(entry.timestamp);
      if (Number.isFinite(atMs)) this.noteChargerClock(atMs);
    }
    return parseMeterValues(meterValues, this.config.phases, (timestamp) => this.chargerTime(timestamp));
  }

  /**
   * Learns the charger's clock from a timestamp it sent. A sample time or a message it queued
   * while offline is older than its clock, so a later clock is taken at once and an earlier one
   * only when the charger's timestamps keep agreeing on it while LOWER_CLOCK_CONFIRM_MS of our
   * monotonic time pass, with none on the clock we knew: its clock went back (it set itself to
   * ours after our step, or runs slow). A queue sent after a reconnect spans far more of its
   * clock than of ours and never agrees that long. Until then its schedules start in its future,
   * which only lowers what it holds (the lift and TxProfiles wait, the floor and defaults apply).
   */
  private noteChargerClock(chargerMs: number): void {
    const monoMs = this.mono;
    const offsetMs = chargerMs - monoMs;
    const before = this.chargerNowMs();
    if (offsetMs > this.chargerOffsetMs) {
      this.chargerOffsetMs = offsetMs;
      this.lowerClock = undefined;
    } else if (offsetMs > this.chargerOffsetMs - CLOCK_STEP_MS) {
      this.lowerClock = undefined;
      return;
    } else if (!this.lowerClock || Math.abs(offsetMs - this.lowerClock.offsetMs) >= CLOCK_STEP_MS) {
      this.lowerClock = { offsetMs, sinceMonoMs: monoMs };
      return;
    } else if (monoMs - this.lowerClock.sinceMonoMs < LOWER_CLOCK_CONFIRM_MS) {
      return;
    } else {
      this.chargerOffsetMs = Math.max(offsetMs, this.lowerClock.offsetMs);
      this.lowerClock = undefined;
    }
    // The clock our schedules start from moved (the charger's clock differs from ours, or stepped):
    // every bounded profile is sent again from the charger's time.
    if (Math.abs(this.chargerNowMs() - before) >= CLOCK_STEP_MS) {
      this.log.info({ stepS: Math.round((this.chargerNowMs() - before) / 1000) }, "the charger's clock differs from the one our schedules started from; re-sending its profiles");
      this.holdings.refreshAll();
    }
  }

  protected connectorStatus(connectorId: number, status: ConnectorStatus, atMs: number, fault: string | undefined): void {
    const previous = this.faults.get(connectorId);
    if (fault && fault !== previous) this.log.warn({ connectorId, status, fault }, 'charger reports a fault');
    if (!fault && previous) this.log.info({ connectorId, status }, 'fault cleared');
    if (fault) this.faults.set(connectorId, fault);
    else this.faults.delete(connectorId);
    if (connectorId > 0 && (status === 'Available' || status === 'Finishing')) this.connectorFreed(connectorId);
    if (connectorId > 0) {
      this.host.ctx.bus.emit('connector.status', { chargerId: this.chargerId, connectorId, status, atMs, ...(fault ? { errorCode: fault.split(' ')[0] } : {}) });
    }
  }

  protected meterReadings(connectorId: number, readings: Omit<ConnectorMeter, 'chargerId' | 'connectorId'>[], dropped: string[]): void {
    if (dropped.length && !this.meterGarbage) this.log.warn({ connectorId, dropped }, 'meter values dropped as garbage (logged once until they are clean again)');
    if (!dropped.length && this.meterGarbage) this.log.info('meter values are clean again');
    this.meterGarbage = dropped.length > 0;
    if (connectorId > 0) for (const reading of readings) this.host.ctx.bus.emit('connector.meter', { chargerId: this.chargerId, connectorId, ...reading });
    const refused = connectorId > 0 ? this.host.book.refused(this.chargerId, connectorId) : undefined;
    const drawA = Math.max(0, ...readings.flatMap((r) => r.currentA ?? []));
    if (connectorId > 0 && readings.some((r) => r.currentA)) this.checkObeys(connectorId, readings);
    if (refused && readings.length && !this.holdings.uncontrollable) {
      const drawing = drawA > REFUSED_DRAW_A;
      if (drawing && !refused.drawing) {
        this.log.warn({ connectorId, transactionId: refused.transactionId, drawA }, 'a car draws although its tag was refused; its connector counts at the charger max until it stops (check the charger obeys authorization)');
      }
      if (drawing !== refused.drawing) {
        // The book keeps it (across a reconnect and a restart); the holdings reserve the connector from it.
        this.host.book.setRefusedDrawing(this.chargerId, connectorId, drawing);
        this.reportConnector(connectorId, drawing ? 'car draws under a refused tag' : 'car under a refused tag stopped drawing');
      }
    }
  }

  /** Reports one connector's reservation on the bus (what it holds, and what it may draw). */
  private reportConnector(connectorId: number, detail: string): void {
    const status = this.holdings.status(connectorId, this.host.book.active(this.chargerId, connectorId), this.mono, !this.ready);
    this.host.ctx.bus.emit('profile.status', { chargerId: this.chargerId, connectorId, ...status, atMs: this.now, detail });
  }

  /** Per connector: since when (monotonic ms, a sample's time) the car draws above anything the charger may hold. */
  private readonly overSinceMs = new Map<number, number>();

  /**
   * A charger that lets a car draw clearly above every limit it may hold (confirmed, pending or
   * unanswered), for longer than a car and a meter take to follow a new limit, ignores profiles:
   * it is uncontrollable from then on. Each reading is judged at the time it was measured (the
   * charger's stamp on our clock; ages never shrink), against every limit the connector may have
   * held from then until now: a reading measured before a cut and delivered after it (queued behind
   * other calls) shows the car under the old limit, not above the new one. A reading measured
   * before anything is known of the connector is not judged.
   */
  private checkObeys(connectorId: number, readings: readonly { atMs: number; currentA?: readonly number[] }[]): void {
    const holdings = this.holdings;
    if (holdings.uncontrollable || !this.ready) return;
    const nowMs = this.mono;
    holdings.noteHolds(nowMs);
    const sampled = readings
      .filter((r) => r.currentA?.length)
      .map((r) => ({ atMs: nowMs - Math.max(0, this.now - r.atMs), drawA: Math.max(0, ...r.currentA!) }))
      .sort((a, b) => a.atMs - b.atMs);
    const responseMs = Math.max(IGNORED_AFTER_MIN_MS, 3 * this.host.settings.meterSampleIntervalS * 1000);
    for (const { atMs, drawA } of sampled) {
      const allowedA = holdings.heldMostA(connectorId, atMs, nowMs);
      const since = this.overSinceMs.get(connectorId);
      if (allowedA >= holdings.maxA || drawA <= allowedA + IGNORED_TOLERANCE_A) {
        if (since === undefined || atMs >= since) this.overSinceMs.delete(connectorId);
        continue;
      }
      if (since === undefined) {
        this.overSinceMs.set(connectorId, atMs);
        continue;
      }
      if (atMs - since < responseMs) continue;
      this.overSinceMs.delete(connectorId);
      this.host.uncontrollable(this, `connector ${connectorId} drew ${drawA.toFixed(1)} A for ${Math.round((atMs - since) / 1000)} s above the ${allowedA.toFixed(1)} A it held: it ignores charging profiles`);
      return;
    }
  }

  /** The connector reports it is free (Available / Finishing): a refused transaction there is over. */
  protected connectorFreed(connectorId: number): void {
    const refused = this.host.book.clearRefused(this.chargerId, connectorId);
    if (refused?.drawing) this.reportConnector(connectorId, 'refused transaction over');
  }

  /** A running session's authorization was refused: the EMS's session ends now, capacity and all. */
  protected refuseSession(transactionId: number, atMs: number): void {
    const known = this.host.book.get(transactionId);
    if (!known || known.stoppedAtMs !== undefined) return;
    this.endSession(transactionId, atMs, known.meterStartWh, 'Refused');
    this.host.book.refuse({ chargerId: this.chargerId, connectorId: known.connectorId, transactionId, idTag: known.idTag, startedAtMs: known.startedAtMs });
    this.log.info({ transactionId, connectorId: known.connectorId }, 'authorization refused during the transaction: session ended, no capacity');
  }

  /** A refused transaction ended (StopTransaction / Ended): true when it was one. */
  protected refusedEnded(transactionId: number): boolean {
    const refused = this.host.book.refusedTransaction(this.chargerId, transactionId);
    if (!refused) return false;
    this.connectorFreed(refused.connectorId);
    return true;
  }

  /**
   * Records a new transaction and announces the session. A repeat of the same start (our answer
   * got lost) gets the same id; an older transaction still open on the connector is closed.
   */
  protected startSession(connectorId: number, idTag: string, startedAtMs: number, meterStartWh: number, authorized = true): { transactionId: number; repeat: boolean } {
    const store = this.host.book;
    const { bus } = this.host.ctx;
    const refusedBefore = store.refused(this.chargerId, connectorId);
    if (refusedBefore && refusedBefore.idTag === idTag && refusedBefore.startedAtMs === startedAtMs) return { transactionId: refusedBefore.transactionId, repeat: true };
    const open = store.openOn(this.chargerId, connectorId);
    const repeat = open.find((t) => t.idTag === idTag && t.meterStartWh === meterStartWh && t.startedAtMs === startedAtMs);
    if (repeat) return { transactionId: repeat.transactionId, repeat: true };
    if (!authorized) {
      // The charger gets a transaction id (the spec requires one) but the EMS opens no session:
      // no capacity, no TxProfile. Recorded as ended at once; a car that draws anyway is flagged.
      const transactionId = store.start({ chargerId: this.chargerId, connectorId, idTag, startedAtMs, meterStartWh });
      store.stop(transactionId, { stoppedAtMs: startedAtMs, meterStopWh: meterStartWh, reason: 'Refused' });
      store.refuse({ chargerId: this.chargerId, connectorId, transactionId, idTag, startedAtMs });
      this.log.info({ transactionId, connectorId }, 'transaction with a refused tag: no session, no capacity');
      return { transactionId, repeat: false };
    }
    const refusedOver = store.clearRefused(this.chargerId, connectorId);
    if (refusedOver?.drawing) this.reportConnector(connectorId, 'refused transaction over');
    for (const stale of open) {
      const record = store.stop(stale.transactionId, { stoppedAtMs: startedAtMs, meterStopWh: meterStartWh, reason: 'Superseded' });
      this.log.warn({ transactionId: stale.transactionId, connectorId }, 'new transaction on a connector whose last one never stopped; closing the old one');
      bus.emit('session.ended', { chargerId: this.chargerId, connectorId, transactionId: stale.transactionId, endedAtMs: startedAtMs, meterStopWh: record?.meterStopWh ?? meterStartWh, reason: 'Superseded' });
      this.host.book.setActive(this.chargerId, connectorId, undefined);
      this.host.transactionEnded(this.chargerId, connectorId);
    }
    const transactionId = store.start({ chargerId: this.chargerId, connectorId, idTag, startedAtMs, meterStartWh });
    this.host.book.setActive(this.chargerId, connectorId, transactionId);
    const session = this.host.idTags.sessionDefaults(idTag, this.config.tier, startedAtMs);
    if (session.departureProblem) this.log.warn({ idTag, problem: session.departureProblem }, 'departure of the idTag could not be computed');
    const offeredA = this.offeredSince(connectorId, startedAtMs);
    this.log.info({ transactionId, connectorId, tier: session.tier, ...(offeredA === undefined ? {} : { offeredA }) }, 'transaction started');
    bus.emit('session.started', {
      chargerId: this.chargerId,
      connectorId,
      transactionId,
      idTag,
      tier: session.tier,
      startedAtMs,
      meterStartWh,
      ...(session.departureAtMs !== undefined ? { departureAtMs: session.departureAtMs } : {}),
      ...(session.energyNeedWh !== undefined ? { energyNeedWh: session.energyNeedWh } : {}),
      ...(offeredA !== undefined ? { offeredA } : {}),
    });
    return { transactionId, repeat: false };
  }

  /**
   * The most the charger may have offered a car on the connector since `atMs` (a session's start,
   * on our clock), when that is more than the connector holds now: a car that started before the
   * charger confirmed its limits (after a boot) may have been offered its max and still follows the
   * lower limit only a car response after it. Judged on the charger's own stamp, mapped to our
   * clock no later than it was (ages never shrink), against what the holdings noted (a rise noted
   * when sent, a fall when answered): a car that started after the confirmation is held to it.
   */
  private offeredSince(connectorId: number, atMs: number): number | undefined {
    const nowMono = this.mono;
    this.holdings.noteHolds(nowMono);
    const offeredA = this.holdings.heldMostA(connectorId, nowMono - Math.max(0, this.now - atMs), nowMono);
    return offeredA > this.holdings.holdA(connectorId, undefined, nowMono) + 0.05 ? offeredA : undefined;
  }

  /** Closes a transaction of this charger; false when it is unknown here or already closed. */
  protected endSession(transactionId: number, endedAtMs: number, meterStopWh: number, reason: string | undefined): boolean {
    if (this.refusedEnded(transactionId)) return false;
    const known = this.host.book.get(transactionId);
    if (!known || known.chargerId !== this.chargerId) {
      this.log.warn({ transactionId }, 'end of a transaction we do not know on this charger; accepted');
      return false;
    }
    // Read before stop(): a store may hand out the record it then updates in place.
    const alreadyStopped = known.stoppedAtMs !== undefined;
    this.host.book.stop(transactionId, { stoppedAtMs: endedAtMs, meterStopWh, ...(reason ? { reason } : {}) });
    if (alreadyStopped) return false;
    const { connectorId } = known;
    // Only a TxProfile the charger may hold is cleared (never one it never took).
    const tx = this.holdings.existingTxSlot(connectorId, transactionId);
    const txProfileSent = tx !== undefined && (tx.confirmed !== undefined || tx.pending !== undefined);
    if (this.host.book.active(this.chargerId, connectorId) === transactionId) this.host.book.setActive(this.chargerId, connectorId, undefined);
    this.host.transactionEnded(this.chargerId, connectorId);
    this.log.info({ transactionId, connectorId, reason }, 'transaction stopped');
    this.host.ctx.bus.emit('session.ended', {
      chargerId: this.chargerId,
      connectorId,
      transactionId,
      endedAtMs,
      meterStopWh,
      ...(reason ? { reason } : {}),
    });
    if (txProfileSent) setImmediate(() => void this.clearTxProfile(connectorId));
    return true;
  }
}
