import type { GridSignal } from '../bus.ts';

/** A signal on the timeline. The extra fields are optional so any GridSignal producer fits. */
export interface TimelineSignal extends GridSignal {
  /** The event this signal belongs to; opting out acts on all its signals. */
  eventId?: string;
  /** Program or market context the event came from. */
  program?: string;
  /** Source-side detail shown to the operator (e.g. "SIMPLE level 2", "modification 3"). */
  detail?: string;
}

export type OptState = 'in' | 'out';

/** What the operator sees: every active and upcoming signal, with its event's opt state. */
export interface SignalView extends TimelineSignal {
  /** ISO 8601; null only for a time that cannot be shown. */
  start: string | null;
  /** ISO 8601; null when the signal is open-ended (in force until withdrawn). */
  end: string | null;
  openEnded: boolean;
  opt: OptState;
  active: boolean;
}

export interface OptOutRecord {
  source: string;
  eventId: string;
  by: string;
  atMs: number;
}

export interface Actor {
  username: string;
  role: string;
}

export interface AuditEntry {
  atMs: number;
  actor: string;
  action: string;
  target: string;
  detail?: string;
}

/** Where operator actions are recorded; the storage layer's audit log fits this shape. */
export interface AuditSink {
  record(entry: AuditEntry): void;
}

export interface OptChange {
  source: string;
  eventId: string;
  opt: OptState;
  by: string;
}

/** The producer side: VENs, MQTT and HTTP hand their full current set per source. */
export interface SignalSink {
  /** Replaces everything `source` said before. */
  submit(source: string, signals: readonly TimelineSignal[]): void;
  optState(source: string, eventId: string): OptState;
  onOptChange(listener: (change: OptChange) => void): () => void;
}

/** The operator side, for the API and dashboard. */
export interface SignalsApi {
  list(): SignalView[];
  /** Needs the operator (or admin) role; recorded in the audit log. */
  optOut(eventId: string, actor: Actor): void;
  optIn(eventId: string, actor: Actor): void;
  submit(source: string, signals: readonly TimelineSignal[]): void;
  clear(source: string): void;
}

/** An operator's limit from the API (POST /api/v1/signals). */
export interface OperatorLimitInput {
  kind: 'import-limit' | 'export-limit';
  valueW: number;
  /** Without it the limit holds until it is ended (DELETE), shown as open-ended. */
  durationS?: number | undefined;
  /** Default now. */
  startsAtMs?: number | undefined;
  /** Who or what asked for it (a ticket, a grid operator's phone call); shown with the signal. */
  source?: string | undefined;
}

/** Operator limits, for the API. */
export interface OperatorSignalsApi {
  /** Needs the operator (or admin) role; audited by the caller. Throws SignalInputError on bad input. */
  addLimit(input: OperatorLimitInput, actor: Actor): { id: string };
  /** Ends an operator limit or the MQTT site limit; other sources' signals are opted out of instead. */
  end(id: string, actor: Actor): TimelineSignal;
}
