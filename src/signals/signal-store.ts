import type { OptOutRecord, TimelineSignal } from './types.ts';

export interface StoredSignals {
  signals: TimelineSignal[];
  optOuts: OptOutRecord[];
}

/** Keeps active and upcoming signals across a restart. */
export interface SignalStore {
  load(): StoredSignals;
  save(data: StoredSignals): void;
}

export function createMemorySignalStore(initial: StoredSignals = { signals: [], optOuts: [] }): SignalStore & { saved: number } {
  let data = structuredClone(initial);
  return {
    saved: 0,
    load: () => structuredClone(data),
    save(next) {
      data = structuredClone(next);
      this.saved++;
    },
  };
}
