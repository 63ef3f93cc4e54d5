// Dynamic price feed payloads (MQTT message or HTTP JSON body) → price signals. Pure.
// Accepted shapes:
//   { "prices": [ { "start": ISO, "end": ISO, "price": 0.21 }, ... ], "export"?: [...], "carbon"?: [...] }
//   [ { "start": ISO, "end": ISO, "price": 0.21 }, ... ]
//   { "price": 0.21 }                       (applies from now for `defaultDurationMs`)
// Each interval may say "kind": "import" | "export" | "carbon" instead of using the lists.
import type { GridSignal } from '../bus.ts';
import { EmsError } from '../errors.ts';

export class PricePayloadError extends EmsError {
  override readonly code = 'PRICE_PAYLOAD_INVALID';
}

type Kind = 'import' | 'export' | 'carbon';

function toTime(value: unknown, where: string): number {
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) throw new PricePayloadError(`${where}: not a time (ISO 8601 or epoch ms)`);
  return ms;
}

function interval(entry: unknown, where: string, kind: Kind, source: string): GridSignal {
  if (typeof entry !== 'object' || entry === null) throw new PricePayloadError(`${where}: expected an object`);
  const e = entry as Record<string, unknown>;
  const value = e.price ?? e.value;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new PricePayloadError(`${where}.price: expected a number`);
  const startMs = toTime(e.start, `${where}.start`);
  const endMs = toTime(e.end, `${where}.end`);
  if (endMs <= startMs) throw new PricePayloadError(`${where}.end: must be after start`);
  const k = typeof e.kind === 'string' ? (e.kind as Kind) : kind;
  if (k !== 'import' && k !== 'export' && k !== 'carbon') throw new PricePayloadError(`${where}.kind: import, export or carbon`);
  return {
    id: `${source}:${k}:${startMs}`,
    source,
    kind: k === 'carbon' ? 'ghg' : 'price',
    startMs,
    endMs,
    value,
    text: k === 'export' ? 'export price' : undefined,
  };
}

export function parsePricePayload(data: unknown, options: { source: string; receivedAtMs: number; defaultDurationMs?: number }): GridSignal[] {
  const { source } = options;
  if (Array.isArray(data)) return data.map((e, i) => interval(e, `prices.${i}`, 'import', source));
  if (typeof data !== 'object' || data === null) throw new PricePayloadError('expected a JSON object or array of price intervals');
  const d = data as Record<string, unknown>;
  if (typeof d.price === 'number' && !('prices' in d)) {
    const startMs = options.receivedAtMs;
    return [interval({ start: startMs, end: startMs + (options.defaultDurationMs ?? 3_600_000), price: d.price }, 'price', 'import', source)];
  }
  const out: GridSignal[] = [];
  for (const [key, kind] of [['prices', 'import'], ['import', 'import'], ['export', 'export'], ['carbon', 'carbon']] as const) {
    const list = d[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new PricePayloadError(`${key}: expected an array`);
    list.forEach((e, i) => out.push(interval(e, `${key}.${i}`, kind, source)));
  }
  if (!out.length) throw new PricePayloadError('no price intervals (expected "prices": [...])');
  return out;
}
