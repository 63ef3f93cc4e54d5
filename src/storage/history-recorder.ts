import type { Service, ServiceContext } from '../service.ts';
import { sitePowers } from '../state/site-powers.ts';
import type { Storage } from './types.ts';

const PRUNE_EVERY_MS = 10 * 60_000;

/**
 * Listens to 'decision' and keeps the site's power history (at most one sample per second). The
 * month's demand peak is the tariff service's (one definition of peak). A storage failure is
 * logged once when it starts and once when it clears; it never reaches the control loop.
 */
export function createHistoryRecorder(ctx: ServiceContext, store: Storage): Service {
  const log = ctx.log.child({ module: 'history' });
  let off: (() => void) | undefined;
  let lastSecond = -1;
  let lastPruneMs = -Infinity;
  let failing = false;

  const onDecision = (atMs: number) => {
    const second = Math.floor(atMs / 1000);
    if (second === lastSecond) return;
    lastSecond = second;
    try {
      const powers = sitePowers(ctx.state, ctx.config, atMs);
      store.history.record({ atMs, ...powers });
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
    },
  };
}
