import { createHash } from 'node:crypto';
import type { SignalKind } from '../bus.ts';
import { gridSignal, gridSignalProblem, SIGNAL_EARLIEST_MS, SIGNAL_LATEST_MS, SIGNAL_VALUE_BOUNDS } from '../grid-signal.ts';
import type { OpenAdrSignal, VenEvent } from './types.ts';

export interface MappingOptions {
  /** W import limit per SIMPLE level ("1".."3"); a level without an entry limits nothing. */
  simpleLevels: Record<string, number>;
  /** Seed of the per-event random offset (the VEN name), so every site spreads differently. */
  seed: string;
  randomize: boolean;
  /**
   * Told about every value the VTN sent that had to be changed to be usable (out of range,
   * contradictory): what came, what was applied instead. The VEN logs each once.
   */
  onAdjust?: (note: string) => void;
}

/** A stable fraction in [0, 1) per (seed, event): the offset survives restarts and re-polls. */
export function stableFraction(seed: string, eventId: string): number {
  const digest = createHash('sha256').update(`${seed}\u0000${eventId}`).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

export function randomOffsetMs(event: Pick<VenEvent, 'eventId' | 'randomizeMs'>, options: Pick<MappingOptions, 'seed' | 'randomize'>): number {
  if (!options.randomize || event.randomizeMs <= 0) return 0;
  return Math.floor(stableFraction(options.seed, event.eventId) * event.randomizeMs);
}

/**
 * A VTN event → site signals. SIMPLE levels become a load-shed signal (shown) plus the configured
 * import limit (applied); limits, prices and GHG map one to one; alerts carry their type as text.
 */
export function eventToSignals(source: string, event: VenEvent, options: MappingOptions): OpenAdrSignal[] {
  const offsetMs = randomOffsetMs(event, options);
  const raw: OpenAdrSignal[] = [];
  const base = { source, eventId: event.eventId, program: event.program };
  const detail = `modification ${event.modification}${offsetMs ? `, start delayed ${Math.round(offsetMs / 1000)} s` : ''}`;
  event.slots.forEach((slot, index) => {
    const startMs = slot.startMs + offsetMs;
    const endMs = slot.endMs + offsetMs;
    if (!(endMs > startMs) || !Number.isFinite(slot.value)) return;
    const id = `${event.eventId}#${index}`;
    switch (slot.kind) {
      case 'simple': {
        const level = Math.round(slot.value);
        raw.push({ ...base, id: `${id}:shed`, kind: 'load-shed', startMs, endMs, value: level, detail: `SIMPLE level ${level}; ${detail}` });
        const limitW = level > 0 ? options.simpleLevels[String(level)] : undefined;
        if (limitW !== undefined) {
          raw.push({ ...base, id: `${id}:limit`, kind: 'import-limit', startMs, endMs, value: limitW, detail: `SIMPLE level ${level}; ${detail}` });
        }
        break;
      }
      case 'import-limit':
      case 'export-limit':
        raw.push({ ...base, id, kind: slot.kind, startMs, endMs, value: slot.value, detail });
        break;
      case 'price':
      case 'ghg':
        raw.push({ ...base, id, kind: slot.kind, startMs, endMs, value: slot.value, detail, ...(slot.text ? { text: slot.text } : {}) });
        break;
      case 'alert':
        raw.push({ ...base, id, kind: 'alert', startMs, endMs, value: 1, text: slot.text ?? 'ALERT_OTHER', detail });
        break;
    }
  });
  return raw.flatMap((signal) => safeSignal(signal, event, options.onAdjust));
}

/**
 * Every signal goes through the one constructor (src/grid-signal.ts). A value outside its kind's
 * range is replaced by the nearest value inside it (a negative limit by 0: the strictest), an end
 * beyond what a signal can name becomes open-ended (3.1's "P9999Y"), a start before 2000 is 2000;
 * each change is reported. What still cannot be a signal is dropped and reported.
 */
function safeSignal(signal: OpenAdrSignal, event: VenEvent, onAdjust: MappingOptions['onAdjust']): OpenAdrSignal[] {
  const note = (text: string) => onAdjust?.(`event ${event.eventId} (modification ${event.modification}) ${signal.kind}: ${text}`);
  const bounds = SIGNAL_VALUE_BOUNDS[signal.kind as SignalKind];
  let value = signal.value;
  if (bounds && (value < bounds.min || value > bounds.max)) {
    const nearest = Math.min(Math.max(value, bounds.min), bounds.max);
    note(`value ${value} is outside ${bounds.min}..${bounds.max}; applied ${nearest}`);
    value = nearest;
  }
  if (bounds?.integer && !Number.isInteger(value)) value = Math.round(value);
  const startMs = Math.max(signal.startMs, SIGNAL_EARLIEST_MS);
  const endMs: number | 'open' = signal.endMs > SIGNAL_LATEST_MS ? 'open' : signal.endMs;
  const candidate = { ...signal, value, startMs, endMs };
  const problem = gridSignalProblem(candidate);
  if (problem) {
    note(`dropped: ${problem}`);
    return [];
  }
  return [gridSignal(candidate)];
}
