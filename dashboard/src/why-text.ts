// Why a connector's cap is what it is, in words: one text for the card, the sessions table and the
// terminal demo's status (src/demo/status-text.ts). Pure: no DOM, no clock of its own.
import type { ConnectorView } from './api-types.ts';
import { formatEnergy, type SiteTime } from './format.ts';
import { reasonText, toMs } from './normalize.ts';

/**
 * Why the cap is what it is, for the card and the sessions table. A car the plan holds at 0 A for
 * later says when and why: "Waiting for cheaper hours from 02:00; ready by 07:00 (planner target
 * 0 kW is below the 6 A minimum)".
 */
export function whyText(view: ConnectorView, nowMs: number, time: SiteTime): string {
  const why = reasonText(view.reason);
  const plan = view.plan;
  const fromMs = toMs(plan?.chargesFrom);
  if (!plan || view.reasonKind !== 'plan' || (view.capA ?? 0) > 0 || view.session?.paused || fromMs === null || fromMs <= nowMs) return why;
  const until = plan.because === 'cheaper' ? 'cheaper hours' : plan.because === 'solar' ? 'solar power' : 'its planned hours';
  const readyMs = toMs(plan.readyBy);
  const outcome = readyMs !== null ? `ready by ${time.time(readyMs, nowMs)}` : plan.shortWh > 0 ? `${formatEnergy(plan.shortWh)} short of its need at the end of the plan` : null;
  return `Waiting for ${until} from ${time.time(fromMs, nowMs)}${outcome ? `; ${outcome}` : ''}${why ? ` (${why})` : ''}`;
}
