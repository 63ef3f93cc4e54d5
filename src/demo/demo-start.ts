/**
 * The wall-clock moment (epoch ms) of local time `hhmm` today in `timeZone`, seen from `nowMs`:
 * `ems demo --start 11:00` opens the demo at 11:00 local so PV is visible. Throws a clear error on
 * a malformed time.
 */
export function startOfDemoMs(hhmm: string, timeZone: string, nowMs: number): number {
  const match = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(hhmm.trim());
  if (!match) throw new RangeError(`--start ${hhmm}: use HH:MM (00:00..23:59), local time of the site`);
  const minutes = Number(match[1]) * 60 + Number(match[2]);
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(nowMs));
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const localMinutesNow = part('hour') * 60 + part('minute') + part('second') / 60;
  return Math.round(nowMs + (minutes - localMinutesNow) * 60_000);
}

/**
 * Real milliseconds between two simulation steps at `speed`: each step moves the simulated site
 * by at most ~1 simulated second, so what the meters report is as fresh in demo time as it would
 * be on a real site (a reading read once a real second is 60 demo seconds old at ×60, and the EMS
 * rightly calls that stale). Bounded below so a fast demo does not spin.
 */
export function demoStepMs(speed: number): number {
  return Math.max(20, Math.min(1000, Math.round(1000 / Math.max(1, speed))));
}
