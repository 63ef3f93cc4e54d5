// The few things that must be seen at once on the overview: failsafe, grid signals in force or
// coming up, devices that stopped answering. Pure.
import type { StateView } from './api-types.ts';
import { formatPower, SiteTime } from './format.ts';
import { toMs } from './normalize.ts';

export interface Banner {
  tone: 'bad' | 'warn' | 'idle';
  title: string;
  text: string;
}

const SOON_MS = 24 * 3_600_000;

/** Signal times in the site's clock ("14:05", "Tue 14:05" on another day). */
export function siteBanners(state: StateView, nowMs: number): Banner[] {
  const time = new SiteTime(state.site.timezone);
  const clock = (atMs: number) => time.time(atMs, nowMs);
  const banners: Banner[] = [];
  if (state.site.failsafe)
    banners.push({ tone: 'bad', title: '⚠ Failsafe active.', text: 'Site measurements are stale, so every car is held at the failsafe current until readings return.' });
  for (const signal of state.signals ?? []) {
    const start = toMs(signal.start ?? signal.startMs);
    const end = toMs(signal.end ?? signal.endMs);
    if (end !== null && end <= nowMs) continue;
    const active = start === null || start <= nowMs;
    if (!active && start! - nowMs > SOON_MS) continue;
    const what = `${signal.text ?? signal.kind}${signal.kind.endsWith('limit') ? ` to ${formatPower(signal.value)}` : ''}`;
    banners.push(
      active
        ? { tone: 'warn', title: `⚑ Grid signal from ${signal.source}:`, text: `${what}${end !== null ? ` until ${clock(end)}` : ''}` }
        : { tone: 'idle', title: `⚑ Coming grid signal from ${signal.source}:`, text: `${what} from ${clock(start!)}${end !== null ? ` to ${clock(end)}` : ''}` },
    );
  }
  const faulty = (state.devices ?? []).filter((d) => d.health !== 'online');
  if (faulty.length)
    banners.push({
      tone: 'warn',
      title: '⚠ Device trouble:',
      text: faulty.map((d) => `${d.id} (${d.role}) ${d.health}${d.lastError ? `: ${d.lastError}` : ''}`).join('; '),
    });
  return banners;
}
