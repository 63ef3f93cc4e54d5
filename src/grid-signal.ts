// The one constructor every producer of grid signals goes through (MQTT, HTTP, the API, OpenADR,
// price feeds): an id, a known kind, a finite start, a finite end after it (or an explicit open
// end, shown as such), and a value inside the bounds of its kind. Whatever passes here can be
// compared, stored, and turned into ISO 8601 text without throwing.
import type { GridSignal, SignalKind } from './bus.ts';
import { EmsError } from './errors.ts';

export class GridSignalError extends EmsError {
  override readonly code = 'SIGNAL_INVALID';
}

export const SIGNAL_KINDS: readonly SignalKind[] = ['import-limit', 'export-limit', 'price', 'ghg', 'load-shed', 'alert'];

/** Earliest and latest instant a signal may name (a typo like 30000 s read as ms is far outside). */
export const SIGNAL_EARLIEST_MS = Date.UTC(2000, 0, 1);
export const SIGNAL_LATEST_MS = Date.UTC(2200, 0, 1);
/**
 * Where an open-ended signal "ends": far beyond any real limit, yet a valid Date, so a consumer
 * comparing `atMs < endMs` keeps working and nothing that formats it can throw. Views show such a
 * signal as `openEnded: true, end: null`.
 */
export const OPEN_END_MS = Date.UTC(9999, 11, 31, 23, 59, 59);

/** Largest value per kind: limits in W (1 GW), prices per kWh, g/kWh, SIMPLE levels, alert codes. */
export const SIGNAL_VALUE_BOUNDS: Readonly<Record<SignalKind, { min: number; max: number; integer?: boolean }>> = {
  'import-limit': { min: 0, max: 1e9 },
  'export-limit': { min: 0, max: 1e9 },
  price: { min: -1e6, max: 1e6 },
  ghg: { min: 0, max: 1e5 },
  'load-shed': { min: 0, max: 3, integer: true },
  alert: { min: 0, max: 1e6 },
};

const MAX_ID_LENGTH = 200;
const MAX_TEXT_LENGTH = 500;

export interface GridSignalInput {
  id: string;
  source: string;
  kind: SignalKind;
  startMs: number;
  /** A finite time after `startMs`, or 'open' for a signal in force until withdrawn. */
  endMs: number | 'open';
  value: number;
  text?: string | undefined;
}

/**
 * Builds a grid signal or throws GridSignalError naming the first problem. Extra fields of `T`
 * (eventId, program, detail on the timeline) are kept as they are.
 */
export function gridSignal<T extends GridSignalInput>(input: T): Omit<T, 'endMs'> & GridSignal {
  const problem = gridSignalProblem(input);
  if (problem) throw new GridSignalError(`grid signal ${describe(input)}: ${problem}`);
  const { endMs, text, ...rest } = input;
  const open = endMs === 'open' || endMs === OPEN_END_MS;
  const signal = { ...rest, endMs: open ? OPEN_END_MS : endMs } as Omit<T, 'endMs'> & GridSignal;
  if (open) signal.openEnded = true;
  else delete signal.openEnded;
  if (text) signal.text = text;
  return signal;
}

/** The first reason `input` is not a valid signal, or undefined. Never throws, whatever it is given. */
export function gridSignalProblem(input: unknown): string | undefined {
  if (!input || typeof input !== 'object') return 'not an object';
  const s = input as Record<string, unknown>;
  if (typeof s.id !== 'string' || s.id.length === 0 || s.id.length > MAX_ID_LENGTH) return `id must be a text of 1 to ${MAX_ID_LENGTH} characters`;
  if (typeof s.source !== 'string' || s.source.length === 0 || s.source.length > MAX_ID_LENGTH) return `source must be a text of 1 to ${MAX_ID_LENGTH} characters`;
  if (!SIGNAL_KINDS.includes(s.kind as SignalKind)) return `kind must be one of ${SIGNAL_KINDS.join(', ')}`;
  if (!isTime(s.startMs)) return `start must be a time between ${iso(SIGNAL_EARLIEST_MS)} and ${iso(SIGNAL_LATEST_MS)}`;
  const open = s.endMs === 'open' || s.endMs === OPEN_END_MS;
  if (!open) {
    if (!isTime(s.endMs)) return `end must be a time between ${iso(SIGNAL_EARLIEST_MS)} and ${iso(SIGNAL_LATEST_MS)}, or explicitly open`;
    if (!((s.endMs as number) > (s.startMs as number))) return 'end must be after start';
  }
  const bounds = SIGNAL_VALUE_BOUNDS[s.kind as SignalKind];
  if (typeof s.value !== 'number' || !Number.isFinite(s.value)) return 'value must be a finite number';
  if (s.value < bounds.min || s.value > bounds.max) return `value ${s.value} is outside ${bounds.min}..${bounds.max} for ${s.kind}`;
  if (bounds.integer && !Number.isInteger(s.value)) return `value ${s.value} must be a whole number for ${s.kind}`;
  if (s.text !== undefined && (typeof s.text !== 'string' || s.text.length > MAX_TEXT_LENGTH)) return `text must be at most ${MAX_TEXT_LENGTH} characters`;
  return undefined;
}

/** ISO 8601 text for a time, or null for anything that is not a representable instant. Never throws. */
export function isoOrNull(atMs: unknown): string | null {
  if (typeof atMs !== 'number' || !Number.isFinite(atMs) || Math.abs(atMs) > 8.64e15) return null;
  return new Date(atMs).toISOString();
}

/** How a signal is shown: ISO start and end, `end: null` with `openEnded: true` for an open one. Never throws. */
export function signalTimes(s: { startMs: unknown; endMs: unknown; openEnded?: unknown }): { start: string | null; end: string | null; openEnded: boolean } {
  const openEnded = s.openEnded === true || s.endMs === OPEN_END_MS;
  return { start: isoOrNull(s.startMs), end: openEnded ? null : isoOrNull(s.endMs), openEnded };
}

const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= SIGNAL_EARLIEST_MS && v <= SIGNAL_LATEST_MS;
const iso = (ms: number) => new Date(ms).toISOString();
const describe = (input: unknown) => {
  const s = (input ?? {}) as Record<string, unknown>;
  return `${typeof s.source === 'string' ? s.source.slice(0, 60) : '?'}/${typeof s.id === 'string' ? s.id.slice(0, 60) : '?'}`;
};
