import { readFileSync } from 'node:fs';
import type { ChargerConfig, UpstreamConfig } from '../../config/schema.ts';
import { EmsError } from '../errors.ts';
import type { Service, ServiceContext } from '../service.ts';
import type { TransactionBookView } from '../ocpp/transaction-book.ts';
import { ChargerRelay, type ChargerConnection, type CsmsProfileHolder, type RelayStatus, type Timers } from './charger-relay.ts';
import type { KeptProfile } from './profile-fold.ts';
import { openUpstreamSocket, type UpstreamSocket } from './upstream-socket.ts';
import { STATION_TX_STALE_MS, type UpstreamStore } from './upstream-store.ts';

export class UpstreamConfigError extends EmsError {
  override readonly code = 'UPSTREAM_CONFIG';
}

export interface UpstreamServiceDeps {
  store: UpstreamStore;
  /** The site's transaction book (CentralSystem.book; app.ts hands the same one to both). */
  book: TransactionBookView;
  /** An error the charger's transport answers as a CALLERROR with this code (src/ocpp's OcppCallRefused). */
  refuse(code: string, message: string): Error;
  timers?: Timers;
  /** [0, 1) for the reconnect jitter (tests pin it); Math.random when not given. */
  random?: () => number;
}

/** Per charger: its link to the EMS and the EMS's link to the CSMS (for the API, metrics and MQTT). */
export interface UpstreamChargerStatus extends Omit<RelayStatus, 'uplink' | 'protocol'> {
  chargerLink: 'connected' | 'disconnected';
  uplink: RelayStatus['uplink'];
  protocol?: string;
}

export type UpstreamService = Service & {
  readonly enabled: boolean;
  /** Wraps a charger's connection (central system's wrapConnection); unchanged without `upstream`. */
  wrap<C extends ChargerConnection>(connection: C, charger: ChargerConfig): C;
  status(): UpstreamChargerStatus[];
  /** Whether a tag counts as authorized though the local list does not have it (central system's acceptedElsewhere). */
  acceptedElsewhere(idTag: string): boolean;
};

const globalTimers: Timers = {
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

function readTls(config: UpstreamConfig): { ca?: Buffer; cert?: Buffer; key?: Buffer } | undefined {
  if (!config.tls) return undefined;
  try {
    return {
      ...(config.tls.ca ? { ca: readFileSync(config.tls.ca) } : {}),
      ...(config.tls.cert ? { cert: readFileSync(config.tls.cert) } : {}),
      ...(config.tls.key ? { key: readFileSync(config.tls.key) } : {}),
    };
  } catch (error) {
    throw new UpstreamConfigError(`cannot read the upstream TLS files (upstream.tls): ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Local-controller mode (config `upstream`): every charger's connection is relayed to the cloud
 * CSMS over its own WebSocket, with the charger's identity (see charger-relay.ts and
 * docs/local-controller.md). Without `upstream` it does nothing.
 */
export function createUpstreamService(ctx: ServiceContext, deps: UpstreamServiceDeps): UpstreamService {
  const config = ctx.config.upstream;
  const log = ctx.log.child({ module: 'upstream' });
  const relays = new Map<string, ChargerRelay>();
  const held = new Map<string, CsmsProfileHolder>();
  const lastSeen = new Map<string, RelayStatus>();
  /** Tags accepted offline under acceptUnknownOffline (bounded; oldest forgotten first). */
  const acceptedOffline = new Set<string>();
  const timers = deps.timers ?? globalTimers;
  let tls: ReturnType<typeof readTls>;
  let running = false;

  /** The CSMS's profiles of a charger, as the last run left them (they outlive an EMS restart). */
  const holderFor = (chargerId: string): CsmsProfileHolder => {
    const holder = {
      profiles: deps.store.loadProfiles(chargerId) as KeptProfile[],
      replace(profiles: KeptProfile[]) {
        holder.profiles = profiles;
        deps.store.saveProfiles(chargerId, profiles, ctx.clock.nowMs());
      },
    };
    return holder;
  };

  const openSocket = (identity: string, password: string | undefined, protocol: string, chargerId: string): UpstreamSocket =>
    openUpstreamSocket({ url: config!.url, identity, chargerId, protocols: [protocol], timers, ...(password !== undefined ? { password } : {}), ...(tls ? { tls } : {}) });

  return {
    name: 'upstream',
    enabled: config !== undefined,
    async start() {
      if (!config || running) return;
      tls = readTls(config);
      running = true;
      // Station transactions silent for a month (a charger gone, its Ended lost) take no more room.
      const stale = deps.store.forgetStaleStationTxs(ctx.clock.nowMs() - STATION_TX_STALE_MS);
      if (stale > 0) log.warn({ forgotten: stale }, 'station transactions with no event for a month forgotten (their Ended never came)');
      log.info({ url: config.url, chargers: ctx.config.chargers.length }, 'local-controller mode: every charger is relayed to the CSMS');
    },
    async stop() {
      running = false;
      for (const relay of relays.values()) relay.stop();
      relays.clear();
    },
    wrap(connection, charger) {
      if (!config || !running) return connection;
      relays.get(charger.id)?.stop();
      let profiles = held.get(charger.id);
      if (!profiles) held.set(charger.id, (profiles = holderFor(charger.id)));
      const relay = new ChargerRelay({
        charger,
        connection,
        upstream: config,
        store: deps.store,
        book: deps.book,
        log: ctx.log,
        clock: ctx.clock,
        timers,
        voltageV: ctx.config.site.voltage,
        openSocket,
        refuse: deps.refuse,
        held: profiles,
        ...(deps.random ? { random: deps.random } : {}),
        markAccepted: (idTag) => {
          acceptedOffline.delete(idTag.toLowerCase());
          acceptedOffline.add(idTag.toLowerCase());
          if (acceptedOffline.size > 10_000) acceptedOffline.delete(acceptedOffline.values().next().value!);
        },
        changed: (r) => ctx.bus.emit('upstream.status', { ...r.status(), atMs: ctx.clock.nowMs() }),
      });
      relays.set(charger.id, relay);
      connection.onClose(() => {
        lastSeen.set(charger.id, relay.status());
        if (relays.get(charger.id) === relay) relays.delete(charger.id);
      });
      relay.start();
      return relay as unknown as typeof connection;
    },
    acceptedElsewhere(idTag) {
      if (!config) return false;
      if (acceptedOffline.has(idTag.toLowerCase())) return true;
      const cached = deps.store.cachedTag(idTag);
      return cached?.status === 'Accepted' && (cached.expiresAtMs === undefined || cached.expiresAtMs > ctx.clock.nowMs());
    },
    status() {
      if (!config) return [];
      return ctx.config.chargers.map((charger) => {
        const relay = relays.get(charger.id);
        if (relay) return { ...relay.status(), chargerLink: 'connected' as const };
        return {
          ...lastSeen.get(charger.id),
          chargerId: charger.id,
          upstreamId: charger.upstreamId ?? charger.id,
          chargerLink: 'disconnected' as const,
          uplink: 'closed' as const,
          queueLength: deps.store.count(charger.id),
          csmsProfiles: held.get(charger.id)?.profiles.length ?? 0,
        };
      });
    },
  };
}
