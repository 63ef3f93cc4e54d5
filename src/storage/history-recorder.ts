import type { Decision } from '../../optimizer/types.ts';
import type { Service, ServiceContext } from '../service.ts';
import { sitePowers } from '../state/site-powers.ts';
import type { ConnectorMinute, Storage } from './types.ts';

const PRUNE_EVERY_MS = 10 * 60_000;
const MINUTE_MS = 60_000;
/** A sample holds for the time since the previous one, at most this long (a pause is not energy). */
const MAX_HOLD_MS = 5_000;

/**
 * Listens to 'decision' and keeps the site's power history (at most one sample per second, grid
 * current per phase included) and each connector's per minute (energy, current per phase, cap).
 * The month's demand peak is the tariff service's (one definition of peak). A storage failure is
 * logged once when it starts and once when it clears; it never reaches the control loop.
 */
export function createHistoryRecorder(ctx: ServiceContext, store: Storage): Service {
  const log = ctx.log.child({ module: 'history' });
  let off: (() => void) | undefined;
  let lastSecond = -1;
  let lastSampleAtMs: number | undefined;
  let lastPruneMs = -Infinity;
  let failing = false;
  let minuteStartMs: number | undefined;
  let minute = new Map<string, ConnectorMinute>();

  const flushMinute = () => {
    if (minuteStartMs === undefined) return;
    const rows = [...minute.values()];
    minute = new Map();
    store.connectorHistory.recordMinute(minuteStartMs, rows);
  };

  const addConnectors = (decision: Decision, atMs: number) => {
    const start = Math.floor(atMs / MINUTE_MS) * MINUTE_MS;
    if (start !== minuteStartMs) {
      flushMinute();
      minuteStartMs = start;
    }
    const holdH = lastSampleAtMs === undefined ? 0 : Math.min(MAX_HOLD_MS, Math.max(0, atMs - lastSampleAtMs)) / 3_600_000;
    const caps = new Map(decision.caps.map((c) => [`${c.chargerId}/${c.connectorId}`, c.currentA]));
    for (const c of ctx.state.connectors.values()) {
      const powerW = Math.max(0, c.powerW ?? (c.drawA[0] + c.drawA[1] + c.drawA[2]) * ctx.config.site.voltage);
      const key = `${c.chargerId}/${c.connectorId}`;
      const row = minute.get(key);
      if (!row && !c.session && powerW <= 0) continue;
      const r = row ?? { chargerId: c.chargerId, connectorId: c.connectorId, energyWh: 0, currentSumA: [0, 0, 0], capSumA: 0, samples: 0 };
      r.energyWh += powerW * holdH;
      for (let i = 0; i < 3; i++) r.currentSumA[i] += Math.max(0, c.drawA[i]);
      r.capSumA += caps.get(key) ?? 0;
      r.samples++;
      minute.set(key, r);
    }
  };

  const onDecision = (decision: Decision) => {
    const atMs = decision.atMs;
    const second = Math.floor(atMs / 1000);
    if (second === lastSecond) return;
    lastSecond = second;
    try {
      const { gridCurrentA, ...powers } = sitePowers(ctx.state, ctx.config, atMs);
      store.history.record({ atMs, ...powers, ...(gridCurrentA ? { gridL1A: gridCurrentA[0], gridL2A: gridCurrentA[1], gridL3A: gridCurrentA[2] } : {}) });
      addConnectors(decision, atMs);
      lastSampleAtMs = atMs;
      if (atMs - lastPruneMs >= PRUNE_EVERY_MS) {
        lastPruneMs = atMs;
        store.history.prune(atMs);
        store.connectorHistory.prune(atMs);
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
      off = ctx.bus.on('decision', onDecision);
    },
    async stop() {
      off?.();
      off = undefined;
      // The minute in progress is kept as far as it went.
      try {
        flushMinute();
      } catch (err) {
        log.error({ err }, 'last minute of connector history not saved');
      }
      minuteStartMs = undefined;
    },
  };
}
