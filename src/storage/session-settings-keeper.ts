import type { SessionUpdate } from '../bus.ts';
import type { Service, ServiceContext } from '../service.ts';
import type { Storage } from './types.ts';

/**
 * Persists operator steering (departure, energy need, tier, pause) per transaction, from any
 * source on the bus, and re-applies it when a session with stored settings (re)starts, so a
 * restart keeps what operators set.
 */
export function createSessionSettingsKeeper(ctx: ServiceContext, store: Storage): Service {
  const log = ctx.log.child({ module: 'session-settings' });
  const offs: (() => void)[] = [];

  const persist = (update: SessionUpdate) => {
    const { departureAtMs, energyNeedWh, tier, paused } = update;
    if (departureAtMs === undefined && energyNeedWh === undefined && tier === undefined && paused === undefined) return;
    const transactionId = ctx.state.connector(update.chargerId, update.connectorId)?.session?.transactionId;
    if (transactionId === undefined) return;
    try {
      store.sessionSettings.save(transactionId, { departureAtMs, energyNeedWh, tier, paused });
    } catch (err) {
      log.error({ err, transactionId }, 'could not persist session settings');
    }
  };

  const restore = (chargerId: string, connectorId: number, transactionId: number) => {
    const saved = store.sessionSettings.get(transactionId);
    if (!saved) return;
    const update: SessionUpdate = { chargerId, connectorId };
    if (saved.departureAtMs !== null && saved.departureAtMs !== undefined) update.departureAtMs = saved.departureAtMs;
    if (saved.energyNeedWh !== null && saved.energyNeedWh !== undefined) update.energyNeedWh = saved.energyNeedWh;
    if (saved.tier !== null && saved.tier !== undefined) update.tier = saved.tier;
    if (saved.paused !== null && saved.paused !== undefined) update.paused = saved.paused;
    ctx.bus.emit('session.update', update);
  };

  return {
    name: 'session-settings',
    async start() {
      offs.push(ctx.bus.on('session.update', persist));
      offs.push(ctx.bus.on('session.started', (s) => restore(s.chargerId, s.connectorId, s.transactionId)));
      for (const connector of ctx.state.connectors.values()) {
        if (connector.session) restore(connector.chargerId, connector.connectorId, connector.session.transactionId);
      }
    },
    async stop() {
      offs.splice(0).forEach((off) => off());
    },
  };
}
