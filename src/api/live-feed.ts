import type { WebSocket } from 'ws';
import type { ServiceContext } from '../service.ts';
import type { SessionCostSource } from './state-view.ts';
import { buildStateView } from './state-view.ts';

/**
 * Pushes the state view to every live client after each decision, at most once per `minGapMs`
 * (the last change in a burst is always sent). A slow client is skipped while its buffer is
 * full rather than slowing anyone else.
 */
export function createLiveFeed(ctx: ServiceContext, minGapMs = 500, maxClients = 200, costs?: SessionCostSource) {
  const log = ctx.log.child({ module: 'api-live' });
  const clients = new Set<WebSocket>();
  let lastSentAtMs = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  const MAX_BUFFERED_BYTES = 1 << 20;

  const message = () => JSON.stringify({ type: 'state', data: buildStateView(ctx.state, ctx.config, ctx.clock.nowMs(), costs) });

  const broadcast = () => {
    timer = undefined;
    lastSentAtMs = performance.now();
    if (clients.size === 0) return;
    let text: string;
    try {
      text = message();
    } catch (err) {
      log.error({ err }, 'could not build the live state');
      return;
    }
    for (const socket of clients) {
      if (socket.readyState !== socket.OPEN || socket.bufferedAmount > MAX_BUFFERED_BYTES) continue;
      socket.send(text);
    }
  };

  const schedule = () => {
    if (timer || clients.size === 0) return;
    const waitMs = lastSentAtMs + minGapMs - performance.now();
    if (waitMs <= 0) broadcast();
    else timer = setTimeout(broadcast, waitMs);
  };

  const off = ctx.bus.on('decision', schedule);

  return {
    add(socket: WebSocket) {
      if (clients.size >= maxClients) {
        log.warn({ maxClients }, 'live feed full; refusing a client');
        socket.close(1013, 'too many live clients; try again later');
        return;
      }
      clients.add(socket);
      socket.on('close', () => clients.delete(socket));
      socket.on('error', () => clients.delete(socket));
      // Clients only listen; anything they send is ignored.
      socket.send(message());
    },
    get size() {
      return clients.size;
    },
    stop() {
      off();
      if (timer) clearTimeout(timer);
      for (const socket of clients) socket.close(1001, 'server stopping');
      clients.clear();
    },
  };
}
