import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../config/parse-config.ts';

const examplesDir = fileURLToPath(new URL('../../config/examples/', import.meta.url));
const examples = readdirSync(examplesDir).filter((f) => f.endsWith('.yaml'));

function load(name: string) {
  return parseConfigText(readFileSync(`${examplesDir}${name}`, 'utf8'), name);
}

describe('the shipped example configs', () => {
  it('include demo, depot and workplace', () => {
    expect(examples).toEqual(expect.arrayContaining(['demo.yaml', 'depot.yaml', 'workplace.yaml']));
  });

  it.each(examples)('%s parses and validates with no problems', (name) => {
    const { config, problems } = load(name);
    expect(problems).toEqual([]);
    expect(config).toBeDefined();
  });

  it('demo.yaml is the 8-charger Demo Depot with a measured grid and two 40 A rows', () => {
    const config = load('demo.yaml').config!;
    expect(config.site).toEqual({ name: 'Demo Depot', voltage: 230, timezone: 'Europe/Berlin' });
    expect(config.grid).toMatchObject({ maxCurrent: 80, maxPower: 50000, maxExportPower: 30000, meter: 'grid', safetyMargin: 0.05 });
    expect(config.control.priority).toBe('tier');
    expect(config.chargers.map((c) => c.id)).toEqual(['CP001', 'CP002', 'CP003', 'CP004', 'CP005', 'CP006', 'CP007', 'CP008']);
    expect(config.chargers.find((c) => c.id === 'CP007')).toMatchObject({ phases: 1, phaseRotation: 'L2L3L1', maxCurrent: 32 });
    expect(config.circuits[0].children?.map((c) => [c.id, c.maxCurrent, c.chargers])).toEqual([
      ['row-a', 40, ['CP001', 'CP002', 'CP003', 'CP004']],
      ['row-b', 40, ['CP005', 'CP006', 'CP007', 'CP008']],
    ]);
    expect(config.devices.map((d) => [d.id, d.role, d.driver])).toEqual([
      ['grid', 'grid-meter', 'simulated'],
      ['pv', 'pv', 'simulated'],
      ['bess', 'battery', 'simulated'],
    ]);
    expect(new Set(config.chargers.map((c) => c.tier))).toEqual(new Set(['fleet', 'staff', 'guest']));
    expect(config.idTags.length).toBeGreaterThanOrEqual(10);
    expect([config.ocpp.port, config.http.port, config.storage.path]).toEqual([9000, 8080, 'data/ems.sqlite']);
    expect(config.demo).toMatchObject({ chargers: 8, speed: 1 });
  });

  it('depot.yaml has 20 chargers under a 3-level tree and a Modbus SunSpec grid meter', () => {
    const config = load('depot.yaml').config!;
    expect(config.chargers).toHaveLength(20);
    const depth = (nodes: typeof config.circuits): number => Math.max(0, ...nodes.map((n) => 1 + depth(n.children ?? [])));
    expect(depth(config.circuits)).toBe(3);
    const meter = config.devices.find((d) => d.id === config.grid.meter);
    expect(meter).toMatchObject({ role: 'grid-meter', driver: 'modbus', profile: 'sunspec' });
  });

  it('workplace.yaml balances 10 chargers statically, without a meter', () => {
    const config = load('workplace.yaml').config!;
    expect(config.chargers).toHaveLength(10);
    expect(config.grid.meter).toBeUndefined();
    expect(['equal', 'fcfs']).toContain(config.control.priority);
    // Shared wallbox settings come in through a YAML merge key; the visitor bays override the tier.
    expect(config.chargers.map((c) => [c.maxCurrent, c.tier])).toEqual([...Array(8).fill([16, 'staff']), [16, 'guest'], [16, 'guest']]);
  });
});
