import type { ChargerConfig, CircuitConfig, Config } from '../../config/schema.ts';

const CHARGERS_PER_ROW = 4;
const ROW_LIMIT_A = 40;

/**
 * The demo site with `count` chargers: the example's chargers repeated as templates, four to a
 * row of 40 A under a main board sized for the site; unchanged when the count already matches.
 */
export function scaleDemoConfig(config: Config, count: number): Config {
  if (count === config.chargers.length || config.chargers.length === 0) return config;
  const templates = config.chargers;
  const chargers: ChargerConfig[] = Array.from({ length: count }, (_, i) => ({
    ...templates[i % templates.length]!,
    id: `CP${String(i + 1).padStart(3, '0')}`,
  }));
  const rows: CircuitConfig[] = [];
  for (let i = 0; i < count; i += CHARGERS_PER_ROW) {
    rows.push({ id: `row-${rows.length + 1}`, maxCurrent: ROW_LIMIT_A, chargers: chargers.slice(i, i + CHARGERS_PER_ROW).map((c) => c.id) });
  }
  const mainA = Math.max(config.grid.maxCurrent, Math.round(count * 10));
  return {
    ...config,
    grid: { ...config.grid, maxCurrent: mainA, maxPower: config.grid.maxPower ? Math.round(mainA * 230 * 3 * 0.8) : undefined },
    circuits: [{ id: 'main', maxCurrent: mainA, children: rows }],
    chargers,
  };
}
