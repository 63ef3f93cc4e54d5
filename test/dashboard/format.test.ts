import { describe, expect, it } from 'vitest';
import {
  batteryDirection,
  formatCurrent,
  formatDuration,
  formatEnergy,
  formatMoney,
  formatPower,
  gridDirection,
  maxPhase,
  SiteTime,
  statusLook,
} from '../../dashboard/src/format.ts';

describe('dashboard formatting', () => {
  it.each([
    [850, '850 W'],
    [-850, '-850 W'],
    [12_345, '12.3 kW'],
    [150_000, '150 kW'],
    [1_250_000, '1.25 MW'],
    [null, '—'],
    [Number.NaN, '—'],
  ])('shows %s W as %s', (powerW, text) => {
    expect(formatPower(powerW)).toBe(text);
  });

  it('shows currents with one decimal and energy in kWh above 1 kWh', () => {
    expect(formatCurrent(16)).toBe('16.0 A');
    expect(formatCurrent(250)).toBe('250 A');
    expect(formatEnergy(950)).toBe('950 Wh');
    expect(formatEnergy(12_440)).toBe('12.4 kWh');
  });

  it('shows money in the currency, with more digits for prices, and a dash for nothing', () => {
    expect(formatMoney(2.345, 'EUR')).toBe('€2.35');
    expect(formatMoney(0.3125, 'EUR', 3)).toBe('€0.313');
    expect(formatMoney(12, 'CHF').replace(/\s/g, ' ')).toBe('CHF 12.00');
    expect(formatMoney(1.5, 'not-a-code')).toBe('1.50 not-a-code');
    expect(formatMoney(null, 'EUR')).toBe('—');
  });

  it('gives every connector status a word and a symbol, so colour is never the only cue', () => {
    for (const status of ['Available', 'Preparing', 'Charging', 'SuspendedEVSE', 'SuspendedEV', 'Finishing', 'Reserved', 'Unavailable', 'Faulted', 'Offline', 'SomethingNew']) {
      const look = statusLook(status);
      expect(look.label.length).toBeGreaterThan(0);
      expect(look.icon.length).toBeGreaterThan(0);
    }
    expect(statusLook('Faulted')).toMatchObject({ label: 'Fault', tone: 'bad' });
  });

  it('says which way grid and battery power flow', () => {
    expect(gridDirection(5000)).toBe('Importing');
    expect(gridDirection(-5000)).toBe('Exporting');
    expect(gridDirection(10)).toBe('Balanced');
    expect(gridDirection(null)).toBe('No reading');
    expect(batteryDirection(3000)).toBe('Discharging');
    expect(batteryDirection(-3000)).toBe('Charging');
  });

  it('shows durations in minutes, hours or days', () => {
    expect(formatDuration(45 * 60_000)).toBe('45 min');
    expect(formatDuration(200 * 60_000)).toBe('3 h 20 min');
    expect(formatDuration(52 * 3_600_000)).toBe('2 d 4 h');
  });

  it('takes the highest phase of a draw given per phase or as one figure', () => {
    expect(maxPhase([3, 16.5, 2])).toBe(16.5);
    expect(maxPhase(7)).toBe(7);
    expect(maxPhase(null)).toBe(0);
  });
  // Instants written in UTC; the site is in Berlin (UTC+1 in winter, +2 in summer).
  const berlin = new SiteTime('Europe/Berlin');
  const utc = (iso: string) => Date.parse(`${iso}Z`);

  it("round-trips a departure through the datetime-local input in the site's time, not the browser's", () => {
    const atMs = utc('2026-11-25T06:30');
    expect(berlin.toInput(atMs)).toBe('2026-11-25T07:30');
    expect(berlin.fromInput('2026-11-25T07:30')).toBe(atMs);
    expect(new SiteTime('America/New_York').fromInput('2026-11-25T07:30')).toBe(utc('2026-11-25T12:30'));
    expect(new SiteTime('Asia/Kolkata').toInput(atMs)).toBe('2026-11-25T12:00');
    expect(berlin.fromInput('')).toBeNull();
    expect(berlin.fromInput('tomorrow')).toBeNull();
    // Summer time: 07:30 in Berlin is 05:30 UTC; across the spring gap 02:30 does not exist and reads as 03:30.
    expect(berlin.fromInput('2026-07-01T07:30')).toBe(utc('2026-07-01T05:30'));
    expect(berlin.toInput(berlin.fromInput('2026-03-29T02:30')!)).toBe('2026-03-29T03:30');
    // The autumn hour that happens twice: the input round-trips to the same wall time.
    expect(berlin.toInput(berlin.fromInput('2026-10-25T02:30')!)).toBe('2026-10-25T02:30');
  });

  it("takes the site's day and midnight for date inputs (today for a laptop in New York is not the site's)", () => {
    // 23:30 UTC on 6 Dec: still the 6th in New York, already the 7th in Berlin.
    const late = utc('2026-12-06T23:30');
    expect(berlin.isoDay(late)).toBe('2026-12-07');
    expect(new SiteTime('America/New_York').isoDay(late)).toBe('2026-12-06');
    expect(berlin.dayStartMs('2026-12-07')).toBe(utc('2026-12-06T23:00'));
    expect(berlin.dayStartMs('2026-07-01')).toBe(utc('2026-06-30T22:00'));
    expect(berlin.dayStartMs('07.12.2026')).toBeNull();
  });

  it("shows times on the site's today as HH:MM and further ones with the day", () => {
    const now = utc('2026-11-24T11:00');
    expect(berlin.time(utc('2026-11-24T06:05'), now)).toBe('07:05');
    expect(berlin.time(utc('2026-11-25T06:05'), now)).toBe('Wed 07:05');
    expect(berlin.time(utc('2026-01-02T06:05'), now)).toBe('2026-01-02 07:05');
    expect(berlin.time(null, now)).toBe('—');
    // 23:30 UTC on the 23rd is 00:30 on the 24th in Berlin: the site's today.
    expect(berlin.time(utc('2026-11-23T23:30'), now)).toBe('00:30');
  });

  it('falls back to the browser zone for an unknown or missing zone, without throwing', () => {
    const browser = Intl.DateTimeFormat().resolvedOptions().timeZone;
    expect(new SiteTime('Mars/Olympus').timeZone).toBe(browser);
    expect(new SiteTime(undefined).timeZone).toBe(browser);
    expect(new SiteTime('UTC').clock(utc('2026-12-06T16:05:09'))).toBe('16:05:09');
  });

  it('labels chart time axes in 24 h site time with the ISO date on the first label and at each new day', () => {
    const at = (iso: string) => utc(iso) / 1000;
    expect(berlin.axisTimes([at('2026-12-06T15:00'), at('2026-12-06T19:00'), at('2026-12-06T23:00'), at('2026-12-07T03:00')])).toEqual(['16:00\n2026-12-06', '20:00', '00:00\n2026-12-07', '04:00']);
    // Ticks 10 s apart would all read the same minute: they show seconds.
    expect(berlin.axisTimes([at('2026-12-06T22:40:00'), at('2026-12-06T22:40:10'), at('2026-12-06T22:40:20')])).toEqual(['23:40:00\n2026-12-06', '23:40:10', '23:40:20']);
    for (const label of berlin.axisTimes([at('2026-12-06T11:00'), at('2026-12-06T12:00'), at('2026-12-06T15:00')])) expect(label).not.toMatch(/am|pm|\//i);
    expect(berlin.legendTime(at('2026-12-06T15:15'))).toBe('2026-12-06 16:15');
    expect(berlin.legendTime(null)).toBe('—');
  });

  it('shows the clock in 24 h and the peak with a date and a time', () => {
    expect(berlin.clock(utc('2026-12-06T15:05:09'))).toBe('16:05:09');
    expect(berlin.clock(Number.NaN)).toBe('—');
    const now = utc('2026-12-06T11:00');
    expect(berlin.dateTime(utc('2026-12-06T02:30'), now)).toBe('Sun 6 Dec 03:30');
    expect(berlin.dateTime(utc('2025-11-24T02:30'), now)).toBe('2025-11-24 03:30');
    // New Year's Eve at 23:30 UTC is already the new year in Berlin.
    expect(berlin.dateTime(utc('2026-12-31T23:30'), utc('2027-01-01T12:00'))).toBe('Fri 1 Jan 00:30');
  });
});
