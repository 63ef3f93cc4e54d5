import type { EventSlot, VenEvent } from '../types.ts';
import type { Oadr2bEvent, Oadr2bSignal } from './xml-parse.ts';

/** An event with duration PT0S runs until cancelled; it is held this far ahead. */
export const OPEN_ENDED_MS = 365 * 86_400_000;

export type EventState = 'far' | 'near' | 'active' | 'completed' | 'cancelled';

/** The state from the VEN's own clock (the status field is only the VTN's view when it sent it). */
export function eventState(event: Oadr2bEvent, nowMs: number, offsetMs = 0): EventState {
  if (event.status === 'cancelled') return 'cancelled';
  const startMs = event.startMs + offsetMs;
  const endMs = event.durationMs > 0 ? startMs + event.durationMs : Number.POSITIVE_INFINITY;
  if (nowMs >= endMs) return 'completed';
  if (nowMs >= startMs) return 'active';
  if (nowMs >= startMs - Math.max(event.rampUpMs, 0) || event.status === 'near') return 'near';
  return 'far';
}

export interface SignalSupport {
  /** W the site can import at most; LOAD_CONTROL capacity without units is a fraction of it. */
  siteCapacityW: number;
}

/** Which slot kind a 2.0b signal maps to, or why it is not supported. */
type SlotMapping = {
  kind: EventSlot['kind'];
  scale: (value: number, support: SignalSupport) => number;
  /** Why a value cannot be taken as sent (out of range, contradictory), with what is applied instead. */
  check?: (value: number, support: SignalSupport) => string | undefined;
};

function slotKind(signal: Oadr2bSignal): SlotMapping | string {
  const name = signal.signalName.toUpperCase();
  const scale = signal.item?.scale ?? 1;
  const isPower = signal.itemKind === 'powerReal';
  if (name === 'SIMPLE' && signal.signalType === 'level') return { kind: 'simple', scale: (v) => v };
  if ((name === 'ELECTRICITY_PRICE' || name === 'ENERGY_PRICE') && signal.signalType === 'price') return { kind: 'price', scale: (v) => v * scale };
  if (name === 'LOAD_CONTROL' && signal.signalType === 'x-loadControlCapacity') {
    return {
      kind: 'import-limit',
      scale: (v, s) => (isPower ? v * scale : Math.min(Math.max(v, 0), 1) * s.siteCapacityW),
      // Without a power unit the capacity is a fraction 0..1 of the site's: 150.0 is contradictory.
      check: (v, s) => {
        if (isPower || (v >= 0 && v <= 1)) return undefined;
        const nearest = Math.min(Math.max(v, 0), 1);
        return `x-loadControlCapacity ${v} is outside 0..1 (a fraction of the site capacity, ${Math.round(s.siteCapacityW)} W); applied the nearest safe value ${nearest} (${Math.round(nearest * s.siteCapacityW)} W)`;
      },
    };
  }
  if ((name === 'LOAD_DISPATCH' && signal.signalType === 'setpoint') || (name === 'LOAD_CONTROL' && signal.signalType === 'x-loadControlSetpoint')) {
    if (isPower) return { kind: 'import-limit', scale: (v) => v * scale };
    return `${signal.signalName}/${signal.signalType} without a powerReal unit`;
  }
  return `${signal.signalName}/${signal.signalType}`;
}

/** Maps a 2.0b event onto version-neutral slots; unsupported signals are listed, not fatal. */
export function toVenEvent(event: Oadr2bEvent, support: SignalSupport): { event: VenEvent; unsupported: string[]; adjusted: string[] } {
  const unsupported: string[] = [];
  const adjusted: string[] = [];
  const slots: EventSlot[] = [];
  const eventEndMs = event.startMs + (event.durationMs > 0 ? event.durationMs : OPEN_ENDED_MS);
  if (event.status !== 'cancelled') {
    for (const signal of event.signals) {
      const mapping = slotKind(signal);
      if (typeof mapping === 'string') {
        unsupported.push(mapping);
        continue;
      }
      let startMs = event.startMs;
      signal.intervals.forEach((interval, index) => {
        const last = index === signal.intervals.length - 1;
        const endMs = interval.durationMs > 0 ? startMs + interval.durationMs : last ? eventEndMs : startMs;
        const problem = mapping.check?.(interval.value, support);
        if (problem) adjusted.push(`event ${event.eventId} (modification ${event.modificationNumber}) ${signal.signalName}: ${problem}`);
        const text = mapping.kind === 'price' ? `import price${signal.item?.units ? ` ${signal.item.units}/kWh` : ''}` : undefined;
        slots.push({ startMs, endMs: Math.min(endMs, eventEndMs), kind: mapping.kind, value: mapping.scale(interval.value, support), ...(text ? { text } : {}) });
        startMs = endMs;
      });
    }
  }
  return {
    event: {
      eventId: event.eventId,
      modification: event.modificationNumber,
      program: event.marketContext,
      priority: event.priority,
      randomizeMs: event.startAfterMs,
      slots,
    },
    unsupported,
    adjusted,
  };
}
