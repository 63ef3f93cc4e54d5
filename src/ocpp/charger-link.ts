import type { ChargerConfig } from '../../config/schema.ts';
import type { ConnectorStatus } from '../../optimizer/types.ts';
import type { ConnectorMeter } from '../bus.ts';
import type { Logger } from '../log.ts';
import type { ServiceContext } from '../service.ts';
import type { TransactionStore } from '../state/transaction-store.ts';
import { CONSERVATIVE_CAPABILITIES, type ChargerCapabilities } from './capabilities.ts';
import { OcppCallRefused } from './errors.ts';
import type { IdTagDirectory } from './id-tags.ts';
import type { LimitSpec } from './profile.ts';
import type { ProfileIntent, ProfileTarget } from './profile-dispatcher.ts';
import { chargerShareA } from './static-share.ts';
import type { OcppConnection } from './transport.ts';

export interface LinkSettings {
  heartbeatIntervalS: number;
  meterSampleIntervalS: number;
  /** How long to wait for a BootNotification before setting a charger up anyway. */
  bootWaitMs: number;
  callTimeoutMs: number;
  /** How long one applyCaps round waits for profile answers before going on. */
  answerWaitMs: number;
}

export interface Floor {
  connectorId: number;
  limitA: number;
  phases: 1 | 3;
}

/** What a link needs from the central system that owns it. */
export interface LinkHost {
  ctx: ServiceContext;
  transactions: TransactionStore;
  idTags: IdTagDirectory;
  settings: LinkSettings;
  /** Static safe share of this charger, A per connector. */
  shareA(chargerId: string): number;
  /**
   * The default a connector gets at setup: the static share, or less when the connector already
   * held a lower default the control loop chose (a reconnect must not raise it).
   */
  defaultFloorA(chargerId: string, connectorId: number): number;
  activeTransaction(chargerId: string, connectorId: number): number | undefined;
  setActiveTransaction(chargerId: string, connectorId: number, transactionId: number | undefined): void;
  /** The boot setup finished: floors as installed (only those the charger accepted). */
  setupDone(link: ChargerLink, floors: Floor[]): void;
  transactionEnded(chargerId: string, connectorId: number): void;
}

export const iso = (atMs: number) => new Date(atMs).toISOString();

/**
 * One connected charger, whatever its OCPP version: runs its boot setup (capabilities, failsafe
 * floor, meter sampling) after every connect and boot, turns its transactions and readings into
 * bus events, and carries the profiles the dispatcher sends. Subclasses speak the wire format.
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
  private bootTimer: NodeJS.Timeout | undefined;
  private readonly faults = new Map<number, string>();
  private meterGarbage = false;
  private statusWanted = false;
  /** The charger-wide floor bounds the whole charger; a refused one is retried. */
  private maxProfile = { installed: false, failures: 0, retryAtMs: 0, sending: false };
  /** Whether the charger named its highest stack level (else we try one level up and see). */
  protected stackLevelReported = false;
  /** The lift above the floor (see chargePointMaxProfile): when it went on, retries, support. */
  private lift: { atMs?: number; failures: number; retryAtMs: number; sending: boolean; unsupported: boolean } = { failures: 0, retryAtMs: 0, sending: false, unsupported: false };

  constructor(
    readonly connection: OcppConnection<any, any>,
    readonly config: ChargerConfig,
    protected readonly host: LinkHost,
  ) {
    this.chargerId = config.id;
    this.log = host.ctx.log.child({ module: 'ocpp', chargerId: config.id });
    connection.onInboundCall((action) => {
      if (this.firstCallSeen) return;
      this.firstCallSeen = true;
      // A charger that boots says BootNotification first; one that only reconnected says anything else.
      if (action !== 'BootNotification') this.requestSetup('reconnect');
    });
    this.bootTimer = setTimeout(() => {
      if (!this.firstCallSeen) {
        this.firstCallSeen = true;
        this.requestSetup('quiet after connect');
      }
    }, host.settings.bootWaitMs);
    this.bootTimer.unref();
  }

  // --- the wire format, per OCPP version ---------------------------------------------------
  abstract sendProfile(intent: ProfileIntent): Promise<'Accepted' | 'Rejected' | 'NotSupported'>;
  /** Reads the smart-charging capabilities into `this.capabilities`; conservative when unknown. */
  protected abstract readCapabilities(): Promise<void>;
  /** Installs the charger-wide floor (connector/EVSE 0), or with `lifted` the lift above it. */
  protected abstract sendMaxProfile(spec: LimitSpec, lifted?: { stackLevel: number; durationS: number }): Promise<string>;
  protected abstract configureMeterValues(): Promise<void>;
  protected abstract callTriggerStatus(): Promise<string>;
  protected abstract callClearTxProfile(connectorId: number): Promise<string>;

  /** The socket closed: stop everything this link owns. */
  dispose(): void {
    this.closed = true;
    this.ready = false;
    clearTimeout(this.bootTimer);
  }

  protected get now(): number {
    return this.host.ctx.clock.nowMs();
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

  async clearTxProfile(connectorId: number): Promise<void> {
    try {
      const status = await this.callClearTxProfile(connectorId);
      this.log.debug({ connectorId, status }, 'TxProfile cleared after the transaction');
    } catch (error) {
      this.log.warn({ err: error, connectorId }, 'could not clear the TxProfile after the transaction; it expires by its duration');
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
      this.log.warn({ err: error }, 'TriggerMessage StatusNotification failed; connector states update with the next notification');
    }
  }

  /** Runs the boot setup now, or once more after the one in progress. */
  requestSetup(why: string): void {
    if (this.closed) return;
    clearTimeout(this.bootTimer);
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

  private async setup(why: string): Promise<void> {
    this.ready = false;
    this.log.info({ why, protocol: this.connection.protocol }, 'setting the charger up: capabilities, failsafe floor, meter sampling');
    try {
      await this.readCapabilities();
    } catch (error) {
      this.capabilities = { ...CONSERVATIVE_CAPABILITIES };
      this.log.warn({ err: error }, 'reading smart-charging capabilities failed; using conservative defaults');
    }
    if (this.closed) return;
    // The floor goes on before anything else that can wait: until it is there, the charger is unbounded.
    const floors = await this.installFloor();
    if (this.closed) return;
    // Safe right away: every connector's default holds the static share at this point.
    this.lift = { failures: 0, retryAtMs: 0, sending: false, unsupported: this.stackLevelReported && this.capabilities.maxStackLevel < 1 };
    if (this.lift.unsupported) this.log.warn('charger takes only stack level 0: its charger-wide limit stays at the static safe share');
    else await this.installLift();
    if (this.closed) return;
    await this.configureMeterValues();
    if (this.closed) return;
    this.ready = true;
    this.host.setupDone(this, floors);
    void this.triggerStatus();
  }

  /** Floors and defaults hold for whatever car arrives; the lift is the charger's own max. */
  private spec(capA: number, car: 'known' | 'any' = 'any'): LimitSpec {
    return { capA, phases: this.config.phases, voltageV: this.host.ctx.config.site.voltage, unit: this.capabilities.rateUnit, car };
  }

  private async installFloor(): Promise<Floor[]> {
    const shareA = this.host.shareA(this.chargerId);
    const accepted = async (what: string, send: () => Promise<string>): Promise<boolean> => {
      try {
        const status = await send();
        if (status === 'Accepted') return true;
        this.log.error({ status, what }, 'charger refused a failsafe profile; it may be unbounded if the EMS stops');
      } catch (error) {
        this.log.error({ err: error, what }, 'failsafe profile not installed; the charger may be unbounded if the EMS stops');
      }
      return false;
    };
    this.maxProfile = { installed: false, failures: 0, retryAtMs: 0, sending: true };
    this.noteMaxProfile(await accepted('charger-wide max profile', () => this.sendMaxProfile(this.spec(chargerShareA(shareA, this.config.connectors)))));
    const floors: Floor[] = [];
    for (let connectorId = 1; connectorId <= this.config.connectors; connectorId++) {
      if (this.closed) break;
      const limitA = this.host.defaultFloorA(this.chargerId, connectorId);
      const intent: ProfileIntent = { purpose: 'TxDefaultProfile', connectorId, spec: this.spec(limitA), nowMs: this.now };
      if (await accepted(`TxDefaultProfile ${connectorId}`, () => this.sendProfile(intent))) {
        floors.push({ connectorId, limitA, phases: this.config.phases });
        this.host.ctx.bus.emit('profile.status', { chargerId: this.chargerId, connectorId, state: 'accepted', capA: limitA, atMs: this.now, detail: 'failsafe floor' });
      }
    }
    return floors;
  }

  private noteMaxProfile(installed: boolean): void {
    const failures = installed ? 0 : this.maxProfile.failures + 1;
    this.maxProfile = { installed, failures, sending: false, retryAtMs: installed ? 0 : this.now + Math.min(60_000, 1_000 * 2 ** (failures - 1)) };
  }

  /**
   * The static floor on connector 0 caps the whole charger at its share; the lift one stack level
   * up (the charger's full max, with a duration) lets the per-connector profiles decide while the
   * EMS runs. If the EMS stops refreshing it, it lapses and the floor rules again.
   */
  private async installLift(): Promise<void> {
    this.lift.sending = true;
    const durationS = this.host.ctx.config.control.profileDurationS;
    const sentAtMs = this.now;
    let status: string;
    try {
      status = await this.sendMaxProfile(this.spec(this.config.maxCurrent * this.config.connectors, 'known'), { stackLevel: 1, durationS });
    } catch (error) {
      status = error instanceof Error ? error.message : String(error);
    }
    this.lift.sending = false;
    if (status === 'Accepted') {
      if (this.lift.failures > 0) this.log.info('charger-wide lift above the floor installed again');
      this.lift = { atMs: sentAtMs, failures: 0, retryAtMs: 0, sending: false, unsupported: false };
      return;
    }
    // Unknown or reported as 1 (which may mean "levels 0..0"): a refusal means no second level.
    if ((!this.stackLevelReported || this.capabilities.maxStackLevel <= 1) && status === 'Rejected') {
      this.lift.unsupported = true;
      this.log.warn({ status }, 'charger refused a second stack level: its charger-wide limit stays at the static safe share');
      return;
    }
    if (this.lift.failures === 0) this.log.warn({ status }, 'charger-wide lift refused; retrying with backoff (meanwhile the static share caps the charger)');
    this.lift.failures++;
    this.lift.retryAtMs = this.now + Math.min(60_000, 1_000 * 2 ** (this.lift.failures - 1));
  }

  /**
   * Called every control cycle: retries a refused charger-wide floor with backoff (1 s to 60 s),
   * because without it the charger as a whole is unbounded should the EMS stop; refreshes the lift
   * above it at half its duration.
   */
  maintain(): void {
    const lift = this.lift;
    const halfLifeMs = (this.host.ctx.config.control.profileDurationS * 1000) / 2;
    if (this.ready && !lift.unsupported && !lift.sending && this.now >= lift.retryAtMs && (lift.atMs === undefined || this.now - lift.atMs >= halfLifeMs)) {
      void this.installLift();
    }
    const m = this.maxProfile;
    if (!this.ready || m.installed || m.sending || this.now < m.retryAtMs) return;
    m.sending = true;
    void this.sendMaxProfile(this.spec(chargerShareA(this.host.shareA(this.chargerId), this.config.connectors)))
      .then((status) => status === 'Accepted', () => false)
      .then((installed) => {
        if (this.closed) return;
        if (installed) this.log.info('failsafe charger-wide profile installed on retry');
        this.noteMaxProfile(installed);
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

  /** A charger timestamp, unless it is garbage or in the future (then: now). */
  protected chargerTime(timestamp: string | undefined): number {
    const atMs = timestamp === undefined ? NaN : Date.parse(timestamp);
    return Number.isFinite(atMs) && atMs <= this.now + 60_000 ? atMs : this.now;
  }

  protected connectorStatus(connectorId: number, status: ConnectorStatus, atMs: number, fault: string | undefined): void {
    const previous = this.faults.get(connectorId);
    if (fault && fault !== previous) this.log.warn({ connectorId, status, fault }, 'charger reports a fault');
    if (!fault && previous) this.log.info({ connectorId, status }, 'fault cleared');
    if (fault) this.faults.set(connectorId, fault);
    else this.faults.delete(connectorId);
    if (connectorId > 0) {
      this.host.ctx.bus.emit('connector.status', { chargerId: this.chargerId, connectorId, status, atMs, ...(fault ? { errorCode: fault.split(' ')[0] } : {}) });
    }
  }

  protected meterReadings(connectorId: number, readings: Omit<ConnectorMeter, 'chargerId' | 'connectorId'>[], dropped: string[]): void {
    if (dropped.length && !this.meterGarbage) this.log.warn({ connectorId, dropped }, 'meter values dropped as garbage (logged once until they are clean again)');
    if (!dropped.length && this.meterGarbage) this.log.info('meter values are clean again');
    this.meterGarbage = dropped.length > 0;
    if (connectorId > 0) for (const reading of readings) this.host.ctx.bus.emit('connector.meter', { chargerId: this.chargerId, connectorId, ...reading });
  }

  /**
   * Records a new transaction and announces the session. A repeat of the same start (our answer
   * got lost) gets the same id; an older transaction still open on the connector is closed.
   */
  protected startSession(connectorId: number, idTag: string, startedAtMs: number, meterStartWh: number): { transactionId: number; repeat: boolean } {
    const store = this.host.transactions;
    const { bus } = this.host.ctx;
    const open = store.open().filter((t) => t.chargerId === this.chargerId && t.connectorId === connectorId);
    const repeat = open.find((t) => t.idTag === idTag && t.meterStartWh === meterStartWh && t.startedAtMs === startedAtMs);
    if (repeat) return { transactionId: repeat.transactionId, repeat: true };
    for (const stale of open) {
      const record = store.stop(stale.transactionId, { stoppedAtMs: startedAtMs, meterStopWh: meterStartWh, reason: 'Superseded' });
      this.log.warn({ transactionId: stale.transactionId, connectorId }, 'new transaction on a connector whose last one never stopped; closing the old one');
      bus.emit('session.ended', { chargerId: this.chargerId, connectorId, transactionId: stale.transactionId, endedAtMs: startedAtMs, meterStopWh: record?.meterStopWh ?? meterStartWh, reason: 'Superseded' });
      this.host.setActiveTransaction(this.chargerId, connectorId, undefined);
      this.host.transactionEnded(this.chargerId, connectorId);
    }
    const transactionId = store.start({ chargerId: this.chargerId, connectorId, idTag, startedAtMs, meterStartWh });
    this.host.setActiveTransaction(this.chargerId, connectorId, transactionId);
    const session = this.host.idTags.sessionDefaults(idTag, this.config.tier, startedAtMs);
    if (session.departureProblem) this.log.warn({ idTag, problem: session.departureProblem }, 'departure of the idTag could not be computed');
    this.log.info({ transactionId, connectorId, tier: session.tier }, 'transaction started');
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
    });
    return { transactionId, repeat: false };
  }

  /** Closes a transaction of this charger; false when it is unknown here or already closed. */
  protected endSession(transactionId: number, endedAtMs: number, meterStopWh: number, reason: string | undefined): boolean {
    const known = this.host.transactions.get(transactionId);
    if (!known || known.chargerId !== this.chargerId) {
      this.log.warn({ transactionId }, 'end of a transaction we do not know on this charger; accepted');
      return false;
    }
    this.host.transactions.stop(transactionId, { stoppedAtMs: endedAtMs, meterStopWh, ...(reason ? { reason } : {}) });
    if (known.stoppedAtMs !== undefined) return false;
    const { connectorId } = known;
    if (this.host.activeTransaction(this.chargerId, connectorId) === transactionId) this.host.setActiveTransaction(this.chargerId, connectorId, undefined);
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
    setImmediate(() => void this.clearTxProfile(connectorId));
    return true;
  }
}
