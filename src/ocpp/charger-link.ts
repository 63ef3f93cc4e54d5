import type { ChargerConfig } from '../../config/schema.ts';
import type { ConnectorStatus } from '../../optimizer/types.ts';
import type { Logger } from '../log.ts';
import type { ServiceContext } from '../service.ts';
import type { TransactionStore } from '../state/transaction-store.ts';
import { CONSERVATIVE_CAPABILITIES, parseCapabilities, SAMPLED_DATA_FALLBACKS, SMART_CHARGING_KEYS, type ChargerCapabilities } from './capabilities.ts';
import { OcppCallRefused } from './errors.ts';
import type { IdTagDirectory } from './id-tags.ts';
import type { IdTagInfo, SetChargingProfileReq } from './messages.ts';
import { parseMeterValues } from './meter-values.ts';
import { chargePointMaxProfile, txDefaultProfile } from './profile.ts';
import type { ProfileTarget } from './profile-dispatcher.ts';
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

/** What a link needs from the central system that owns it. */
export interface LinkHost {
  ctx: ServiceContext;
  transactions: TransactionStore;
  idTags: IdTagDirectory;
  settings: LinkSettings;
  /** Static safe share of this charger, A per connector. */
  shareA(chargerId: string): number;
  activeTransaction(chargerId: string, connectorId: number): number | undefined;
  setActiveTransaction(chargerId: string, connectorId: number, transactionId: number | undefined): void;
  /** The boot setup finished: floors as installed (only those the charger accepted). */
  setupDone(link: ChargerLink, floors: { connectorId: number; limitA: number; phases: 1 | 3 }[]): void;
  transactionEnded(chargerId: string, connectorId: number): void;
}

const iso = (atMs: number) => new Date(atMs).toISOString();

/**
 * One connected charger: answers its calls, runs its boot setup (capabilities, meter sampling,
 * failsafe floor) after every connect and BootNotification, and carries the profiles the
 * dispatcher sends.
 */
export class ChargerLink implements ProfileTarget {
  readonly chargerId: string;
  readonly log: Logger;
  capabilities: ChargerCapabilities = { ...CONSERVATIVE_CAPABILITIES };
  ready = false;
  private closed = false;
  private setupRunning: Promise<void> | undefined;
  private setupAgain = false;
  private firstCallSeen = false;
  private bootTimer: NodeJS.Timeout | undefined;
  private readonly faults = new Map<number, string>();
  private meterGarbage = false;
  private statusWanted = false;
  /** The ChargePointMaxProfile is the floor that bounds the whole charger; refused ones are retried. */
  private maxProfile: { installed: boolean; failures: number; retryAtMs: number; sending: boolean } = { installed: false, failures: 0, retryAtMs: 0, sending: false };

  constructor(
    readonly connection: OcppConnection,
    readonly config: ChargerConfig,
    private readonly host: LinkHost,
  ) {
    this.chargerId = config.id;
    this.log = host.ctx.log.child({ module: 'ocpp', chargerId: config.id });
    this.registerHandlers();
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

  /** The socket closed: stop everything this link owns. */
  dispose(): void {
    this.closed = true;
    this.ready = false;
    clearTimeout(this.bootTimer);
  }

  private get now(): number {
    return this.host.ctx.clock.nowMs();
  }

  async setChargingProfile(req: SetChargingProfileReq): Promise<'Accepted' | 'Rejected' | 'NotSupported'> {
    const conf = await this.connection.call('SetChargingProfile', req, this.host.settings.callTimeoutMs);
    return conf.status;
  }

  stepDownStackLevel(): void {
    if (this.capabilities.maxStackLevel > 0) {
      this.capabilities = { ...this.capabilities, maxStackLevel: this.capabilities.maxStackLevel - 1 };
      this.log.info({ maxStackLevel: this.capabilities.maxStackLevel }, 'TxProfile refused; stepping the stack level down');
    }
  }

  async clearTxProfile(connectorId: number): Promise<void> {
    try {
      const conf = await this.connection.call('ClearChargingProfile', { connectorId, chargingProfilePurpose: 'TxProfile' }, this.host.settings.callTimeoutMs);
      this.log.debug({ connectorId, status: conf.status }, 'TxProfile cleared after the transaction');
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
      const { status } = await this.connection.call('TriggerMessage', { requestedMessage: 'StatusNotification' }, this.host.settings.callTimeoutMs);
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
    this.log.info({ why }, 'setting the charger up: capabilities, failsafe floor, meter sampling');
    const timeoutMs = this.host.settings.callTimeoutMs;
    try {
      const conf = await this.connection.call('GetConfiguration', { key: [...SMART_CHARGING_KEYS] }, timeoutMs);
      const { capabilities, missing } = parseCapabilities(conf);
      this.capabilities = capabilities;
      if (missing.length) this.log.info({ missing }, 'smart-charging keys unknown; using conservative defaults for them');
    } catch (error) {
      this.capabilities = { ...CONSERVATIVE_CAPABILITIES };
      this.log.warn({ err: error }, 'GetConfiguration failed; using conservative smart-charging defaults');
    }
    if (this.closed) return;
    // The floor goes on before anything else that can wait: until it is there, the charger is unbounded.
    const floors = await this.installFloor();
    if (this.closed) return;
    await this.configureMeterValues();
    if (this.closed) return;
    this.ready = true;
    this.host.setupDone(this, floors);
    void this.triggerStatus();
  }

  private async installFloor(): Promise<{ connectorId: number; limitA: number; phases: 1 | 3 }[]> {
    const shareA = this.host.shareA(this.chargerId);
    const spec = (capA: number) => ({ capA, phases: this.config.phases, voltageV: this.host.ctx.config.site.voltage, unit: this.capabilities.rateUnit });
    const timeoutMs = this.host.settings.callTimeoutMs;
    const send = async (req: SetChargingProfileReq, what: string): Promise<boolean> => {
      try {
        const { status } = await this.connection.call('SetChargingProfile', req, timeoutMs);
        if (status === 'Accepted') return true;
        this.log.error({ status, what }, 'charger refused a failsafe profile; it may be unbounded if the EMS stops');
      } catch (error) {
        this.log.error({ err: error, what }, 'failsafe profile not installed; the charger may be unbounded if the EMS stops');
      }
      return false;
    };
    this.maxProfile = { installed: false, failures: 0, retryAtMs: 0, sending: true };
    this.noteMaxProfile(await send(this.maxProfileReq(), 'ChargePointMaxProfile'));
    const floors: { connectorId: number; limitA: number; phases: 1 | 3 }[] = [];
    for (let connectorId = 1; connectorId <= this.config.connectors; connectorId++) {
      if (this.closed) break;
      if (await send(txDefaultProfile(connectorId, spec(shareA), this.now), `TxDefaultProfile ${connectorId}`)) {
        floors.push({ connectorId, limitA: shareA, phases: this.config.phases });
        this.host.ctx.bus.emit('profile.status', { chargerId: this.chargerId, connectorId, state: 'accepted', capA: shareA, atMs: this.now, detail: 'failsafe floor' });
      }
    }
    return floors;
  }

  private maxProfileReq(): SetChargingProfileReq {
    const capA = chargerShareA(this.host.shareA(this.chargerId), this.config.connectors);
    return chargePointMaxProfile({ capA, phases: this.config.phases, voltageV: this.host.ctx.config.site.voltage, unit: this.capabilities.rateUnit }, this.now);
  }

  private noteMaxProfile(installed: boolean): void {
    const failures = installed ? 0 : this.maxProfile.failures + 1;
    this.maxProfile = { installed, failures, sending: false, retryAtMs: installed ? 0 : this.now + Math.min(60_000, 1_000 * 2 ** (failures - 1)) };
  }

  /**
   * Called every control cycle: retries a refused ChargePointMaxProfile with backoff (1 s to 60 s),
   * because without it the charger as a whole is unbounded should the EMS stop.
   */
  maintain(): void {
    const m = this.maxProfile;
    if (!this.ready || m.installed || m.sending || this.now < m.retryAtMs) return;
    m.sending = true;
    void this.connection
      .call('SetChargingProfile', this.maxProfileReq(), this.host.settings.callTimeoutMs)
      .then(({ status }) => status === 'Accepted', () => false)
      .then((installed) => {
        if (this.closed) return;
        if (installed) this.log.info('failsafe ChargePointMaxProfile installed on retry');
        this.noteMaxProfile(installed);
      });
  }

  private async configureMeterValues(): Promise<void> {
    const timeoutMs = this.host.settings.callTimeoutMs;
    const change = async (key: string, value: string): Promise<string> => {
      try {
        return (await this.connection.call('ChangeConfiguration', { key, value }, timeoutMs)).status;
      } catch (error) {
        this.log.warn({ err: error, key }, 'ChangeConfiguration failed');
        return 'Failed';
      }
    };
    let accepted: string | undefined;
    for (const list of SAMPLED_DATA_FALLBACKS) {
      const status = await change('MeterValuesSampledData', list);
      if (status === 'Accepted' || status === 'RebootRequired') {
        accepted = list;
        break;
      }
      if (status !== 'Rejected' || this.closed) break;
    }
    if (!accepted) this.log.warn('charger takes none of our MeterValuesSampledData lists; per-phase current may be missing');
    else if (accepted !== SAMPLED_DATA_FALLBACKS[0]) this.log.info({ measurands: accepted }, 'charger took a shorter MeterValuesSampledData list');
    if (this.closed) return;
    const status = await change('MeterValueSampleInterval', String(this.host.settings.meterSampleIntervalS));
    if (status !== 'Accepted' && status !== 'RebootRequired') this.log.warn({ status }, 'MeterValueSampleInterval not accepted');
  }

  private checkConnector(connectorId: number, allowZero: boolean): void {
    if (connectorId > this.config.connectors || (!allowZero && connectorId === 0)) {
      this.log.warn({ connectorId }, 'call for a connector this charger does not have (see chargers[].connectors); refused');
      throw new OcppCallRefused('PropertyConstraintViolation', `connectorId ${connectorId} does not exist on ${this.chargerId} (${this.config.connectors} connectors)`);
    }
  }

  /** A charger timestamp, unless it is garbage or in the future (then: now). */
  private chargerTime(timestamp: string | undefined): number {
    const atMs = timestamp === undefined ? NaN : Date.parse(timestamp);
    return Number.isFinite(atMs) && atMs <= this.now + 60_000 ? atMs : this.now;
  }

  private idTagInfo(idTag: string): IdTagInfo {
    return { status: this.host.idTags.authorize(idTag).status };
  }

  private registerHandlers(): void {
    const c = this.connection;
    const { bus } = this.host.ctx;

    c.handle('BootNotification', (req) => {
      this.log.info({ vendor: req.chargePointVendor, model: req.chargePointModel, firmware: req.firmwareVersion }, 'BootNotification');
      // Reply first, then set up: setImmediate runs after ocpp-rpc has sent the CALLRESULT.
      setImmediate(() => this.requestSetup('BootNotification'));
      return { status: 'Accepted', currentTime: iso(this.now), interval: this.host.settings.heartbeatIntervalS };
    });

    c.handle('Heartbeat', () => ({ currentTime: iso(this.now) }));

    c.handle('StatusNotification', (req) => {
      this.checkConnector(req.connectorId, true);
      const fault = req.errorCode !== 'NoError' ? `${req.errorCode}${req.info ? ` (${req.info})` : ''}` : undefined;
      const previous = this.faults.get(req.connectorId);
      if (fault && fault !== previous) this.log.warn({ connectorId: req.connectorId, status: req.status, fault }, 'charger reports a fault');
      if (!fault && previous) this.log.info({ connectorId: req.connectorId, status: req.status }, 'fault cleared');
      if (fault) this.faults.set(req.connectorId, fault);
      else this.faults.delete(req.connectorId);
      if (req.connectorId > 0) {
        bus.emit('connector.status', {
          chargerId: this.chargerId,
          connectorId: req.connectorId,
          status: req.status as ConnectorStatus,
          atMs: this.chargerTime(req.timestamp),
          ...(req.errorCode !== 'NoError' ? { errorCode: req.errorCode } : {}),
        });
      }
      return {};
    });

    c.handle('Authorize', (req) => ({ idTagInfo: this.idTagInfo(req.idTag) }));

    c.handle('StartTransaction', (req) => {
      this.checkConnector(req.connectorId, false);
      const startedAtMs = this.chargerTime(req.timestamp);
      const idTagInfo = this.idTagInfo(req.idTag);
      const store = this.host.transactions;
      const open = store.open().filter((t) => t.chargerId === this.chargerId && t.connectorId === req.connectorId);
      // The same StartTransaction again (our answer got lost): same id, nothing new on the bus.
      const repeat = open.find((t) => t.idTag === req.idTag && t.meterStartWh === req.meterStart && t.startedAtMs === startedAtMs);
      if (repeat) return { transactionId: repeat.transactionId, idTagInfo };
      for (const stale of open) {
        const record = store.stop(stale.transactionId, { stoppedAtMs: startedAtMs, meterStopWh: req.meterStart, reason: 'Superseded' });
        this.log.warn({ transactionId: stale.transactionId, connectorId: req.connectorId }, 'new transaction on a connector whose last one never stopped; closing the old one');
        bus.emit('session.ended', { chargerId: this.chargerId, connectorId: req.connectorId, transactionId: stale.transactionId, endedAtMs: startedAtMs, meterStopWh: record?.meterStopWh ?? req.meterStart, reason: 'Superseded' });
        this.host.transactionEnded(this.chargerId, req.connectorId);
      }
      const transactionId = store.start({ chargerId: this.chargerId, connectorId: req.connectorId, idTag: req.idTag, startedAtMs, meterStartWh: req.meterStart });
      this.host.setActiveTransaction(this.chargerId, req.connectorId, transactionId);
      const session = this.host.idTags.sessionDefaults(req.idTag, this.config.tier, startedAtMs);
      if (session.departureProblem) this.log.warn({ idTag: req.idTag, problem: session.departureProblem }, 'departure of the idTag could not be computed');
      this.log.info({ transactionId, connectorId: req.connectorId, tier: session.tier, authorized: idTagInfo.status }, 'transaction started');
      bus.emit('session.started', {
        chargerId: this.chargerId,
        connectorId: req.connectorId,
        transactionId,
        idTag: req.idTag,
        tier: session.tier,
        startedAtMs,
        meterStartWh: req.meterStart,
        ...(session.departureAtMs !== undefined ? { departureAtMs: session.departureAtMs } : {}),
        ...(session.energyNeedWh !== undefined ? { energyNeedWh: session.energyNeedWh } : {}),
      });
      return { transactionId, idTagInfo };
    });

    c.handle('StopTransaction', (req) => {
      const answer = req.idTag === undefined ? {} : { idTagInfo: this.idTagInfo(req.idTag) };
      const known = this.host.transactions.get(req.transactionId);
      if (!known || known.chargerId !== this.chargerId) {
        this.log.warn({ transactionId: req.transactionId }, 'StopTransaction for a transaction we do not know on this charger; accepted');
        return answer;
      }
      const endedAtMs = this.chargerTime(req.timestamp);
      this.host.transactions.stop(req.transactionId, { stoppedAtMs: endedAtMs, meterStopWh: req.meterStop, ...(req.reason ? { reason: req.reason } : {}) });
      if (known.stoppedAtMs !== undefined) return answer;
      const { connectorId } = known;
      if (this.host.activeTransaction(this.chargerId, connectorId) === req.transactionId) this.host.setActiveTransaction(this.chargerId, connectorId, undefined);
      this.host.transactionEnded(this.chargerId, connectorId);
      this.log.info({ transactionId: req.transactionId, connectorId, reason: req.reason }, 'transaction stopped');
      bus.emit('session.ended', {
        chargerId: this.chargerId,
        connectorId,
        transactionId: req.transactionId,
        endedAtMs,
        meterStopWh: req.meterStop,
        ...(req.reason ? { reason: req.reason } : {}),
      });
      setImmediate(() => void this.clearTxProfile(connectorId));
      return answer;
    });

    c.handle('MeterValues', (req) => {
      this.checkConnector(req.connectorId, true);
      const { readings, dropped } = parseMeterValues(req.meterValue, this.config.phases, this.now);
      if (dropped.length && !this.meterGarbage) this.log.warn({ connectorId: req.connectorId, dropped }, 'meter values dropped as garbage (logged once until they are clean again)');
      if (!dropped.length && this.meterGarbage) this.log.info('meter values are clean again');
      this.meterGarbage = dropped.length > 0;
      if (req.connectorId > 0) for (const reading of readings) bus.emit('connector.meter', { chargerId: this.chargerId, connectorId: req.connectorId, ...reading });
      return {};
    });

    c.handle('DataTransfer', (req) => {
      this.log.debug({ vendorId: req.vendorId, messageId: req.messageId }, 'DataTransfer from an unknown vendor');
      return { status: 'UnknownVendorId' };
    });

    c.handle('DiagnosticsStatusNotification', (req) => {
      this.log.info({ status: req.status }, 'diagnostics status');
      return {};
    });

    c.handle('FirmwareStatusNotification', (req) => {
      this.log.info({ status: req.status }, 'firmware status');
      return {};
    });
  }
}
