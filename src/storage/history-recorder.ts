import type { Service, ServiceContext } from '../service.ts';
import { sitePowers } from '../state/site-powers.ts';
import { billingMonth } from './peak-store.ts';
import type { Storage } from './types.ts';

const QUARTER_MS = 15 * 60_000;
const PRUNE_EVERY_MS = 10 * 60_000;

/**
 * Listens to 'decision' and keeps the site's power history (at most one sample per second) and
 * the month's peak of 15-minute mean import, the base of demand charges. A storage failure is
 * logged once when it starts and once when it clears; it never reaches the control loop.
 */
export function createHistoryRecorder(ctx: ServiceContext, store: Storage): Service {
  const log = ctx.log.child({ module: 'history' });
  let off: (() => void) | undefined;
  let lastSecond = -1;
  let lastPruneMs = -Infinity;
  let failing = false;
  let quarter = { startMs: -1, sumW: 0, n: 0 };

  const closeQuarter = () => {
    if (quarter.n === 0) return;
    const meanW = quarter.sumW / quarter.n;
    store.peaks.offer(billingMonth(quarter.startMs, ctx.config.site.timezone), meanW, quarter.startMs);
  };

  const onDecision = (atMs: number) => {
    const second = Math.floor(atMs / 1000);
    if (second === lastSecond) return;
    lastSecond = second;
    try {
      const powers = sitePowers(ctx.state, ctx.config, atMs);
      store.history.record({ atMs, ...powers });
      const quarterStart = Math.floor(atMs / QUARTER_MS) * QUARTER_MS;
      if (quarterStart !== quarter.startMs) {
        closeQuarter();
        quarter = { startMs: quarterStart, sumW: 0, n: 0 };
      }
      if (powers.gridPowerW !== undefined) {
        quarter.sumW += powers.gridPowerW;
        quarter.n += 1;
      }
      if (atMs - lastPruneMs >= PRUNE_EVERY_MS) {
        lastPruneMs = atMs;
        store.history.prune(atMs);
        store.tokens.prune();
      }
      if (failing) log.info('history recording works again');
      failing = false;
    } catch (err) {
      if (!failing) log.error({ err }, 'history recording failed; control continues');
      failing = true;
    }
  };

  return {
    name: 'history-recorder',
    async start() {
      off = ctx.bus.on('decision', (decision) => onDecision(decision.atMs));
    },
    async stop() {
      off?.();
      off = undefined;
      try {
        closeQuarter();
      } catch (err) {
        log.warn({ err }, 'could not record the last quarter hour');
      }
    },
  };
}
