// The terminal demo's live status: site totals at the site's local time, then one line per
// connector with why its cap is what it is, in the dashboard's words (dashboard/src/why-text.ts)
// from the state the API answers (a car the plan holds says from when and why).
import { SiteTime } from '../../dashboard/src/format.ts';
import { whyText } from '../../dashboard/src/why-text.ts';
import type { StateView } from '../api/state-view.ts';
import type { DemoReading } from './demo-site.ts';

const pad = (s: string, n: number) => (s.length >= n ? s.slice(0, n) : s + ' '.repeat(n - s.length));
const amps = (a: number | null | undefined) => (a === null || a === undefined ? '   -  ' : `${a.toFixed(1).padStart(5)}A`);

/** The live text status of the terminal demo at `atMs`, from `view` (GET /api/v1/state's answer). */
export function formatStatus(view: StateView, atMs: number, site: DemoReading | undefined, timeZone = 'UTC'): string {
  const lines: string[] = [];
  const time = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(atMs);
  if (site) {
    const grid = site.gridCurrentA.map((a) => a.toFixed(0)).join('/');
    const headroomA = view.site.headroomA;
    lines.push(
      `${time}  grid ${grid} A (${(site.gridPowerW / 1000).toFixed(1)} kW)  pv ${(site.pvPowerW / 1000).toFixed(1)} kW  ` +
        `battery ${(site.batteryPowerW / 1000).toFixed(1)} kW @ ${site.batterySocPct.toFixed(0)}%` +
        (headroomA ? `  headroom ${headroomA.map((a) => a.toFixed(0)).join('/')} A` : '') +
        (view.site.failsafe ? '  FAILSAFE' : ''),
    );
  }
  const siteTime = new SiteTime(timeZone);
  lines.push(`${pad('connector', 10)} ${pad('status', 13)} ${pad('cap', 6)} ${pad('draw', 6)} ${pad('session', 22)} reason`);
  for (const c of view.connectors) {
    const s = c.session;
    const session = s ? `${s.tier} ${s.idTag} ${s.soc !== null ? `${s.soc.toFixed(0)}%` : ''}` : '';
    lines.push(`${pad(`${c.chargerId}/${c.connectorId}`, 10)} ${pad(c.status, 13)} ${amps(c.capA)} ${amps(c.drawA)} ${pad(session, 22)} ${whyText(c, atMs, siteTime)}`);
  }
  return lines.join('\n') + '\n';
}
