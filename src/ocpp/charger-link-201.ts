import type { ConnectorStatus } from '../../optimizer/types.ts';
import { CONSERVATIVE_CAPABILITIES, SAMPLED_DATA_FALLBACKS, type ChargerCapabilities } from './capabilities.ts';
import { ChargerLink, iso, type CapabilityReading } from './charger-link.ts';
import { OcppCallRefused } from './errors.ts';
import type { MeterValue } from './messages.ts';
import type { CsmsCalls201, MeterValue201, StationCalls201 } from './messages-201.ts';
import { compositeMaxA } from './composite-schedule.ts';
import type { LimitSpec } from './profile.ts';
import { stationMaxProfile201, txDefaultProfile201, txProfile201 } from './profile-201.ts';
import type { ProfileIntent } from './profile-dispatcher.ts';
import type { OcppConnection } from './transport.ts';

const STATION_STATUS: Record<StationCalls201['StatusNotification']['req']['connectorStatus'], ConnectorStatus> = {
  Available: 'Available',
  Occupied: 'Preparing',
  Reserved: 'Reserved',
  Unavailable: 'Unavailable',
  Faulted: 'Faulted',
};

const CHARGING_STATE: Record<string, ConnectorStatus> = {
  Charging: 'Charging',
  EVConnected: 'Preparing',
  SuspendedEV: 'SuspendedEV',
  SuspendedEVSE: 'SuspendedEVSE',
  Idle: 'Available',
};

/** 2.0.1 sampled values (numbers with a unit and a power-of-ten multiplier) in the 1.6 shape. */
export function meterValuesFrom201(meterValues: readonly MeterValue201[]): MeterValue[] {
  return meterValues.map((mv) => ({
    timestamp: mv.timestamp,
    sampledValue: mv.sampledValue.map((sv) => ({
      value: String(sv.value * 10 ** (sv.unitOfMeasure?.multiplier ?? 0)),
      ...(sv.context ? { context: sv.context } : {}),
      ...(sv.measurand ? { measurand: sv.measurand } : {}),
      ...(sv.phase ? { phase: sv.phase } : {}),
      ...(sv.location ? { location: sv.location } : {}),
      ...(sv.unitOfMeasure?.unit ? { unit: sv.unitOfMeasure.unit } : {}),
    })),
  }));
}

const SMART_CHARGING = 'SmartChargingCtrlr';
const SAMPLED_DATA = 'SampledDataCtrlr';

/**
 * A charging station speaking OCPP 2.0.1. Each EVSE stands for one configured connector
 * (evseId = connectorId). The station names its transactions (strings); we keep our own integer
 * ids for the bus and the store, paired in the transaction book (which outlives this link).
 */
export class ChargerLink201 extends ChargerLink {
  declare readonly connection: OcppConnection<StationCalls201, CsmsCalls201>;

  constructor(...args: ConstructorParameters<typeof ChargerLink>) {
    super(...args);
    this.registerHandlers();
  }

  async sendProfile(intent: ProfileIntent): Promise<string> {
    let req;
    if (intent.purpose === 'TxDefaultProfile') req = txDefaultProfile201(intent.connectorId, intent.spec);
    else {
      const transactionId = this.host.book.stationIdOf(intent.transactionId);
      if (transactionId === undefined) {
        this.log.warn({ transactionId: intent.transactionId }, 'no station transaction id known for this transaction; TxProfile not sent');
        return 'Rejected';
      }
      req = txProfile201(intent.connectorId, transactionId, intent.spec, this.chargerNowMs(), intent.durationS, this.capabilities);
    }
    return (await this.connection.call('SetChargingProfile', req, this.timeoutMs)).status;
  }

  protected async sendMaxProfile(spec: LimitSpec, lifted?: { stackLevel: number; durationS: number }): Promise<string> {
    return (await this.connection.call('SetChargingProfile', stationMaxProfile201(spec, this.chargerNowMs(), lifted), this.timeoutMs)).status;
  }

  protected async readCapabilities(): Promise<CapabilityReading> {
    const names = ['ProfileStackLevel', 'RateUnit', 'PeriodsPerSchedule', 'Enabled', 'Available'];
    const conf = await this.connection.call(
      'GetVariables',
      { getVariableData: names.map((name) => ({ component: { name: SMART_CHARGING }, variable: { name } })) },
      this.timeoutMs,
    );
    const value = (name: string) => conf.getVariableResult.find((r) => r.variable.name === name && r.attributeStatus === 'Accepted')?.attributeValue;
    const int = (raw: string | undefined, min: number) => (raw !== undefined && /^\d+$/.test(raw.trim()) && Number(raw) >= min ? Number(raw) : undefined);
    const units = (value('RateUnit') ?? '').split(',').map((u) => u.trim());
    const capabilities: ChargerCapabilities = {
      maxStackLevel: int(value('ProfileStackLevel'), 0) ?? CONSERVATIVE_CAPABILITIES.maxStackLevel,
      rateUnit: units.includes('A') ? 'A' : units.includes('W') ? 'W' : CONSERVATIVE_CAPABILITIES.rateUnit,
      maxPeriods: int(value('PeriodsPerSchedule'), 1) ?? CONSERVATIVE_CAPABILITIES.maxPeriods,
    };
    this.capabilities = capabilities;
    const missing = names.filter((n) => value(n) === undefined);
    this.stackLevelReported = !missing.includes('ProfileStackLevel');
    if (missing.length) this.log.info({ missing }, 'smart-charging variables unknown; using conservative defaults for them');
    const flag = (name: string) => {
      const raw = value(name)?.trim().toLowerCase();
      return raw === 'true' ? true : raw === 'false' ? false : undefined;
    };
    const enabled = flag('Enabled');
    const available = flag('Available');
    return { smartCharging: enabled === false || available === false ? false : enabled === true || available === true ? true : undefined };
  }

  protected async configureMeterValues(): Promise<void> {
    const set = async (name: string, value: string): Promise<string> => {
      try {
        const conf = await this.connection.call('SetVariables', { setVariableData: [{ component: { name: SAMPLED_DATA }, variable: { name }, attributeValue: value }] }, this.timeoutMs);
        return conf.setVariableResult[0]?.attributeStatus ?? 'Rejected';
      } catch (error) {
        // A station that disconnected meanwhile cut the call short: its disconnect is logged.
        if (!this.closed) this.log.warn({ err: error, variable: name }, 'SetVariables failed');
        return 'Failed';
      }
    };
    let accepted: string | undefined;
    for (const list of SAMPLED_DATA_FALLBACKS) {
      const status = await set('TxUpdatedMeasurands', list);
      if (status === 'Accepted' || status === 'RebootRequired') {
        accepted = list;
        break;
      }
      if (status !== 'Rejected' || this.closed) break;
    }
    if (this.closed) return;
    if (!accepted) this.log.warn('station takes none of our TxUpdatedMeasurands lists; per-phase current may be missing');
    const status = await set('TxUpdatedInterval', String(this.host.settings.meterSampleIntervalS));
    if (this.closed) return;
    if (status !== 'Accepted' && status !== 'RebootRequired') this.log.warn({ status }, 'TxUpdatedInterval not accepted');
  }

  protected async callCompositeSchedule(connectorId: number, durationS: number): Promise<number | undefined> {
    const conf = await this.connection.call('GetCompositeSchedule', { evseId: connectorId, duration: durationS, chargingRateUnit: this.capabilities.rateUnit }, this.timeoutMs);
    if (conf.status !== 'Accepted' || !conf.schedule) return undefined;
    return compositeMaxA(conf.schedule.chargingSchedulePeriod, conf.schedule.chargingRateUnit, this.host.ctx.config.site.voltage, this.config.phases);
  }

  protected async callTriggerStatus(): Promise<string> {
    return (await this.connection.call('TriggerMessage', { requestedMessage: 'StatusNotification' }, this.timeoutMs)).status;
  }

  protected async callTriggerMeterValues(connectorId: number, timeoutMs: number): Promise<string> {
    return (await this.connection.call('TriggerMessage', { requestedMessage: 'MeterValues', evse: { id: connectorId } }, timeoutMs)).status;
  }

  protected async callClearTxProfile(connectorId: number): Promise<string> {
    return (await this.connection.call('ClearChargingProfile', { chargingProfileCriteria: { evseId: connectorId, chargingProfilePurpose: 'TxProfile' } }, this.timeoutMs)).status;
  }

  private tokenStatus(idToken: string): { status: 'Accepted' | 'Invalid' | 'Blocked' } {
    const { status } = this.host.idTags.authorize(idToken);
    if (status === 'Accepted' && !this.host.admitsSessions(this.chargerId)) return { status: 'Blocked' };
    return { status };
  }

  private energyWh(meterValues: readonly MeterValue201[] | undefined): number | undefined {
    if (!meterValues?.length) return undefined;
    const readings = this.meterValuesOf(meterValuesFrom201(meterValues)).readings;
    return readings.map((r) => r.energyWh).filter((e): e is number => e !== undefined).at(-1);
  }

  /**
   * The EVSE of a transaction we have no mapping for and whose event names none (the station sent
   * it before our restart): the one stored open transaction not yet mapped, or the only EVSE.
   */
  private evseOfUnknownTransaction(): number | undefined {
    const unmapped = this.host.book.open().filter((t) => t.chargerId === this.chargerId && this.host.book.stationIdOf(t.transactionId) === undefined);
    if (unmapped.length === 1) return unmapped[0].connectorId;
    return this.config.connectors === 1 ? 1 : undefined;
  }

  /** Our id for a station transaction: known, adopted from the store after a restart, or new. */
  private transactionFor(req: StationCalls201['TransactionEvent']['req'], evseId: number, authorized: boolean): number {
    const book = this.host.book;
    const theirId = req.transactionInfo.transactionId;
    const known = book.byStationId(this.chargerId, theirId);
    if (known !== undefined) return known;
    const stored = book.openOn(this.chargerId, evseId).filter((t) => book.stationIdOf(t.transactionId) === undefined);
    let transactionId: number;
    if (req.eventType !== 'Started' && stored.length === 1) {
      transactionId = stored[0].transactionId;
      this.log.info({ transactionId, stationTransactionId: theirId }, 'station transaction matched to a stored open transaction');
    } else {
      const startedAtMs = this.chargerTime(req.timestamp);
      transactionId = this.startSession(evseId, req.idToken?.idToken ?? '', startedAtMs, this.energyWh(req.meterValue) ?? 0, authorized).transactionId;
    }
    book.mapStationId(this.chargerId, theirId, transactionId);
    return transactionId;
  }

  private registerHandlers(): void {
    const c = this.connection;
    const { bus } = this.host.ctx;

    c.handle('BootNotification', (req) => {
      this.log.info({ vendor: req.chargingStation.vendorName, model: req.chargingStation.model, reason: req.reason }, 'BootNotification');
      setImmediate(() => this.requestSetup('BootNotification'));
      return { status: 'Accepted', currentTime: iso(this.now), interval: this.host.settings.heartbeatIntervalS };
    });

    c.handle('Heartbeat', () => ({ currentTime: iso(this.now) }));

    c.handle('StatusNotification', (req) => {
      this.checkConnector(req.evseId, true);
      let status = STATION_STATUS[req.connectorStatus];
      if (req.connectorStatus === 'Occupied' && this.host.book.active(this.chargerId, req.evseId) !== undefined) status = 'Charging';
      this.connectorStatus(req.evseId, status, this.chargerTime(req.timestamp), req.connectorStatus === 'Faulted' ? 'Faulted' : undefined);
      return {};
    });

    c.handle('Authorize', (req) => ({ idTokenInfo: this.tokenStatus(req.idToken.idToken) }));

    // Answered once what it recorded is on disk (the store's group commit, off the event loop).
    c.handle('TransactionEvent', async (req) => {
      const known = this.host.book.byStationId(this.chargerId, req.transactionInfo.transactionId);
      const evseId = req.evse?.id ?? (known !== undefined ? this.host.book.get(known)?.connectorId : this.evseOfUnknownTransaction());
      if (evseId === undefined) {
        throw new OcppCallRefused('OccurrenceConstraintViolation', 'the first TransactionEvent of a transaction must name its evse');
      }
      this.checkConnector(evseId, false);
      // NoAuthorization: the station started without a token (free vend, a start button); there is
      // nothing to authorize, and the transaction is the site's like any other.
      const token = req.idToken?.type === 'NoAuthorization' ? undefined : req.idToken;
      const answer = token ? { idTokenInfo: this.tokenStatus(token.idToken) } : {};
      if (req.eventType === 'Ended' && known === undefined && this.host.book.openOn(this.chargerId, evseId).length === 0) {
        this.log.warn({ stationTransactionId: req.transactionInfo.transactionId }, 'end of a transaction we never saw; accepted');
        await this.host.book.flushed?.();
        return answer;
      }
      const authorized = !('idTokenInfo' in answer) || answer.idTokenInfo?.status === 'Accepted';
      const transactionId = this.transactionFor(req, evseId, authorized);
      if (!authorized && known !== undefined && this.host.book.active(this.chargerId, evseId) === transactionId) {
        // Authorization refused after plug-in: the EMS's session ends; a car drawing anyway is flagged.
        this.refuseSession(transactionId, this.chargerTime(req.timestamp));
      } else if (token && known !== undefined && !this.host.book.get(transactionId)?.idTag) {
        // Authorized after plug-in: the session now charges at the tag's tier.
        const tier = this.host.idTags.sessionDefaults(token.idToken, this.config.tier, this.now).tier;
        bus.emit('session.update', { chargerId: this.chargerId, connectorId: evseId, tier });
      }
      if (req.meterValue?.length) {
        const { readings, dropped } = this.meterValuesOf(meterValuesFrom201(req.meterValue));
        this.meterReadings(evseId, readings, dropped);
      }
      const chargingState = req.transactionInfo.chargingState;
      if (chargingState && req.eventType !== 'Ended') this.connectorStatus(evseId, CHARGING_STATE[chargingState] ?? 'Charging', this.chargerTime(req.timestamp), undefined);
      if (req.eventType === 'Ended') {
        const startWh = this.host.book.get(transactionId)?.meterStartWh ?? 0;
        this.endSession(transactionId, this.chargerTime(req.timestamp), this.energyWh(req.meterValue) ?? startWh, req.transactionInfo.stoppedReason);
        this.host.book.forgetStationId(this.chargerId, req.transactionInfo.transactionId);
      }
      await this.host.book.flushed?.();
      return answer;
    });

    c.handle('MeterValues', (req) => {
      this.checkConnector(req.evseId, true);
      const { readings, dropped } = this.meterValuesOf(meterValuesFrom201(req.meterValue));
      this.meterReadings(req.evseId, readings, dropped);
      return {};
    });

    // ISO 15118 cars say when they leave and how much energy they want: the session takes both.
    c.handle('NotifyEVChargingNeeds', (req) => {
      this.checkConnector(req.evseId, false);
      const needs = req.chargingNeeds;
      const energyWh = needs.acChargingParameters?.energyAmount ?? needs.dcChargingParameters?.energyAmount;
      const departureMs = needs.departureTime === undefined ? NaN : Date.parse(needs.departureTime);
      if (this.host.book.active(this.chargerId, req.evseId) === undefined || (energyWh === undefined && !Number.isFinite(departureMs))) {
        return { status: 'Rejected' };
      }
      bus.emit('session.update', {
        chargerId: this.chargerId,
        connectorId: req.evseId,
        ...(Number.isFinite(departureMs) ? { departureAtMs: departureMs } : {}),
        ...(energyWh !== undefined && energyWh > 0 ? { energyNeedWh: energyWh } : {}),
      });
      this.log.info({ evseId: req.evseId, departureTime: needs.departureTime, energyWh }, 'car reported its charging needs');
      return { status: 'Accepted' };
    });

    c.handle('NotifyEvent', () => ({}));
    c.handle('NotifyReport', () => ({}));
    c.handle('SecurityEventNotification', (req) => {
      this.log.info({ type: req.type, techInfo: req.techInfo }, 'security event');
      return {};
    });
    c.handle('FirmwareStatusNotification', (req) => {
      this.log.info({ status: req.status }, 'firmware status');
      return {};
    });
    c.handle('LogStatusNotification', (req) => {
      this.log.info({ status: req.status }, 'log upload status');
      return {};
    });
    c.handle('DataTransfer', (req) => {
      this.log.debug({ vendorId: req.vendorId, messageId: req.messageId }, 'DataTransfer from an unknown vendor');
      return { status: 'UnknownVendorId' };
    });
  }
}
