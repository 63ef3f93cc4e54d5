import type { ConnectorStatus } from '../../optimizer/types.ts';
import { parseCapabilities, SAMPLED_DATA_FALLBACKS, smartChargingListed, SMART_CHARGING_KEYS } from './capabilities.ts';
import { ChargerLink, iso, type CapabilityReading } from './charger-link.ts';
import { compositeMaxA } from './composite-schedule.ts';
import type { CentralSystemCalls, ChargePointCalls, IdTagInfo } from './messages.ts';
import { chargePointMaxProfile, txDefaultProfile, txProfile, type LimitSpec } from './profile.ts';
import type { ProfileIntent } from './profile-dispatcher.ts';
import type { OcppConnection } from './transport.ts';

/** A charger speaking OCPP 1.6J. */
export class ChargerLink16 extends ChargerLink {
  declare readonly connection: OcppConnection<ChargePointCalls, CentralSystemCalls>;

  /** Per connector, a transaction whose StartTransaction answer (its id) is not on the wire yet. */
  private readonly unannounced = new Map<number, number>();

  constructor(...args: ConstructorParameters<typeof ChargerLink>) {
    super(...args);
    this.registerHandlers();
  }

  transactionKnown(connectorId: number, transactionId: number): boolean {
    return this.unannounced.get(connectorId) !== transactionId;
  }

  async sendProfile(intent: ProfileIntent): Promise<string> {
    const req =
      intent.purpose === 'TxDefaultProfile'
        ? txDefaultProfile(intent.connectorId, intent.spec)
        : txProfile(intent.connectorId, intent.transactionId, intent.spec, this.chargerNowMs(), intent.durationS, this.capabilities);
    return (await this.connection.call('SetChargingProfile', req, this.timeoutMs)).status;
  }

  protected async sendMaxProfile(spec: LimitSpec, lifted?: { stackLevel: number; durationS: number }): Promise<string> {
    return (await this.connection.call('SetChargingProfile', chargePointMaxProfile(spec, this.chargerNowMs(), lifted), this.timeoutMs)).status;
  }

  protected async readCapabilities(): Promise<CapabilityReading> {
    const conf = await this.connection.call('GetConfiguration', { key: [...SMART_CHARGING_KEYS, 'SupportedFeatureProfiles'] }, this.timeoutMs);
    const { capabilities, missing } = parseCapabilities(conf);
    this.capabilities = capabilities;
    this.stackLevelReported = !missing.includes('ChargeProfileMaxStackLevel');
    if (missing.length) this.log.info({ missing }, 'smart-charging keys unknown; using conservative defaults for them');
    return { smartCharging: smartChargingListed(conf) };
  }

  protected async callTriggerStatus(): Promise<string> {
    return (await this.connection.call('TriggerMessage', { requestedMessage: 'StatusNotification' }, this.timeoutMs)).status;
  }

  protected async callTriggerMeterValues(connectorId: number, timeoutMs: number): Promise<string> {
    return (await this.connection.call('TriggerMessage', { requestedMessage: 'MeterValues', connectorId }, timeoutMs)).status;
  }

  protected async callClearTxProfile(connectorId: number): Promise<string> {
    return (await this.connection.call('ClearChargingProfile', { connectorId, chargingProfilePurpose: 'TxProfile' }, this.timeoutMs)).status;
  }

  protected async callCompositeSchedule(connectorId: number, durationS: number): Promise<number | undefined> {
    const conf = await this.connection.call('GetCompositeSchedule', { connectorId, duration: durationS, chargingRateUnit: this.capabilities.rateUnit }, this.timeoutMs);
    if (conf.status !== 'Accepted' || !conf.chargingSchedule) return undefined;
    return compositeMaxA(conf.chargingSchedule.chargingSchedulePeriod, conf.chargingSchedule.chargingRateUnit, this.host.ctx.config.site.voltage, this.config.phases);
  }

  protected async configureMeterValues(): Promise<void> {
    const change = async (key: string, value: string): Promise<string> => {
      try {
        return (await this.connection.call('ChangeConfiguration', { key, value }, this.timeoutMs)).status;
      } catch (error) {
        // A charger that disconnected meanwhile cut the call short: its disconnect is logged.
        if (!this.closed) this.log.warn({ err: error, key }, 'ChangeConfiguration failed');
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
    if (this.closed) return;
    if (!accepted) this.log.warn('charger takes none of our MeterValuesSampledData lists; per-phase current may be missing');
    else if (accepted !== SAMPLED_DATA_FALLBACKS[0]) this.log.info({ measurands: accepted }, 'charger took a shorter MeterValuesSampledData list');
    const status = await change('MeterValueSampleInterval', String(this.host.settings.meterSampleIntervalS));
    if (this.closed) return;
    if (status !== 'Accepted' && status !== 'RebootRequired') this.log.warn({ status }, 'MeterValueSampleInterval not accepted');
  }

  private idTagInfo(idTag: string): IdTagInfo {
    const { status } = this.host.idTags.authorize(idTag);
    if (status === 'Accepted' && !this.host.admitsSessions(this.chargerId)) return { status: 'Blocked' };
    return { status };
  }

  private registerHandlers(): void {
    const c = this.connection;

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
      this.connectorStatus(req.connectorId, req.status as ConnectorStatus, this.chargerTime(req.timestamp), fault);
      return {};
    });

    c.handle('Authorize', (req) => ({ idTagInfo: this.idTagInfo(req.idTag) }));

    // Start and stop are answered once recorded on disk (the store's group commit, off the event loop).
    c.handle('StartTransaction', async (req) => {
      this.checkConnector(req.connectorId, false);
      const idTagInfo = this.idTagInfo(req.idTag);
      const { transactionId } = this.startSession(req.connectorId, req.idTag, this.chargerTime(req.timestamp), req.meterStart, idTagInfo.status === 'Accepted');
      // The charger learns the id from this answer: no TxProfile names it before the answer is out.
      this.unannounced.set(req.connectorId, transactionId);
      try {
        await this.host.book.flushed?.();
      } finally {
        // ocpp-rpc sends the answer as this handler returns, before any other call can go out: a
        // setImmediate here would run after the charger had it (and acted on it) on loopback.
        if (this.unannounced.get(req.connectorId) === transactionId) this.unannounced.delete(req.connectorId);
      }
      return { transactionId, idTagInfo };
    });

    c.handle('StopTransaction', async (req) => {
      this.endSession(req.transactionId, this.chargerTime(req.timestamp), req.meterStop, req.reason);
      await this.host.book.flushed?.();
      return req.idTag === undefined ? {} : { idTagInfo: this.idTagInfo(req.idTag) };
    });

    c.handle('MeterValues', (req) => {
      this.checkConnector(req.connectorId, true);
      const { readings, dropped } = this.meterValuesOf(req.meterValue);
      this.meterReadings(req.connectorId, readings, dropped);
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
