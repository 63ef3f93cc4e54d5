import type { Database } from 'better-sqlite3';
import type { MonthlyPeak, PeakStore } from './types.ts';

interface Row {
  month: string;
  peak_power_w: number;
  at_ms: number;
}

const toPeak = (r: Row): MonthlyPeak => ({ month: r.month, peakPowerW: r.peak_power_w, atMs: r.at_ms });

/** The highest import of each billing month (the base of demand charges). */
export function createPeakStore(db: Database): PeakStore {
  const byMonth = db.prepare<[string], Row>('SELECT * FROM monthly_peaks WHERE month = ?');
  const raise = db.prepare(`
    INSERT INTO monthly_peaks (month, peak_power_w, at_ms) VALUES (?, ?, ?)
    ON CONFLICT (month) DO UPDATE SET peak_power_w = excluded.peak_power_w, at_ms = excluded.at_ms
    WHERE excluded.peak_power_w > monthly_peaks.peak_power_w`);
  return {
    offer(month, powerW, atMs) {
      if (Number.isFinite(powerW)) raise.run(month, powerW, atMs);
      const row = byMonth.get(month);
      return row ? toPeak(row) : { month, peakPowerW: 0, atMs };
    },
    get(month) {
      const row = byMonth.get(month);
      return row ? toPeak(row) : undefined;
    },
    current(atMs, timeZone) {
      const month = billingMonth(atMs, timeZone);
      const row = byMonth.get(month);
      return { month, peak: row ? toPeak(row) : undefined };
    },
  };
}

/** "2026-11" in the site's time zone. */
export function billingMonth(atMs: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit' }).formatToParts(atMs);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '00';
  return `${get('year')}-${get('month')}`;
}
