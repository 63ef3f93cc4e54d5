import { parseDateMs, parseIsoDurationMs } from '../iso-duration.ts';
import type { EventSlot, SlotKind, VenEvent } from '../types.ts';
import type { Vtn3Event, Vtn3Program } from './schemas.ts';

/** "0001-01-01" means now; such a start is pinned to when the VEN first saw it. */
const NOW_SENTINEL_MS = Date.UTC(1, 0, 1);
const isNowSentinel = (start: string) => parseDateMs(start) <= NOW_SENTINEL_MS + 86_400_000;

const POWER_UNITS: Record<string, number> = { W: 1, KW: 1000, MW: 1e6 };

function kindOf(type: string): SlotKind | undefined {
  if (type === 'IMPORT_CAPACITY_LIMIT') return 'import-limit';
  if (type === 'EXPORT_CAPACITY_LIMIT') return 'export-limit';
  if (type === 'PRICE' || type === 'EXPORT_PRICE') return 'price';
  if (type === 'GHG') return 'ghg';
  if (type === 'SIMPLE') return 'simple';
  if (type.startsWith('ALERT_')) return 'alert';
  return undefined;
}

export interface MappedEvent {
  event: VenEvent;
  /** IMPORT/EXPORT_CAPACITY_SUBSCRIPTION slots (as import-/export-limit): the fallback limits. */
  subscriptions: VenEvent;
  unsupported: string[];
}

const SUBSCRIPTION_KIND: Record<string, SlotKind> = { IMPORT_CAPACITY_SUBSCRIPTION: 'import-limit', EXPORT_CAPACITY_SUBSCRIPTION: 'export-limit' };

/**
 * A 3.1 event → version-neutral slots. Intervals inherit the event's intervalPeriod, an interval
 * without one follows the previous, and a payload with several values splits its interval evenly.
 */
export function toVenEvent(event: Vtn3Event, program: Vtn3Program | undefined, firstSeenMs: number): MappedEvent {
  const unsupported = new Set<string>();
  const descriptors = new Map<string, { units?: string | null; currency?: string | null }>();
  for (const d of program?.payloadDescriptors ?? []) descriptors.set(d.payloadType, d);
  for (const d of event.payloadDescriptors ?? []) descriptors.set(d.payloadType, d);

  // The tariff tells export prices apart by "export" in the text.
  const priceText = (type: string) => {
    const currency = descriptors.get(type)?.currency;
    return `${type === 'EXPORT_PRICE' ? 'export price' : 'import price'}${currency ? ` ${currency}/kWh` : ''}`;
  };
  const resolveStart = (start: string | null | undefined, fallbackMs: number) => (start ? (isNowSentinel(start) ? firstSeenMs : parseDateMs(start)) : fallbackMs);
  const defaults = event.intervalPeriod;
  let cursorMs = resolveStart(defaults?.start, firstSeenMs);
  let durationMs = defaults?.duration ? parseIsoDurationMs(defaults.duration) : 0;
  const slots: EventSlot[] = [];
  const subscriptionSlots: EventSlot[] = [];
  for (const interval of event.intervals ?? []) {
    const own = interval.intervalPeriod;
    const startMs = own?.start ? resolveStart(own.start, cursorMs) : cursorMs;
    if (own?.duration) durationMs = parseIsoDurationMs(own.duration);
    const endMs = startMs + durationMs;
    cursorMs = endMs;
    if (!(durationMs > 0)) continue;
    for (const payload of interval.payloads) {
      const subscriptionKind = SUBSCRIPTION_KIND[payload.type];
      const kind = subscriptionKind ?? kindOf(payload.type);
      const target = subscriptionKind ? subscriptionSlots : slots;
      if (!kind) {
        unsupported.add(payload.type);
        continue;
      }
      const values = payload.values;
      const stepMs = durationMs / Math.max(values.length, 1);
      values.forEach((raw, index) => {
        const slotStart = startMs + index * stepMs;
        const slotEnd = index === values.length - 1 ? endMs : slotStart + stepMs;
        if (kind === 'alert') {
          target.push({ startMs: slotStart, endMs: slotEnd, kind, value: 1, text: typeof raw === 'string' ? `${payload.type}: ${raw}` : payload.type });
          return;
        }
        if (typeof raw !== 'number') {
          unsupported.add(`${payload.type} with a non-numeric value`);
          return;
        }
        let value = raw;
        if (kind === 'import-limit' || kind === 'export-limit') {
          const units = (descriptors.get(payload.type)?.units ?? 'KW').toUpperCase();
          const factor = POWER_UNITS[units];
          if (factor === undefined) {
            unsupported.add(`${payload.type} in ${units}`);
            return;
          }
          value = raw * factor;
        }
        target.push({ startMs: slotStart, endMs: slotEnd, kind, value, ...(kind === 'price' ? { text: priceText(payload.type) } : {}) });
      });
    }
  }
  const randomizeMs = defaults?.randomizeStart ? Math.abs(parseIsoDurationMs(defaults.randomizeStart)) : 0;
  const base = {
    eventId: event.id,
    modification: event.modificationDateTime ? parseDateMs(event.modificationDateTime) : 0,
    program: program?.programName ?? event.programID,
    priority: event.priority ?? undefined,
  };
  return {
    event: { ...base, randomizeMs, slots },
    subscriptions: { ...base, randomizeMs: 0, slots: subscriptionSlots },
    unsupported: [...unsupported],
  };
}
