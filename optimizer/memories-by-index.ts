// Per-connector memories carried from one decide() cycle to the next, as the cycle reads and
// writes them: by snapshot index. The memory's `connectors` record (by connector key) holds the
// same objects: what a restored or clock-shifted memory carries and what JSON shows. It is built
// only when something reads it. A cycle whose connectors come in the same order as the last one's
// (every cycle on a site whose chargers do not change) reads the last cycle's memories by index:
// no lookup by key and no record of 1,000 keys rebuilt per cycle (session 6's profile of decide()
// at 1,000 connectors put the estimator's rebuilt record first). Same memories, same results.

/** Not enumerable: JSON, spreads ({ ...memory }) and copies do not carry it (they carry the record). */
const BY_INDEX = Symbol('memories by snapshot index');

interface ByIndex<M> {
  /** Connector key by snapshot index. */
  readonly keys: readonly string[];
  /** Memory by snapshot index (a key seen twice: the caller decides which memory each index holds). */
  readonly mems: readonly M[];
  /** True when a key was seen twice. */
  readonly duplicates: boolean;
  /** The record, once something read it. */
  record?: Readonly<Record<string, M>>;
  /** Working objects the next cycle may set afresh and reuse (see SlotPool); no output refers to them. */
  readonly scratch?: unknown;
}

type WithByIndex<M> = { [BY_INDEX]?: ByIndex<M> };

/** A memory whose per-connector part is a record by connector key. */
export interface KeyedMemory<M> {
  readonly connectors?: Readonly<Record<string, M>>;
}

function toRecord<M>(keys: readonly string[], mems: readonly M[]): Record<string, M> {
  const record: Record<string, M> = {};
  for (let i = 0; i < keys.length; i++) if (mems[i] !== undefined) record[keys[i]] = mems[i];
  return record;
}

/** The previous cycle's memories, looked up by snapshot index when the keys line up, else by key. */
export class PreviousMemories<M> {
  private readonly byIndex: ByIndex<M> | undefined;
  private record: Readonly<Record<string, M>> | undefined;
  private readonly memory: KeyedMemory<M> | undefined;
  /** False once a key did not line up with last cycle's at its index. */
  private aligned: boolean;

  constructor(memory: KeyedMemory<M> | undefined) {
    this.memory = memory;
    this.byIndex = memory ? (memory as WithByIndex<M>)[BY_INDEX] : undefined;
    this.aligned = this.byIndex !== undefined;
  }

  /** What the last cycle left to reuse (withMemories' `scratch`), if it did. */
  get scratch(): unknown {
    return this.byIndex?.scratch;
  }

  /** The memory `key` had after the last cycle (`i`: its index in this snapshot). */
  at(i: number, key: string): M | undefined {
    const byIndex = this.byIndex;
    if (byIndex !== undefined && i < byIndex.keys.length && byIndex.keys[i] === key) return byIndex.mems[i];
    this.aligned = false;
    this.record ??= this.memory?.connectors ?? {};
    return this.record[key];
  }

  /**
   * Whether at(i, key) answers with last cycle's memory by index: an object made by the code that
   * wrote it (never one of a restored or hand-made record), so a caller may keep it as it is.
   */
  byIndexAt(i: number, key: string): boolean {
    const byIndex = this.byIndex;
    return byIndex !== undefined && i < byIndex.keys.length && byIndex.keys[i] === key;
  }

  /** Whether `keys` (this snapshot's, every one read with at()) has a key twice. */
  hasDuplicates(keys: readonly string[]): boolean {
    if (this.aligned && this.byIndex!.keys.length === keys.length && !this.byIndex!.duplicates) return false; // the same keys as last cycle
    return new Set(keys).size !== keys.length;
  }
}

function setConnectors(target: object, value: unknown): void {
  Object.defineProperty(target, 'connectors', { value, enumerable: true, configurable: true, writable: true });
}

// One getter and setter for every memory: a function made per call would give every memory object
// its own hidden class, each holding that cycle's memories, and keep them from young-generation GC.
function getConnectors(this: WithByIndex<unknown>): Readonly<Record<string, unknown>> {
  const byIndex = this[BY_INDEX];
  if (!byIndex) return {};
  byIndex.record ??= toRecord(byIndex.keys, byIndex.mems);
  return byIndex.record;
}

function setConnectorsByHand(this: WithByIndex<unknown>, value: unknown): void {
  delete this[BY_INDEX]; // a record set by hand is the memory from now on
  setConnectors(this, value);
}

const CONNECTORS: PropertyDescriptor = { get: getConnectors, set: setConnectorsByHand, enumerable: true, configurable: true };

/**
 * Gives `next` (the next memory, without its connectors) this cycle's memories: by index for the
 * next cycle, and as the `connectors` record, built when first read. `mems` must hold, at every
 * index of a key, the memory the record is to hold for it (undefined: none). `scratch`: working
 * objects for the next cycle to reuse (not carried by JSON or copies).
 */
export function withMemories<T extends object, M>(
  next: T,
  keys: readonly string[],
  mems: readonly M[],
  duplicates: boolean,
  scratch?: unknown,
): T & { connectors: Readonly<Record<string, M>> } {
  Object.defineProperty(next, BY_INDEX, { value: { keys, mems, duplicates, scratch } satisfies ByIndex<M>, configurable: true });
  Object.defineProperty(next, 'connectors', CONNECTORS);
  return next as T & { connectors: Readonly<Record<string, M>> };
}
