// Wall-clock time in the site's timezone, DST-correct through Intl. Pure: no clock reads.

export type DayName = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
/** By Date#getUTCDay(): 0 = Sunday. */
const WEEKDAYS: readonly DayName[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const QUARTER_MS = 15 * 60_000;

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
    // Intl is slow (~10 µs a call) and a replay asks millions of times: the zone's offset is taken
    // from Intl once per quarter hour (every DST switch falls on one) and the fields follow from it.
    const local = new Date(atMs + this.quarterOffsetMs(atMs));
    const year = local.getUTCFullYear();
    const month = local.getUTCMonth() + 1;
    const day = local.getUTCDate();
    const two = (n: number) => String(n).padStart(2, '0');
    return {
      year,
      month,
      day,
      weekday: WEEKDAYS[local.getUTCDay()]!,
      minuteOfDay: local.getUTCHours() * 60 + local.getUTCMinutes(),
      date: `${String(year).padStart(4, '0')}-${two(month)}-${two(day)}`,
    };
  }

  private readonly offsets = new Map<number, number>();

  /** Local minus UTC at the start of atMs's quarter hour, ms, from Intl (cached). */
  private quarterOffsetMs(atMs: number): number {
    const quarter = Math.floor(atMs / QUARTER_MS);
    let offset = this.offsets.get(quarter);
    if (offset === undefined) {
      const startMs = quarter * QUARTER_MS;
      const parts: Record<string, string> = {};
      for (const part of this.format.formatToParts(startMs)) parts[part.type] = part.value;
      offset = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute)) - startMs;
      if (this.offsets.size >= 100_000) this.offsets.clear();
      this.offsets.set(quarter, offset);
    }
    return offset;
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
