// The fuse tree's per-phase figures on a North American site: single-phase chargers wired between
// two lines (208 V L-L on a 120/208 V service). A line carries the phasor sum of the two loads on
// it, not the plain sum (issue #11: "per-phase views show line currents").
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { circuitViews } from '../../src/api/circuit-view.ts';
import { Bus } from '../../src/bus.ts';
import { silentLogger } from '../../src/log.ts';
import { SiteState } from '../../src/state/site-state.ts';

function site(draws: Record<string, number>) {
  const config = configSchema.parse({
    site: { voltage: 120, timezone: 'America/New_York' },
    grid: { maxCurrent: 100 },
    circuits: [{ id: 'panel', maxCurrent: 40, chargers: ['AB', 'BC', 'CA'] }],
    chargers: [
      { id: 'AB', maxCurrent: 32, phases: 1, connection: 'L1-L2' },
      { id: 'BC', maxCurrent: 32, phases: 1, connection: 'L2-L3' },
      { id: 'CA', maxCurrent: 32, phases: 1, connection: 'L3-L1' },
    ],
  });
  const bus = new Bus(silentLogger);
  const state = new SiteState(config, bus);
  for (const [chargerId, amps] of Object.entries(draws)) bus.emit('connector.meter', { chargerId, connectorId: 1, atMs: 0, currentA: [amps, 0, 0] });
  return circuitViews(state, config);
}

describe('circuit view of line-to-line chargers', () => {
  it('shows exact line currents: 16 A L1-L2 and 10 A L2-L3 put 16, 22.7 and 10 A on L1, L2, L3 (hand-computed)', () => {
    // |I_L2| = sqrt(16² + 10² + 16·10) = sqrt(516) = 22.72 A; L1 and L3 carry one load each.
    const panel = site({ AB: 16, BC: 10 }).children.find((c) => c.id === 'panel')!;
    expect(panel.evLoadA).toEqual([16, 22.7, 10]);
  });

  it('shows three equal line-to-line loads as √3 times each on every line, not twice', () => {
    const root = site({ AB: 10, BC: 10, CA: 10 });
    expect(root.evLoadA).toEqual([17.3, 17.3, 17.3]);
    expect(root.children[0].evLoadA).toEqual([17.3, 17.3, 17.3]);
  });
});
