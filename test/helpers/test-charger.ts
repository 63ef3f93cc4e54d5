// An independent OCPP 1.6J charger for tests: a plain ocpp-rpc client in strict mode (the
// official schemas), not the project's simulator. It records every call it receives and answers
// like a charger that accepts profiles (or rejects them, when told to).
import ocppRpc from 'ocpp-rpc';

const { RPCClient } = ocppRpc as unknown as { RPCClient: new (options: Record<string, unknown>) => any };

export interface ReceivedCall {
  method: string;
  params: any;
  atMs: number;
}

export class TestCharger {
  readonly received: ReceivedCall[] = [];
  readonly client: any;
  profileAnswer: 'Accepted' | 'Rejected' = 'Accepted';
  private transactions = new Map<number, number>();

  /** The charger's own clock (its MeterValues timestamps). */
  private readonly nowMs: () => number;

  constructor(
    readonly id: string,
    endpoint: string,
    options: { password?: string; connectors?: number; nowMs?: () => number } = {},
  ) {
    this.nowMs = options.nowMs ?? (() => Date.now());
    this.client = new RPCClient({ endpoint, identity: id, protocols: ['ocpp1.6'], strictMode: true, password: options.password ?? null, reconnect: false });
    const record = (method: string, answer: (params: any) => unknown) =>
      this.client.handle(method, ({ params }: { params: any }) => {
        this.received.push({ method, params, atMs: performance.now() });
        return answer(params);
      });
    record('GetConfiguration', () => ({ configurationKey: [], unknownKey: [] }));
    record('ChangeConfiguration', () => ({ status: 'Accepted' }));
    record('SetChargingProfile', () => ({ status: this.profileAnswer }));
    record('ClearChargingProfile', () => ({ status: 'Accepted' }));
    record('TriggerMessage', () => ({ status: 'Accepted' }));
    record('RemoteStopTransaction', () => ({ status: 'Accepted' }));
    record('ChangeAvailability', () => ({ status: 'Accepted' }));
  }

  async connect(): Promise<void> {
    await this.client.connect();
    await this.client.call('BootNotification', { chargePointVendor: 'Test', chargePointModel: 'Strict-1' });
  }

  async status(connectorId: number, status: string): Promise<void> {
    await this.client.call('StatusNotification', { connectorId, errorCode: 'NoError', status, timestamp: new Date().toISOString() });
  }

  async startTransaction(connectorId: number, idTag: string): Promise<number> {
    await this.status(connectorId, 'Preparing');
    const answer = await this.client.call('StartTransaction', { connectorId, idTag, meterStart: 1000, timestamp: new Date().toISOString() });
    this.transactions.set(connectorId, answer.transactionId);
    await this.status(connectorId, 'Charging');
    return answer.transactionId;
  }

  async stopTransaction(connectorId: number): Promise<void> {
    const transactionId = this.transactions.get(connectorId);
    await this.client.call('StopTransaction', { transactionId, meterStop: 5000, timestamp: new Date().toISOString() });
    await this.status(connectorId, 'Available');
  }

  /** Reports what the car draws, per phase, A. */
  async meter(connectorId: number, currentA: [number, number, number]): Promise<void> {
    await this.client.call('MeterValues', {
      connectorId,
      transactionId: this.transactions.get(connectorId),
      meterValue: [
        {
          timestamp: new Date(this.nowMs()).toISOString(),
          sampledValue: currentA.map((a, i) => ({ value: a.toFixed(1), measurand: 'Current.Import', phase: `L${i + 1}`, unit: 'A' })),
        },
      ],
    });
  }

  profiles(connectorId?: number): any[] {
    return this.received
      .filter((c) => c.method === 'SetChargingProfile' && (connectorId === undefined || c.params.connectorId === connectorId))
      .map((c) => c.params);
  }

  /** The limit of the newest TxProfile sent to a connector, A; undefined before the first. */
  txLimitA(connectorId: number): number | undefined {
    const tx = this.profiles(connectorId).filter((p) => p.csChargingProfiles.chargingProfilePurpose === 'TxProfile');
    return tx.at(-1)?.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit;
  }

  async close(): Promise<void> {
    await this.client.close({ force: true });
  }
}
