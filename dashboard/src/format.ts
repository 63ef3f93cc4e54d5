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

/** "14:05" today, "Tue 14:05" within a week, else "2026-11-24 14:05" (local time). */
export function formatTime(atMs: number | null | undefined, nowMs: number): string {
  if (atMs === null || atMs === undefined || !Number.isFinite(atMs)) return dash;
  const at = new Date(atMs);
  const now = new Date(nowMs);
  const hm = `${pad(at.getHours())}:${pad(at.getMinutes())}`;
  if (at.toDateString() === now.toDateString()) return hm;
  if (Math.abs(atMs - nowMs) < 6 * 86_400_000) return `${at.toLocaleDateString('en-GB', { weekday: 'short' })} ${hm}`;
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${hm}`;
}

/** Always a date and a time: "Sat 6 Dec 03:30" this year, else "2025-11-24 03:30" (local time). */
export function formatDateTime(atMs: number | null | undefined, nowMs: number): string {
  if (atMs === null || atMs === undefined || !Number.isFinite(atMs)) return dash;
  const at = new Date(atMs);
  const hm = `${pad(at.getHours())}:${pad(at.getMinutes())}`;
  if (at.getFullYear() !== new Date(nowMs).getFullYear()) return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${hm}`;
  return `${at.toLocaleDateString('en-GB', { weekday: 'short', day: 'numeric', month: 'short' })} ${hm}`;
}

/** "14:05:09": the clock in 24 h (local time), for "Updated …" lines. */
export function formatClock(atMs: number | null | undefined): string {
  if (atMs === null || atMs === undefined || !Number.isFinite(atMs)) return dash;
  const at = new Date(atMs);
  return `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
}

const isoDate = (at: Date) => `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`;

/**
 * Time-axis labels for the charts (uPlot splits, in seconds): "16:00" in 24 h local time (seconds
 * when the ticks are not on whole minutes), with the
 * ISO date under the first label and under every label that starts a new day ("00:00\n2026-12-07").
 */
export function formatAxisTimes(splitsS: readonly number[]): string[] {
  let lastDay = '';
  // Ticks closer than a minute (or off whole minutes) show seconds: "23:40:10", "23:40:20".
  const withSeconds = splitsS.some((s) => Math.round(s) % 60 !== 0);
  return splitsS.map((s) => {
    const at = new Date(s * 1000);
    const day = isoDate(at);
    const hm = `${pad(at.getHours())}:${pad(at.getMinutes())}${withSeconds ? `:${pad(at.getSeconds())}` : ''}`;
    const label = day === lastDay ? hm : `${hm}\n${day}`;
    lastDay = day;
    return label;
  });
}

/** The time in a chart legend: "2026-12-06 16:15". */
export function formatLegendTime(atS: number | null | undefined): string {
  if (atS === null || atS === undefined || !Number.isFinite(atS)) return dash;
  const at = new Date(atS * 1000);
  return `${isoDate(at)} ${pad(at.getHours())}:${pad(at.getMinutes())}`;
}

/** "45 min", "3 h 20 min", "2 d 4 h". */
export function formatDuration(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** The value of an <input type="datetime-local"> for an instant, in local time. */
export function toLocalInput(atMs: number): string {
  const d = new Date(atMs);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** An <input type="datetime-local"> value (local time) as an instant; null when empty or invalid. */
export function fromLocalInput(value: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value);
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]));
  return Number.isNaN(d.getTime()) ? null : d.getTime();
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
