// How numbers, times and statuses read on the pages. Pure; every status gets a word and a symbol
// so nothing depends on colour alone.

export type Tone = 'ok' | 'active' | 'idle' | 'warn' | 'bad';

export interface StatusLook {
  label: string;
  icon: string;
  tone: Tone;
}

const STATUS: Record<string, StatusLook> = {
  Available: { label: 'Available', icon: '○', tone: 'idle' },
  Preparing: { label: 'Plugged in', icon: '◐', tone: 'ok' },
  Charging: { label: 'Charging', icon: '⚡', tone: 'active' },
  SuspendedEVSE: { label: 'Held by site', icon: '‖', tone: 'warn' },
  SuspendedEV: { label: 'Car paused', icon: '‖', tone: 'ok' },
  Finishing: { label: 'Finishing', icon: '◑', tone: 'ok' },
  Reserved: { label: 'Reserved', icon: '◇', tone: 'idle' },
  Unavailable: { label: 'Unavailable', icon: '⊘', tone: 'warn' },
  Faulted: { label: 'Fault', icon: '⚠', tone: 'bad' },
  Offline: { label: 'Offline', icon: '✕', tone: 'bad' },
};

export function statusLook(status: string): StatusLook {
  return STATUS[status] ?? { label: status || 'Unknown', icon: '?', tone: 'warn' };
}

const dash = '—';

/** 850 W, 12.3 kW, 1.25 MW; null shows a dash. */
export function formatPower(powerW: number | null | undefined): string {
  if (powerW === null || powerW === undefined || !Number.isFinite(powerW)) return dash;
  const abs = Math.abs(powerW);
  if (abs < 1000) return `${Math.round(powerW)} W`;
  if (abs < 1_000_000) return `${(powerW / 1000).toFixed(abs < 100_000 ? 1 : 0)} kW`;
  return `${(powerW / 1_000_000).toFixed(2)} MW`;
}

export function formatCurrent(currentA: number | null | undefined): string {
  if (currentA === null || currentA === undefined || !Number.isFinite(currentA)) return dash;
  return `${currentA.toFixed(Math.abs(currentA) < 100 ? 1 : 0)} A`;
}

export function formatEnergy(energyWh: number | null | undefined): string {
  if (energyWh === null || energyWh === undefined || !Number.isFinite(energyWh)) return dash;
  return Math.abs(energyWh) < 1000 ? `${Math.round(energyWh)} Wh` : `${(energyWh / 1000).toFixed(1)} kWh`;
}

export function formatPercent(pct: number | null | undefined): string {
  if (pct === null || pct === undefined || !Number.isFinite(pct)) return dash;
  return `${Math.round(pct)} %`;
}

/** "€2.35", "€0.312" for small per-kWh prices; a code the browser does not know shows as "2.35 XYZ". */
export function formatMoney(amount: number | null | undefined, currency: string | null | undefined, digits = 2): string {
  if (amount === null || amount === undefined || !Number.isFinite(amount)) return dash;
  try {
    return new Intl.NumberFormat('en-GB', { style: 'currency', currency: currency || 'EUR', minimumFractionDigits: digits, maximumFractionDigits: digits }).format(amount);
  } catch {
    return `${amount.toFixed(digits)} ${currency ?? ''}`.trim();
  }
}

const pad = (n: number) => String(n).padStart(2, '0');
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Wall-clock reading of an instant in one zone (month 1-12). */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/**
 * Every time on the page, read in the site's time zone (`site.timezone` of GET /api/v1/state), so a
 * manager on a laptop in another zone sees the site's clock: 24 h, ISO-like dates. Also what native
 * date inputs mean: their wall time is site time. An unknown or missing zone falls back to the
 * browser's. Pure apart from Intl; build one per zone.
 */
export class SiteTime {
  readonly timeZone: string;
  private readonly fields: Intl.DateTimeFormat;

  constructor(timeZone?: string | null) {
    this.fields = SiteTime.formatter(timeZone ?? undefined) ?? SiteTime.formatter(undefined)!;
    this.timeZone = this.fields.resolvedOptions().timeZone;
  }

  private static formatter(timeZone: string | undefined): Intl.DateTimeFormat | null {
    try {
      return new Intl.DateTimeFormat('en-GB', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    } catch {
      return null;
    }
  }

  /** The site's wall clock at an instant. */
  wall(atMs: number): WallTime {
    const out: Record<string, number> = {};
    for (const part of this.fields.formatToParts(atMs)) if (part.type !== 'literal') out[part.type] = Number(part.value);
    return { year: out.year, month: out.month, day: out.day, hour: out.hour % 24, minute: out.minute, second: out.second };
  }

  /** Site time minus UTC at an instant, ms (+3,600,000 in Berlin in winter). */
  offsetMs(atMs: number): number {
    const w = this.wall(atMs);
    return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - (atMs - (((atMs % 1000) + 1000) % 1000));
  }

  /** The instant a site wall-clock time names; in a DST gap, the instant an hour later on the wall. */
  fromWall(year: number, month: number, day: number, hour = 0, minute = 0): number {
    const guess = Date.UTC(year, month - 1, day, hour, minute);
    const first = guess - this.offsetMs(guess);
    return guess - this.offsetMs(first);
  }

  /** "2026-12-06": the site's day of an instant. */
  isoDay(atMs: number): string {
    const w = this.wall(atMs);
    return `${w.year}-${pad(w.month)}-${pad(w.day)}`;
  }

  /** Site midnight of "2026-12-06" (an <input type="date"> value), or null. */
  dayStartMs(isoDay: string): number | null {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDay);
    return m ? this.fromWall(Number(m[1]), Number(m[2]), Number(m[3])) : null;
  }

  /** "14:05" in site time. */
  hourMinute(atMs: number): string {
    const w = this.wall(atMs);
    return `${pad(w.hour)}:${pad(w.minute)}`;
  }

  private weekday(atMs: number): string {
    const w = this.wall(atMs);
    return WEEKDAYS[new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay()];
  }

  /** "14:05" on the site's today, "Tue 14:05" within a week, else "2026-11-24 14:05". */
  time(atMs: number | null | undefined, nowMs: number): string {
    if (atMs === null || atMs === undefined || !Number.isFinite(atMs)) return dash;
    const hm = this.hourMinute(atMs);
    if (this.isoDay(atMs) === this.isoDay(nowMs)) return hm;
    if (Math.abs(atMs - nowMs) < 6 * 86_400_000) return `${this.weekday(atMs)} ${hm}`;
    return `${this.isoDay(atMs)} ${hm}`;
  }

  /** Always a date and a time: "Sat 6 Dec 03:30" this year, else "2025-11-24 03:30". */
  dateTime(atMs: number | null | undefined, nowMs: number): string {
    if (atMs === null || atMs === undefined || !Number.isFinite(atMs)) return dash;
    const w = this.wall(atMs);
    if (w.year !== this.wall(nowMs).year) return `${this.isoDay(atMs)} ${this.hourMinute(atMs)}`;
    return `${this.weekday(atMs)} ${w.day} ${MONTHS[w.month - 1]} ${this.hourMinute(atMs)}`;
  }

  /** "14:05:09": the clock in 24 h, for "Updated …" lines. */
  clock(atMs: number | null | undefined): string {
    if (atMs === null || atMs === undefined || !Number.isFinite(atMs)) return dash;
    const w = this.wall(atMs);
    return `${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`;
  }

  /**
   * Time-axis labels for the charts (uPlot splits, in seconds): "16:00" (seconds when the ticks are
   * not on whole minutes), with the ISO date under the first label and under every label that
   * starts a new day ("00:00\n2026-12-07").
   */
  axisTimes(splitsS: readonly number[]): string[] {
    let lastDay = '';
    const withSeconds = splitsS.some((s) => Math.round(s) % 60 !== 0);
    return splitsS.map((s) => {
      const atMs = s * 1000;
      const day = this.isoDay(atMs);
      const hm = withSeconds ? this.clock(atMs) : this.hourMinute(atMs);
      const label = day === lastDay ? hm : `${hm}\n${day}`;
      lastDay = day;
      return label;
    });
  }

  /** The time in a chart legend: "2026-12-06 16:15". */
  legendTime(atS: number | null | undefined): string {
    if (atS === null || atS === undefined || !Number.isFinite(atS)) return dash;
    return `${this.isoDay(atS * 1000)} ${this.hourMinute(atS * 1000)}`;
  }

  /** The value of an <input type="datetime-local"> for an instant: its site wall time. */
  toInput(atMs: number): string {
    return `${this.isoDay(atMs)}T${this.hourMinute(atMs)}`;
  }

  /** An <input type="datetime-local"> value (site wall time) as an instant; null when empty or invalid. */
  fromInput(value: string): number | null {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value);
    if (!m) return null;
    const atMs = this.fromWall(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
    return Number.isFinite(atMs) ? atMs : null;
  }

  /** A date string from the EMS ("2026-12-06T14:05:00Z") as "2026-12-06 14:05" site time; else null. */
  isoText(value: string): string | null {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) return null;
    const atMs = Date.parse(value);
    return Number.isNaN(atMs) ? null : `${this.isoDay(atMs)} ${this.hourMinute(atMs)}`;
  }
}

/** The site's time for a part of the page that has no AppContext: the zone the shell put on the page. */
export function siteTimeOf(el: Element): SiteTime {
  return new SiteTime(el.closest<HTMLElement>('[data-site-time-zone]')?.dataset.siteTimeZone);
}

/**
 * "Now" on the EMS's clock for a part of the page that has no AppContext: the time of the newest
 * state the shell put on the page, moved on by the browser's time since it arrived (a demo may run
 * faster than real time, and the browser's clock may be wrong). The browser's clock before any state.
 */
export function serverNowOf(el: Element): number {
  const holder = el.closest<HTMLElement>('[data-server-at-ms]');
  const atMs = Number(holder?.dataset.serverAtMs);
  const seenMs = Number(holder?.dataset.serverSeenMs);
  return Number.isFinite(atMs) && Number.isFinite(seenMs) ? atMs + Math.max(0, Date.now() - seenMs) : Date.now();
}

/** "45 min", "3 h 20 min", "2 d 4 h". */
export function formatDuration(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** Grid power as words: "Importing 12.0 kW" / "Exporting 3.1 kW". */
export function gridDirection(powerW: number | null | undefined): string {
  if (powerW === null || powerW === undefined) return 'No reading';
  if (Math.abs(powerW) < 50) return 'Balanced';
  return powerW > 0 ? 'Importing' : 'Exporting';
}

/** Battery power as words; + is discharge by convention. */
export function batteryDirection(powerW: number | null | undefined): string {
  if (powerW === null || powerW === undefined) return 'No reading';
  if (Math.abs(powerW) < 50) return 'Idle';
  return powerW > 0 ? 'Discharging' : 'Charging';
}

/** Largest per-phase figure of a draw that may come as one number or per phase. */
export function maxPhase(values: number[] | number | null | undefined): number {
  if (values === null || values === undefined) return 0;
  if (typeof values === 'number') return values;
  return values.length ? Math.max(...values.map((v) => (Number.isFinite(v) ? v : 0))) : 0;
}
