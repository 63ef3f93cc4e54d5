import type { TransactionRecord, TransactionStart, TransactionStop, TransactionStore } from './transaction-store.ts';

/** Transactions in memory: lost on restart. Ids start at `firstId` and only grow. */
export class MemoryTransactionStore implements TransactionStore {
  private readonly records = new Map<number, TransactionRecord>();
  private nextId: number;

  constructor(firstId = 1) {
    if (!Number.isInteger(firstId) || firstId < 1) throw new RangeError(`firstId must be a positive integer, got ${firstId}`);
    this.nextId = firstId;
  }

  start(tx: TransactionStart): number {
    const transactionId = this.nextId++;
    this.records.set(transactionId, { transactionId, ...tx });
    return transactionId;
  }

  stop(transactionId: number, stop: TransactionStop): TransactionRecord | undefined {
    const record = this.records.get(transactionId);
    if (!record) return undefined;
    if (record.stoppedAtMs === undefined) {
      record.stoppedAtMs = stop.stoppedAtMs;
      record.meterStopWh = stop.meterStopWh;
      if (stop.reason !== undefined) record.stopReason = stop.reason;
    }
    return { ...record };
  }

  get(transactionId: number): TransactionRecord | undefined {
    const record = this.records.get(transactionId);
    return record && { ...record };
  }

  open(): TransactionRecord[] {
    return [...this.records.values()].filter((r) => r.stoppedAtMs === undefined).map((r) => ({ ...r }));
  }
}
