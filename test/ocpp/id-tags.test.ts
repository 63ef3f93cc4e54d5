import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { IdTagDirectory } from '../../src/ocpp/id-tags.ts';
import { nextLocalTimeMs, zoneOffsetMs } from '../../src/ocpp/local-time.ts';

describe('local departure times', () => {
  it.each([
    ['2026-11-24T05:00:00Z', '07:30', 'Europe/Berlin', '2026-11-24T06:30:00Z'],
    ['2026-11-24T07:00:00Z', '07:30', 'Europe/Berlin', '2026-11-25T06:30:00Z'],
    ['2026-07-01T04:00:00Z', '07:30', 'Europe/Berlin', '2026-07-01T05:30:00Z'],
    ['2026-03-28T12:00:00Z', '07:30', 'Europe/Berlin', '2026-03-29T05:30:00Z'],
    ['2026-11-24T23:00:00Z', '00:15', 'UTC', '2026-11-25T00:15:00Z'],
    ['2026-11-24T12:00:00Z', '18:00', 'America/New_York', '2026-11-24T23:00:00Z'],
  ])('from %s, %s in %s is %s', (from, hhmm, zone, expected) => {
    expect(new Date(nextLocalTimeMs(Date.parse(from), hhmm, zone)).toISOString()).toBe(new Date(expected).toISOString());
  });

  it('knows zone offsets', () => {
    expect(zoneOffsetMs(Date.parse('2026-01-15T12:00:00Z'), 'Europe/Berlin')).toBe(3_600_000);
    expect(zoneOffsetMs(Date.parse('2026-07-15T12:00:00Z'), 'Europe/Berlin')).toBe(7_200_000);
  });

  it('refuses a bad time or zone with a RangeError', () => {
    expect(() => nextLocalTimeMs(0, '25:00', 'UTC')).toThrow(RangeError);
    expect(() => nextLocalTimeMs(0, '07:00', 'Mars/Olympus')).toThrow(RangeError);
  });
});

describe('idTag directory', () => {
  const config = (extra: object = {}) =>
    configSchema.parse({
      grid: { maxCurrent: 63 },
      site: { timezone: 'Europe/Berlin' },
      control: { tiers: { fleet: 3, staff: 2, visitor: 0 }, ...extra },
      idTags: [{ idTag: 'AbC123', tier: 'fleet', departure: '06:00', energyNeedWh: 30000 }],
    });

  it('matches tags case-insensitively and gives their tier', () => {
    expect(new IdTagDirectory(config()).authorize('abc123')).toEqual({ status: 'Accepted', tier: 'fleet', known: true });
  });

  it('refuses unknown tags, or accepts them at the lowest tier', () => {
    expect(new IdTagDirectory(config()).authorize('nope')).toEqual({ status: 'Invalid', tier: 'visitor', known: false });
    expect(new IdTagDirectory(config({ acceptUnknownIdTags: true })).authorize('nope').status).toBe('Accepted');
  });

  it('computes session defaults: tag tier, else charger tier, else lowest; departure in the site zone', () => {
    const dir = new IdTagDirectory(config());
    const startMs = Date.parse('2026-11-24T18:00:00Z');
    expect(dir.sessionDefaults('ABC123', 'staff', startMs)).toEqual({ tier: 'fleet', departureAtMs: Date.parse('2026-11-25T05:00:00Z'), energyNeedWh: 30000 });
    expect(dir.sessionDefaults('other', 'staff', startMs)).toEqual({ tier: 'staff' });
    expect(dir.sessionDefaults('other', undefined, startMs)).toEqual({ tier: 'visitor' });
  });
});
