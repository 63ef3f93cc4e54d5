// What the chargers hold survives a restart: rows written through one connection are read back by
// the next process on the same file, and what a ChargerHoldings records (only changes, only
// confirmed defaults, the TxProfile with its transaction) is what it restores.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { ChargerHoldings } from '../../src/ocpp/charger-holdings.ts';
import { openStorage } from '../../src/storage/open-storage.ts';

describe('the holdings store', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('keeps what each connector may hold across a reopen of the database, and forgets an ended transaction', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ems-holdings-'));
    dirs.push(dir);
    const clock = new ManualClock(Date.parse('2026-12-06T08:00:00Z'));
    const path = join(dir, 'ems.sqlite');
    let store = openStorage(path, clock);
    const sink = (s: typeof store) => ({
      save: (slot: string, limitA: number, transactionId?: number) => s.holdings.save({ chargerId: 'CP1', slot, limitA, ...(transactionId === undefined ? {} : { transactionId }) }),
      remove: (slot: string) => s.holdings.remove('CP1', slot),
    });
    const held = new ChargerHoldings({ chargerId: 'CP1', connectors: 2, maxA: 32, shareA: 10 }, sink(store));
    // A default sent and never answered is not recorded (it may be no limit at all); confirmed, it is.
    held.defaultSlot(1).begin({ limitA: 8, phases: 3, sentAtMs: 0 });
    expect(store.holdings.load()).toEqual([]);
    held.defaultSlot(1).accepted();
    // A higher TxProfile is recorded before it goes out (write-ahead), the lower one once confirmed.
    held.txSlot(1, 41).begin({ limitA: 20, phases: 3, sentAtMs: 0, expiresAtMs: 300_000 });
    expect(store.holdings.load()).toContainEqual({ chargerId: 'CP1', slot: 'tx:1', limitA: 20, transactionId: 41 });
    held.txSlot(1, 41).accepted();
    held.txSlot(1, 41).begin({ limitA: 12, phases: 3, sentAtMs: 1, expiresAtMs: 300_001 });
    expect(store.holdings.load()).toContainEqual({ chargerId: 'CP1', slot: 'tx:1', limitA: 20, transactionId: 41 });
    held.txSlot(1, 41).accepted();
    held.txSlot(2, 42).begin({ limitA: 16, phases: 3, sentAtMs: 0 });
    held.txSlot(2, 42).accepted();
    held.transactionEnded(2);
    store.close();

    store = openStorage(path, clock);
    const rows = store.holdings.load();
    expect(rows.sort((a, b) => a.slot.localeCompare(b.slot))).toEqual([
      { chargerId: 'CP1', slot: 'default:1', limitA: 8 },
      { chargerId: 'CP1', slot: 'tx:1', limitA: 12, transactionId: 41 },
    ]);
    const restored = new ChargerHoldings({ chargerId: 'CP1', connectors: 2, maxA: 32, shareA: 10 }, sink(store));
    restored.restore(rows);
    // Connector 1 counts at its last TxProfile, falling to its default; connector 2 held nothing confirmed: its max.
    expect(restored.holdA(1, 41, 0)).toBe(12);
    expect(restored.holdA(1, undefined, 0)).toBe(8);
    expect(restored.holdA(2, undefined, 0)).toBe(32);
    store.close();
  });
});
