import type { GridSignal } from '../bus.ts';

/** A grid signal as the VENs produce it; the timeline (src/signals) accepts exactly this shape. */
export interface OpenAdrSignal extends GridSignal {
  eventId?: string;
  program?: string;
  detail?: string;
}

export type OptState = 'in' | 'out';

/** The timeline as a VEN sees it: where signals go, and the operator's opt decisions. */
export interface SignalSinkLike {
  submit(source: string, signals: readonly OpenAdrSignal[]): void;
  optState(source: string, eventId: string): OptState;
  onOptChange(listener: (change: { source: string; eventId: string; opt: OptState; by: string }) => void): () => void;
}

/** What a VTN event asks for in one time slot, before mapping to site signals. */
export type SlotKind = 'simple' | 'import-limit' | 'export-limit' | 'price' | 'ghg' | 'alert';

export interface EventSlot {
  startMs: number;
  endMs: number;
  kind: SlotKind;
  /** W for limits, currency/kWh for price, g/kWh for GHG, level for SIMPLE, 1 for alerts. */
  value: number;
  text?: string;
}

/** One VTN event in version-neutral form. */
export interface VenEvent {
  eventId: string;
  modification: number;
  program?: string;
  priority?: number;
  /** Maximum random start delay the VTN asks for (startafter / randomizeStart), ms. */
  randomizeMs: number;
  slots: EventSlot[];
}

export interface VenEventStatus {
  eventId: string;
  modificationNumber: number;
  program: string;
  state: 'far' | 'near' | 'active' | 'completed' | 'cancelled';
  opt: OptState;
  applied: boolean;
  note?: string;
}

/** What the operator view shows per VTN connection. */
export interface VenStatus {
  id: string;
  version: '2.0b' | '3.1';
  registered: boolean;
  venId?: string;
  vtnId?: string;
  lastContactAtMs?: number;
  /** When this VEN last polled (or tried to), whatever the outcome. */
  lastPollAtMs?: number;
  lastError?: string;
  /** Exchanges with the VTN that failed since start (each poll, registration or report that did not go through). */
  failedExchanges: number;
  /** Times the exchange went from working to failing since start (a fault that persists counts once). */
  faults: number;
  /** When the certificate this VEN presents (2.0b client certificate, 3.1 client or webhook certificate) expires. */
  certificateExpiresAtMs?: number;
  /** 2.0b: how the VTN knows this VEN, the last 10 bytes of the client certificate's SHA-256. */
  certificateFingerprint?: string;
  /** Push channels in use besides polling (3.1: 'webhook', 'mqtt'). */
  notifications?: string[];
  /** The poll period in use (2.0b: the VTN's requested frequency when slower than the config). */
  pollIntervalMs: number;
  events: VenEventStatus[];
}
