// The error about limits that uncontrollable chargers alone overload: once per limit, however many
// chargers turn out uncontrollable after it, and never every id on the site in one line. (It was
// logged again for every overloaded limit, with every uncontrollable id, each time one more charger
// was found: O(n²) bytes, ~57 MB within minutes at 1,000 chargers, held in the log's write buffer.)
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { Bus } from '../../src/bus.ts';
import { ManualClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { SiteHoldings } from '../../src/ocpp/site-holdings.ts';
import { capturingLogger } from './system.ts';

const ids = Array.from({ length: 60 }, (_, i) => `CP${String(i + 1).padStart(2, '0')}`);
const config = configSchema.parse({
  grid: { maxCurrent: 400, safetyMargin: 0 },
  circuits: [
    { id: 'row-a', maxCurrent: 100, chargers: ids.slice(0, 30) },
    { id: 'row-b', maxCurrent: 100, chargers: ids.slice(30) },
  ],
  chargers: ids.map((id) => ({ id, maxCurrent: 32 })),
});

describe('limits overloaded by chargers that cannot be capped', () => {
  it('are logged once each, with the count and at most 20 ids, however many chargers follow', async () => {
    const { log, lines } = await capturingLogger();
    const holdings = new SiteHoldings(config, new ManualClock(1_000_000), new Bus(silentLogger), log);
    for (const id of ids) holdings.markUncontrollable(id, 'drew above its cap', log);
    holdings.dispose();
    const overloads = lines.filter((l) => /alone can exceed this limit/.test(l.msg));
    // row-a overloads at its 4th charger (128 A > 100 A), the grid at the 13th (416 A), row-b at the 34th.
    expect(overloads.map((l) => l.limit)).toEqual(['row-a', 'grid', 'row-b']);
    expect(overloads.map((l) => l.uncontrollable)).toEqual([4, 13, 34]);
    for (const line of overloads) expect(line.chargers.length).toBeLessThanOrEqual(20);
    // Every charger still gets its own warning, with its id.
    expect(lines.filter((l) => /charger cannot be capped/.test(l.msg))).toHaveLength(ids.length);
  });
});
