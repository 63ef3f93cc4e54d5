// What decide() is told about the site from the config file.
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { decideParamsFromConfig } from '../../src/control/decide-params.ts';
import { generateScenario } from '../fixtures/scenarios/generate-scenario.ts';

describe('decide params from the config', () => {
  it('counts a site whose PV is described only by its forecast as one that can push power out', () => {
    // The generated workplace has PV (planner.pvForecastW) but no PV device: at noon the grid meter
    // reads less than the chargers draw. Treated as a site that cannot export, every such reading
    // was "implausible" and the EMS fell to its failsafe current for hours (issue #11 workplace bar).
    const scenario = generateScenario('workplace', 1);
    const config = configSchema.parse(scenario.config);
    expect(config.devices.some((d) => d.role === 'pv')).toBe(false);
    expect(decideParamsFromConfig(config).grid.canExport).toBe(true);
    const noPv = configSchema.parse({ ...scenario.config, planner: { ...(scenario.config.planner as object), pvForecastW: undefined } });
    expect(decideParamsFromConfig(noPv).grid.canExport).toBe(false);
  });
});
