import { describe, expect, it } from 'vitest';
import {
  batteryDirection,
  formatAxisTimes,
  formatClock,
  formatDateTime,
  formatLegendTime,
  formatCurrent,
  formatDuration,
  formatEnergy,
  formatMoney,
  formatPower,
  formatTime,
  fromLocalInput,
  gridDirection,
  maxPhase,
  statusLook,
  toLocalInput,
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

  it('round-trips a departure through the datetime-local input in local time', () => {
    const atMs = new Date(2026, 10, 25, 7, 30).getTime();
    expect(toLocalInput(atMs)).toBe('2026-11-25T07:30');
    expect(fromLocalInput('2026-11-25T07:30')).toBe(atMs);
    expect(fromLocalInput('')).toBeNull();
    expect(fromLocalInput('tomorrow')).toBeNull();
  });

  it('shows times today as HH:MM and further ones with the day', () => {
    const now = new Date(2026, 10, 24, 12, 0).getTime();
    expect(formatTime(new Date(2026, 10, 24, 7, 5).getTime(), now)).toBe('07:05');
    expect(formatTime(new Date(2026, 10, 25, 7, 5).getTime(), now)).toBe('Wed 07:05');
    expect(formatTime(new Date(2026, 0, 2, 7, 5).getTime(), now)).toBe('2026-01-02 07:05');
    expect(formatTime(null, now)).toBe('—');
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
  it('labels chart time axes in 24 h with the ISO date on the first label and at each new day', () => {
    const at = (d: number, h: number, m = 0, sec = 0) => new Date(2026, 11, d, h, m, sec).getTime() / 1000;
    expect(formatAxisTimes([at(6, 16), at(6, 20), at(7, 0), at(7, 4)])).toEqual(['16:00\n2026-12-06', '20:00', '00:00\n2026-12-07', '04:00']);
    // Ticks 10 s apart would all read the same minute: they show seconds.
    expect(formatAxisTimes([at(6, 23, 40, 0), at(6, 23, 40, 10), at(6, 23, 40, 20)])).toEqual(['23:40:00\n2026-12-06', '23:40:10', '23:40:20']);
    for (const label of formatAxisTimes([at(6, 12), at(6, 13), at(6, 16)])) expect(label).not.toMatch(/am|pm|\//i);
    expect(formatLegendTime(at(6, 16, 15))).toBe('2026-12-06 16:15');
    expect(formatLegendTime(null)).toBe('—');
  });

  it('shows the clock in 24 h and the peak with a date and a time', () => {
    expect(formatClock(new Date(2026, 11, 6, 16, 5, 9).getTime())).toBe('16:05:09');
    expect(formatClock(Number.NaN)).toBe('—');
    const now = new Date(2026, 11, 6, 12).getTime();
    expect(formatDateTime(new Date(2026, 11, 6, 3, 30).getTime(), now)).toBe('Sun 6 Dec 03:30');
    expect(formatDateTime(new Date(2025, 10, 24, 3, 30).getTime(), now)).toBe('2025-11-24 03:30');
  });
});
