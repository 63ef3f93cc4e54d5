// #9, property case 1/40 (scenarios/level-set-at-a-start.json): a building level set at a start
// stands until the cars' samples show their draw, and then the raises must not wait another
// capHoldMs for it. The meter is confirmed only by the first reading after the cars start (it read
// 0/0/0 before: nothing anchors), so the first level is that reading less the cars' least draw, 0
// for cars not yet sampled: 5.2 A per phase on a site whose building draws 0 A. It stands (the
// bracket allows it) until the last car's charger, one that refuses TriggerMessage and reports every
// 33 s, sends its first sample at 29.4 s; the level falls to 0.5 A then and the estimate 5 s later
// (buildingHoldMs). The meter never read that 5.2 A as building load, yet main held every raise
// another capHoldMs for "the other load coming back to its level of the last 10 s" (9.2 s after
// the fall; now 2.2 s, when the cap hold of the last change ends).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scenarioFromData } from '../../plant/index.ts';
import { watchedEmsStep } from './ems-step.ts';
import { runClosedLoop } from './harness.ts';
import { PROPERTY_OPTIONS } from './property-run.ts';

const file = join(dirname(fileURLToPath(import.meta.url)), 'scenarios', 'level-set-at-a-start.json');

describe('a building level set at a start, disproved by the cars\' samples (property 1/40)', () => {
  // Known failure (#9): the fix (a level that fell while the reading did not leaves no peak, session
  // 15) was taken out: a grid meter stuck at one value while the cars' samples rise looks exactly like
  // it, and measured-cases' "grid meter is stuck at 20 A while the cars start" went from 0.0 to
  // 124.5 A·s EMS-caused (the peak rule is what holds that case). A fix must tell a meter that moved.
  it.fails('raises the caps once the estimate falls, without waiting capHoldMs for a level the meter never showed', () => {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { scenario: unknown };
    const scenario = scenarioFromData(saved.scenario);
    const cycles: { t: number; buildingA: number; capsA: number }[] = [];
    runClosedLoop(scenario, {
      ...PROPERTY_OPTIONS,
      createStep: watchedEmsStep((d, _state, atMs) => {
        if (!d.failsafe) cycles.push({ t: atMs - scenario.startAtMs, buildingA: Math.max(...d.headroom.buildingA), capsA: d.caps.reduce((sum, c) => sum + c.currentA, 0) });
      }),
    });
    // The level set at the start (about 5.2 A) and the moment the estimate fell below 1 A.
    const high = cycles.find((e) => e.buildingA > 4);
    expect(high, 'a level set at the start above 4 A').toBeDefined();
    const fall = cycles.find((e) => e.t > high!.t && e.buildingA < 1);
    expect(fall, 'the estimate falls once every car is sampled').toBeDefined();
    // The 4.7 A the fall frees, most of it handed out: the caps' sum 3 A above the one at the fall.
    const raised = cycles.find((e) => e.t >= fall!.t && e.capsA >= fall!.capsA + 3);
    expect(raised, 'the caps raised after the fall').toBeDefined();
    // Not met on today's main, with or without the peak reset that was taken out (12 s with it).
    expect(raised!.t - fall!.t).toBeLessThanOrEqual(5_000);
  });
});
