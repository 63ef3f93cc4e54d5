import type { SiteState } from '../state/site-state.ts';
import type { DemoReading } from './demo-site.ts';

const pad = (s: string, n: number) => (s.length >= n ? s.slice(0, n) : s + ' '.repeat(n - s.length));
const amps = (a: number | undefined) => (a === undefined ? '   -  ' : `${a.toFixed(1).padStart(5)}A`);

/** The live text status of the terminal demo: site totals (at the site's local time), then one line per connector. */
export function formatStatus(state: SiteState, atMs: number, site: DemoReading | undefined, timeZone = 'UTC'): string {
  const decision = state.lastDecision;
  const caps = new Map(decision?.caps.map((c) => [`${c.chargerId}/${c.connectorId}`, c]) ?? []);
  const lines: string[] = [];
  const time = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(atMs);
  if (site) {
    const grid = site.gridCurrentA.map((a) => a.toFixed(0)).join('/');
    lines.push(
      `${time}  grid ${grid} A (${(site.gridPowerW / 1000).toFixed(1)} kW)  pv ${(site.pvPowerW / 1000).toFixed(1)} kW  ` +
        `battery ${(site.batteryPowerW / 1000).toFixed(1)} kW @ ${site.batterySocPct.toFixed(0)}%` +
        (decision ? `  headroom ${decision.headroom.headroomA.map((a) => a.toFixed(0)).join('/')} A` : '') +
        (decision?.failsafe ? '  FAILSAFE' : ''),
    );
  }
  lines.push(`${pad('connector', 10)} ${pad('status', 13)} ${pad('cap', 6)} ${pad('draw', 6)} ${pad('session', 22)} reason`);
  for (const c of state.connectors.values()) {
    const cap = caps.get(`${c.chargerId}/${c.connectorId}`);
    const s = c.session;
    const session = s ? `${s.tier} ${s.idTag} ${s.socPct !== undefined ? `${s.socPct.toFixed(0)}%` : ''}` : '';
    lines.push(
      `${pad(`${c.chargerId}/${c.connectorId}`, 10)} ${pad(c.status, 13)} ${amps(cap?.currentA)} ${amps(Math.max(...c.drawA))} ${pad(session, 22)} ${cap?.reason.text ?? ''}`,
    );
  }
  return lines.join('\n') + '\n';
}
