// Where what the chargers hold survives an EMS restart. A charger keeps its profiles while the EMS
// is down; the restarted EMS must count each connector at what it may still hold (its last
// TxProfile, its default), not at its max (which squeezes every other car to 0 A) nor at nothing
// (which lets the site overshoot). Each slot's row is written before a higher limit goes on the
// wire (write-ahead) and after a lower one is confirmed.

/** One slot's worst case: the highest limit it may hold, A per phase. */
export interface HeldSlotRecord {
  chargerId: string;
  /** 'default:N' (TxDefaultProfile of connector N), 'tx:N' (TxProfile of connector N) or 'lift:0' (the charger-wide lift, which lapses by its duration). */
  slot: string;
  limitA: number;
  /** The transaction of a TxProfile slot. */
  transactionId?: number;
}

export interface HoldingsStore {
  /** Every slot recorded, for the restart. */
  load(): HeldSlotRecord[];
  /** Records (replaces) one slot. Synchronous: it returns once the row is written. */
  save(record: HeldSlotRecord): void;
  /** The slot holds nothing any more (its transaction ended). */
  remove(chargerId: string, slot: string): void;
}

/** Holdings in memory: a restart forgets them (every connector counts at its max until it confirms). */
export class MemoryHoldingsStore implements HoldingsStore {
  private readonly rows = new Map<string, HeldSlotRecord>();

  load(): HeldSlotRecord[] {
    return [...this.rows.values()].map((r) => ({ ...r }));
  }

  save(record: HeldSlotRecord): void {
    this.rows.set(`${record.chargerId}\u0000${record.slot}`, { ...record });
  }

  remove(chargerId: string, slot: string): void {
    this.rows.delete(`${chargerId}\u0000${slot}`);
  }
}
