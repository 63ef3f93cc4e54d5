import { beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { decideParamsFromConfig } from '../../src/control/decide-params.ts';
import { HighsSolver } from '../../src/planner/solver-highs.ts';
import { parseReplaySessions, SessionsFileError } from '../../src/simulate/replay-sessions.ts';
import { replay, type ReplayResult } from '../../src/simulate/replay.ts';
import { generateScenario } from '../fixtures/scenarios/generate-scenario.ts';

describe('replay of a generated depot day', () => {
  const scenario = generateScenario('depot', 1);
  const config = configSchema.parse(scenario.config);
  const params = decideParamsFromConfig(config);
  const sessions = parseReplaySessions(scenario.sessions, config);
  let controlled: ReplayResult;
  let uncontrolled: ReplayResult;
  let equalShare: ReplayResult;

  beforeAll(async () => {
    controlled = await replay({ config, params, sessions, strategy: 'controlled', solver: new HighsSolver() });
    uncontrolled = await replay({ config, params, sessions, strategy: 'uncontrolled' });
    equalShare = await replay({ config, params, sessions, strategy: 'equal-share' });
  }, 120_000);

  it('meets the sessions by departure under the EMS, knowing only what the live system knows', () => {
    // The replayed building load deviates from the configured curve the planner sees (seeded).
    expect(controlled.kpis.sessionSuccessRate).toBeGreaterThanOrEqual(0.95);
    expect(controlled.kpis.unmetWh).toBeLessThan(0.002 * controlled.kpis.energyRequestedWh);
    expect(controlled.failedPlans).toBe(0);
  });

  it('never exceeds a limit under the EMS or static equal share, while uncontrolled charging does', () => {
    expect(controlled.kpis.limitViolations).toBe(0);
    expect(equalShare.kpis.limitViolations).toBe(0);
    expect(uncontrolled.kpis.limitViolations).toBeGreaterThan(0);
  });

  it('cuts the peak by at least 40 % and the total cost by at least 20 % against uncontrolled charging', () => {
    expect(controlled.kpis.peakW).toBeLessThanOrEqual(0.6 * uncontrolled.kpis.peakW);
    expect(controlled.kpis.totalCost).toBeLessThanOrEqual(0.8 * uncontrolled.kpis.totalCost);
  });

  it('beats static equal share on both peak and cost', () => {
    expect(controlled.kpis.peakW).toBeLessThan(equalShare.kpis.peakW);
    expect(controlled.kpis.totalCost).toBeLessThan(equalShare.kpis.totalCost);
  });

  it('accounts every requested Wh as delivered or unmet', () => {
    for (const r of [controlled, uncontrolled, equalShare]) {
      expect(r.kpis.energyDeliveredWh + r.kpis.unmetWh).toBeCloseTo(r.kpis.energyRequestedWh, 3);
      expect(r.sessions).toHaveLength(sessions.length);
    }
  });
});

describe('sessions file', () => {
  const config = configSchema.parse(generateScenario('workplace', 2).config);
  const good = { id: 'a', chargerId: 'W01', connectorId: 1, idTag: 'X', arrival: '2026-11-24T08:00:00Z', departure: '2026-11-24T16:00:00Z', energyWh: 20_000, maxPowerW: 11_000 };

  it('names each bad entry by its index and field', () => {
    const problems = (() => {
      try {
        parseReplaySessions([good, { ...good, id: 'b', chargerId: 'NOPE' }, { ...good, id: 'c', chargerId: 'W02', departure: '2026-11-24T07:00:00Z' }, { ...good, id: 'd', chargerId: 'W03', arrival: 'soon' }], config);
        return [];
      } catch (error) {
        expect(error).toBeInstanceOf(SessionsFileError);
        return (error as SessionsFileError).problems;
      }
    })();
    expect(problems).toEqual(['sessions[3].arrival: not an ISO 8601 time']);
  });

  it('rejects an unknown charger, a departure before arrival and two cars on one connector at once', () => {
    expect(() => parseReplaySessions([good, { ...good, id: 'b', chargerId: 'NOPE' }, { ...good, id: 'c', chargerId: 'W02', departure: '2026-11-24T07:00:00Z' }, { ...good, id: 'e', arrival: '2026-11-24T12:00:00Z' }], config)).toThrow(
      /sessions\[1\]\.chargerId: no charger "NOPE"[\s\S]*sessions\[2\]\.departure: must be after arrival[\s\S]*sessions\[3\]\.arrival: e arrives at W01\/1 before a \(sessions\[0\]\) leaves/,
    );
  });
});
