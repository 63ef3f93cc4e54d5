// decide() gives exactly the same outputs as the code the fixture was recorded from: caps, reasons,
// the next state (hysteresis and estimate memory), headroom, findings and the site summary, over a
// series of cycles on seeded sites. It guards speed work on optimizer/ (a change that is meant to
// change results re-records the fixture, and the diff shows which sites changed):
//   UPDATE_DECIDE_GOLDEN=1 npx vitest run test/optimizer/decide-golden.test.ts
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, initialDecideState } from '../../optimizer/index.ts';
import type { ConnectorSnapshot, Decision, DecideParams, DecideState, SiteSnapshot } from '../../optimizer/index.ts';
import { arbSite } from './arb-site.ts';
import { benchSite, canonical } from './bench-site.ts';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'decide-golden.json');
const SEED = 20261206;
const SITES = 120;

const digest = (decisions: Decision[]): string => createHash('sha256').update(canonical(decisions)).digest('hex').slice(0, 16);

interface Step {
  dtMs: number;
  drawScale: number;
  lagMs: number;
  gridScale: number;
}

/** Cycles where cars draw a share of their last cap, sampled a little late, and the meter moves. */
function series(snapshot: SiteSnapshot, params: DecideParams, steps: readonly Step[]): Decision[] {
  const out: Decision[] = [];
  let state: DecideState = initialDecideState;
  let decision = decide(snapshot, params, state);
  out.push(decision);
  state = decision.nextState;
  let atMs = snapshot.atMs;
  for (const step of steps) {
    atMs += step.dtMs;
    const capByKey = new Map(decision.caps.map((c) => [`${c.chargerId}/${c.connectorId}`, c]));
    const next: SiteSnapshot = {
      ...snapshot,
      atMs,
      grid: snapshot.grid && {
        ...snapshot.grid,
        atMs: atMs - step.lagMs,
        currentA: snapshot.grid.currentA.map((a) => Math.min(a * step.gridScale, 2.5 * params.grid.maxCurrentA)) as unknown as readonly [number, number, number],
        powerW: snapshot.grid.powerW * step.gridScale,
      },
      connectors: snapshot.connectors.map((c): ConnectorSnapshot => {
        const cap = capByKey.get(`${c.chargerId}/${c.connectorId}`);
        const drawn = c.session ? (cap?.currentA ?? 0) * step.drawScale : 0;
        return { ...c, drawAtMs: atMs - step.lagMs, drawA: cap?.phases === 1 ? [drawn, 0, 0] : [drawn, drawn, drawn] };
      }),
    };
    decision = decide(next, params, state);
    out.push(decision);
    state = decision.nextState;
  }
  return out;
}

const arbSteps = fc.array(
  fc.record({
    dtMs: fc.integer({ min: 200, max: 40_000 }),
    drawScale: fc.constantFrom(0, 0.3, 0.9, 1, 1.1),
    lagMs: fc.integer({ min: 0, max: 6_000 }),
    gridScale: fc.double({ min: 0.6, max: 1.4, noNaN: true }),
  }),
  { minLength: 3, maxLength: 8 },
);

function record(): Record<string, string> {
  const hashes: Record<string, string> = {};
  const cases = fc.sample(fc.tuple(arbSite(), arbSteps, fc.constantFrom(0, 2_000, 5_000), fc.constantFrom(0, 15_000)), { seed: SEED, numRuns: SITES });
  cases.forEach(([{ snapshot, params }, steps, carResponseMs, capHoldMs], i) => {
    const p: DecideParams = { ...params, carResponseMs, capHoldMs };
    hashes[`site-${String(i).padStart(3, '0')}`] = digest(series(snapshot, p, steps));
  });
  const benchSteps: Step[] = Array.from({ length: 12 }, (_, k) => ({ dtMs: 1_000 + (k % 3) * 700, drawScale: [1, 0.9, 0, 1.1, 0.3][k % 5], lagMs: (k * 1_300) % 4_000, gridScale: 0.8 + (k % 4) * 0.15 }));
  for (const priority of ['fcfs', 'departure', 'soc', 'tier', 'equal'] as const) {
    const { params, snapshot } = benchSite(300, priority);
    hashes[`bench-300-${priority}`] = digest(series(snapshot, { ...params, capHoldMs: priority === 'equal' ? 15_000 : 0 }, benchSteps));
  }
  return hashes;
}

describe('decide() outputs against the recorded fixture', () => {
  it('gives the same caps, reasons, memory, headroom and findings on seeded sites over series of cycles', () => {
    const hashes = record();
    if (process.env.UPDATE_DECIDE_GOLDEN === '1') writeFileSync(FIXTURE, `${JSON.stringify(hashes, null, 2)}\n`);
    const expected = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, string>;
    expect(Object.keys(hashes).length).toBe(SITES + 5);
    expect(hashes).toEqual(expected);
  });

  it('is able to fail: a one-step change in one cap changes that site\'s hash', () => {
    const { params, snapshot } = benchSite(20, 'fcfs');
    const decisions = series(snapshot, params, [{ dtMs: 1_000, drawScale: 1, lagMs: 0, gridScale: 1 }]);
    const before = digest(decisions);
    const changed = structuredClone(decisions);
    changed[1].caps[3] = { ...changed[1].caps[3], currentA: changed[1].caps[3].currentA + 0.1 };
    expect(digest(changed)).not.toBe(before);
  });
});
