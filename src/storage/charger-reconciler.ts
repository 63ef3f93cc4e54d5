import type { Service, ServiceContext } from '../service.ts';
import type { Storage } from './types.ts';

/**
 * After a restart the stored open transactions are restored as sessions, but the chargers may
 * have moved on while the EMS was down. The first time each charger connects in this process,
 * ask the OCPP side (bus 'charger.reconcile') to have it report its connectors again.
 */
export function createChargerReconciler(ctx: ServiceContext, store: Storage): Service {
  const log = ctx.log.child({ module: 'reconcile' });
  const seen = new Set<string>();
  let off: (() => void) | undefined;
  return {
    name: 'charger-reconciler',
    async start() {
      off = ctx.bus.on('charger.connected', ({ chargerId, atMs }) => {
        if (seen.has(chargerId)) return;
        seen.add(chargerId);
        const openTransactionIds = store.transactions
          .open()
          .filter((t) => t.chargerId === chargerId)
          .map((t) => t.transactionId);
        if (openTransactionIds.length) log.info({ chargerId, openTransactionIds }, 'charger back with open transactions; asking it for its status');
        ctx.bus.emit('charger.reconcile', { chargerId, atMs, openTransactionIds });
      });
    },
    async stop() {
      off?.();
      off = undefined;
    },
  };
}
