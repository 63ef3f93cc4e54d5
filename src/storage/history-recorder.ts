import type { Decision } from '../../optimizer/types.ts';
import type { Service, ServiceContext } from '../service.ts';
import { sitePowers } from '../state/site-powers.ts';
import type { ConnectorState } from '../state/site-state.ts';
import type { ConnectorMinute, Storage } from './types.ts';

const PRUNE_EVERY_MS = 10 * 60_000;
const MINUTE_MS = 60_000;

/**
 * Listens to 'decision' and keeps the site's power history (a row per second, grid current per
 * phase included) and each connector's per minute (energy, current per phase, cap).
 *
 * A decision's sample stands for the site time since the previous one, up to
 * `control.staleAfterMs` (longer, the EMS was not running or not deciding: a gap, not energy). The
 * 1 s history gets a row for every second it stands for, so each row is one second of site time
 * and the energy read from it is the energy over the time between decisions: they come about a
 * second apart at x1, but 6-35 demo seconds apart in the demo at x60, where one row per decision
 * made the History's kWh six times too low. Connector energy is held the same way (split at a
 * minute's start). The figures are in storage, so a restart changes none of them.
 *
 * The month's demand peak is the tariff service's (one definition of peak). A storage failure is
 * logged once when it starts and once when it clears; it never reaches the control loop.
 */
export function createHistoryRecorder(ctx: ServiceContext, store: Storage): Service {
  const log = ctx.log.child({ module: 'history' });
  let off: (() => void) | undefined;
  let lastSecond: number | undefined;
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

  const rowOf = (chargerId: string, connectorId: number): ConnectorMinute => {
    const key = `${chargerId}/${connectorId}`;
    let row = minute.get(key);
    if (!row) {
      row = { chargerId, connectorId, energyWh: 0, currentSumA: [0, 0, 0], capSumA: 0, samples: 0 };
      minute.set(key, row);
    }
    return row;
  };

  /** Each connector's power now, W (those with neither a car nor a draw left out, unless the minute has them). */
  const connectorPowers = () => {
    const powers: { c: ConnectorState; powerW: number }[] = [];
    for (const c of ctx.state.connectors.values()) {
      const powerW = Math.max(0, c.powerW ?? (c.drawA[0] + c.drawA[1] + c.drawA[2]) * ctx.config.site.voltage);
      if (!c.session && powerW <= 0 && !minute.has(`${c.chargerId}/${c.connectorId}`)) continue;
      powers.push({ c, powerW });
    }
    return powers;
  };

  /** This sample holds from `heldFromMs` (the previous sample, or now) to `atMs`. */
  const addConnectors = (decision: Decision, atMs: number, heldFromMs: number) => {
    const start = Math.floor(atMs / MINUTE_MS) * MINUTE_MS;
    if (start !== minuteStartMs) {
      // The part of the hold before this minute belongs to the minute of the previous sample.
      if (minuteStartMs !== undefined && heldFromMs < start) {
        const beforeH = (start - heldFromMs) / 3_600_000;
        for (const { c, powerW } of connectorPowers()) rowOf(c.chargerId, c.connectorId).energyWh += powerW * beforeH;
      }
      flushMinute();
      minuteStartMs = start;
    }
    const holdH = (atMs - Math.max(heldFromMs, start)) / 3_600_000;
    const caps = new Map(decision.caps.map((c) => [`${c.chargerId}/${c.connectorId}`, c.currentA]));
    for (const { c, powerW } of connectorPowers()) {
      const r = rowOf(c.chargerId, c.connectorId);
      r.energyWh += powerW * holdH;
      for (let i = 0; i < 3; i++) r.currentSumA[i] += Math.max(0, c.drawA[i]);
      r.capSumA += caps.get(`${c.chargerId}/${c.connectorId}`) ?? 0;
      r.samples++;
    }
  };

  const onDecision = (decision: Decision) => {
    const atMs = decision.atMs;
    const second = Math.floor(atMs / 1000);
    if (second === lastSecond) return;
    // The seconds since the previous sample, when it is recent enough to stand for them (the
    // first sample, one after a gap or after the clock went back stands for its own second).
    const maxHeldS = Math.max(1, Math.floor(ctx.config.control.staleAfterMs / 1000));
    const recent = lastSecond !== undefined && lastSampleAtMs !== undefined && second > lastSecond && second - lastSecond <= maxHeldS;
    const heldS = recent ? second - lastSecond! : 1;
    const heldFromMs = recent ? lastSampleAtMs! : atMs;
    lastSecond = second;
    try {
      const { gridCurrentA, ...powers } = sitePowers(ctx.state, ctx.config, atMs);
      const sample = { ...powers, ...(gridCurrentA ? { gridL1A: gridCurrentA[0], gridL2A: gridCurrentA[1], gridL3A: gridCurrentA[2] } : {}) };
      store.history.record({ atMs, ...sample }, heldS);
      addConnectors(decision, atMs, heldFromMs);
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
      lastSecond = undefined;
      lastSampleAtMs = undefined;
    },
  };
}
