import { describe, expect, it } from 'vitest';
import { DailyProfile } from '../../src/planner/daily-profile.ts';
import { LocalTimeZone } from '../../src/tariffs/local-time.ts';

const zone = new LocalTimeZone('Europe/Berlin');
const DAY1 = Date.parse('2026-11-23T23:00:00Z'); // local midnight
const H = 3_600_000;

describe('forecast from history', () => {
  it('knows nothing before it has seen a time of day', () => {
    expect(new DailyProfile(zone).valueAt(DAY1 + 12 * H)).toBeUndefined();
  });

  it('averages each local quarter hour and blends a new day in with the smoothing weight', () => {
    const p = new DailyProfile(zone, 0.5);
    // Day 1 at 12:00-12:15 local: 10 kW; day 2: 20 kW.
    for (let m = 0; m < 15; m++) p.record(DAY1 + 12 * H + m * 60_000, 10_000);
    p.record(DAY1 + 13 * H, 0);
    expect(p.valueAt(DAY1 + 24 * H + 12 * H + 5 * 60_000)).toBe(10_000);
    for (let m = 0; m < 15; m++) p.record(DAY1 + 36 * H + m * 60_000, 20_000);
    p.record(DAY1 + 37 * H, 0);
    expect(p.valueAt(DAY1 + 48 * H + 12 * H)).toBe(15_000);
    expect(p.coverage()).toBe(2);
  });
});
