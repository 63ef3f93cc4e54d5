// The site both reaction benchmarks drive: N one-connector chargers in rows of 10 under a main
// board sized so every cap is shared, priority `equal` so a meter step moves every cap.
import { configSchema, type Config, type DeviceConfig } from '../config/schema.ts';

export function reactionSite(chargerCount: number, gridMeter: Record<string, unknown>): { config: Config; ids: string[]; gridA: number } {
  const ids = Array.from({ length: chargerCount }, (_, i) => `CP${String(i + 1).padStart(4, '0')}`);
  const rows = [];
  for (let i = 0; i < ids.length; i += 10) rows.push({ id: `row-${i / 10}`, maxCurrent: 200, chargers: ids.slice(i, i + 10) });
  const gridA = chargerCount * 20;
  const config = configSchema.parse({
    grid: { maxCurrent: gridA, meter: 'grid', safetyMargin: 0 },
    control: { priority: 'equal', intervalMs: 1000, deadbandA: 0.5, profileMinIntervalMs: 0, minPauseMs: 0, unusedHoldMs: 3_600_000 },
    circuits: [{ id: 'main', maxCurrent: gridA, children: rows }],
    chargers: ids.map((id) => ({ id, connectors: 1, maxCurrent: 32, minCurrent: 6 })),
    idTags: ids.map((id) => ({ idTag: `TAG-${id}`, tier: 'staff' })),
    devices: [{ id: 'grid', role: 'grid-meter', ...gridMeter } as DeviceConfig],
    ocpp: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    storage: { path: ':memory:' },
  });
  return { config, ids, gridA };
}
