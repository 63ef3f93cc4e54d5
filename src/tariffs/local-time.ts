// Wall-clock time in the site's timezone, DST-correct through Intl. Pure: no clock reads.

export type DayName = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
const DAYS: Record<string, DayName> = { Mon: 'mon', Tue: 'tue', Wed: 'wed', Thu: 'thu', Fri: 'fri', Sat: 'sat', Sun: 'sun' };

export interface LocalTime {
  year: number;
  /** 1..12 */
  month: number;
  day: number;
  weekday: DayName;
  /** Minutes since local midnight, 0..1439. */
  minuteOfDay: number;
  /** YYYY-MM-DD */
  date: string;
}

/** Converts instants to local wall time in one IANA timezone; build once, call often. */
export class LocalTimeZone {
  private readonly format: Intl.DateTimeFormat;

  constructor(readonly timeZone: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
  }

  at(atMs: number): LocalTime {
    const parts: Record<string, string> = {};
    for (const part of this.format.formatToParts(atMs)) parts[part.type] = part.value;
    const year = Number(parts.year);
    const month = Number(parts.month);
    const day = Number(parts.day);
    return {
      year,
      month,
      day,
      weekday: DAYS[parts.weekday] ?? 'mon',
      minuteOfDay: Number(parts.hour) * 60 + Number(parts.minute),
      date: `${parts.year}-${parts.month}-${parts.day}`,
    };
  }

  /** Billing month key, e.g. "2026-11". */
  monthKey(atMs: number): string {
    return this.at(atMs).date.slice(0, 7);
  }

  /** Offset of local time from UTC at an instant, ms (CET: +3_600_000). */
  offsetMs(atMs: number): number {
    const t = this.at(atMs);
    const asUtc = Date.UTC(t.year, t.month - 1, t.day, Math.floor(t.minuteOfDay / 60), t.minuteOfDay % 60);
    return asUtc - Math.floor(atMs / 60_000) * 60_000;
  }

  /** The instant the local clock reads `minuteOfDay` on the local day that starts at `dayStartMs`. */
  atMinuteOfDay(dayStartMs: number, minuteOfDay: number): number {
    const guess = dayStartMs + minuteOfDay * 60_000;
    return guess + (this.offsetMs(dayStartMs) - this.offsetMs(guess));
  }

  /** The instant of the most recent local midnight at or before atMs. */
  startOfDayMs(atMs: number): number {
    const t = this.at(atMs);
    const guess = Math.floor(atMs / 60_000) * 60_000 - t.minuteOfDay * 60_000;
    // Across a DST switch the day is 23 or 25 h long: correct by the offset difference.
    return guess + (this.offsetMs(atMs) - this.offsetMs(guess));
  }
}

/** Throws a RangeError for a timezone Intl does not know; callers turn it into a config error. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}
