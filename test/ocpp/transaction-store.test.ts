import { describe, expect, it } from 'vitest';
import { MemoryTransactionStore } from '../../src/state/memory-transaction-store.ts';

const start = { chargerId: 'CP1', connectorId: 1, idTag: 'T', startedAtMs: 1000, meterStartWh: 50 };

describe('in-memory transaction store', () => {
  it('hands out increasing positive integer ids', () => {
    const store = new MemoryTransactionStore();
    const ids = [store.start(start), store.start(start), store.start(start)];
    expect(ids).toEqual([1, 2, 3]);
    expect(new MemoryTransactionStore(500).start(start)).toBe(500);
  });

  it('lists open transactions and closes them once', () => {
    const store = new MemoryTransactionStore();
    const a = store.start(start);
    const b = store.start({ ...start, connectorId: 2 });
    expect(store.stop(a, { stoppedAtMs: 2000, meterStopWh: 900, reason: 'Local' })).toMatchObject({ transactionId: a, meterStopWh: 900, stopReason: 'Local' });
    expect(store.stop(a, { stoppedAtMs: 3000, meterStopWh: 1000 })).toMatchObject({ stoppedAtMs: 2000, meterStopWh: 900 });
    expect(store.open().map((t) => t.transactionId)).toEqual([b]);
    expect(store.get(a)).toMatchObject({ chargerId: 'CP1', stoppedAtMs: 2000 });
  });

  it('answers undefined for unknown ids', () => {
    const store = new MemoryTransactionStore();
    expect(store.get(9)).toBeUndefined();
    expect(store.stop(9, { stoppedAtMs: 1, meterStopWh: 1 })).toBeUndefined();
  });

  it('hands out copies, so callers cannot change what is stored', () => {
    const store = new MemoryTransactionStore();
    const id = store.start(start);
    store.get(id)!.idTag = 'changed';
    expect(store.get(id)!.idTag).toBe('T');
  });
});
