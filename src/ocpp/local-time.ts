const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

function wallClock(atMs: number, timeZone: string): { year: number; month: number; day: number; utcOfWallMs: number } {
  const parts = Object.fromEntries(formatter(timeZone).formatToParts(new Date(atMs)).map((p) => [p.type, p.value]));
  const [year, month, day] = [Number(parts.year), Number(parts.month), Number(parts.day)];
  const utcOfWallMs = Date.UTC(year, month - 1, day, Number(parts.hour) % 24, Number(parts.minute), Number(parts.second));
  return { year, month, day, utcOfWallMs };
}

/** Offset of the zone's wall clock from UTC at an instant, ms (Berlin in winter: +3 600 000). */
export function zoneOffsetMs(atMs: number, timeZone: string): number {
  return wallClock(atMs, timeZone).utcOfWallMs - Math.floor(atMs / 1000) * 1000;
}

/**
 * The first instant after `fromMs` when the wall clock in `timeZone` reads `hhmm` ("07:30"):
 * today if that is still ahead, else tomorrow. Throws RangeError for an unknown zone or a bad time.
 */
export function nextLocalTimeMs(fromMs: number, hhmm: string, timeZone: string): number {
  const match = /^(\d{2}):(\d{2})$/.exec(hhmm);
  const hour = Number(match?.[1]);
  const minute = Number(match?.[2]);
  if (!match || hour > 23 || minute > 59) throw new RangeError(`not a time of day (HH:MM): ${hhmm}`);
  const today = wallClock(fromMs, timeZone);
  for (let dayOffset = 0; dayOffset <= 2; dayOffset++) {
    const wallMs = Date.UTC(today.year, today.month - 1, today.day + dayOffset, hour, minute);
    // Twice, so an instant across a DST change gets the offset that holds at the result.
    let atMs = wallMs - zoneOffsetMs(wallMs, timeZone);
    atMs = wallMs - zoneOffsetMs(atMs, timeZone);
    if (atMs > fromMs) return atMs;
  }
  throw new RangeError(`no ${hhmm} in ${timeZone} within two days of ${new Date(fromMs).toISOString()}`);
}
