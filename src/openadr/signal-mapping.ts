import { createHash } from 'node:crypto';
import type { OpenAdrSignal, VenEvent } from './types.ts';

export interface MappingOptions {
  /** W import limit per SIMPLE level ("1".."3"); a level without an entry limits nothing. */
  simpleLevels: Record<string, number>;
  /** Seed of the per-event random offset (the VEN name), so every site spreads differently. */
  seed: string;
  randomize: boolean;
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
  const signals: OpenAdrSignal[] = [];
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
        signals.push({ ...base, id: `${id}:shed`, kind: 'load-shed', startMs, endMs, value: level, detail: `SIMPLE level ${level}; ${detail}` });
        const limitW = level > 0 ? options.simpleLevels[String(level)] : undefined;
        if (limitW !== undefined) {
          signals.push({ ...base, id: `${id}:limit`, kind: 'import-limit', startMs, endMs, value: limitW, detail: `SIMPLE level ${level}; ${detail}` });
        }
        break;
      }
      case 'import-limit':
      case 'export-limit':
        signals.push({ ...base, id, kind: slot.kind, startMs, endMs, value: Math.max(0, slot.value), detail });
        break;
      case 'price':
      case 'ghg':
        signals.push({ ...base, id, kind: slot.kind, startMs, endMs, value: slot.value, detail, ...(slot.text ? { text: slot.text } : {}) });
        break;
      case 'alert':
        signals.push({ ...base, id, kind: 'alert', startMs, endMs, value: 1, text: slot.text ?? 'ALERT_OTHER', detail });
        break;
    }
  });
  return signals;
}
