// The plugin type imports bring their request/reply and schema augmentations (cookies, tags).
import type {} from '@fastify/cookie';
import type {} from '@fastify/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config/schema.ts';
import type { Role, Storage } from '../storage/types.ts';
import type { ServiceContext } from '../service.ts';
import type { OperatorSignalsApi } from '../signals/types.ts';
import type { VenStatus } from '../openadr/types.ts';
import type { Auth, Principal } from './auth.ts';
import type { EconomicsSource, PlanSource } from './economics-source.ts';
import type { EventLog } from './event-log.ts';
import type { SessionCostSource } from './state-view.ts';
import type { UpstreamChargerStatus } from '../upstream/index.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** The operator side of the grid-signal timeline (src/signals), when wired. */
export interface SignalsControl {
  list(): unknown[];
  optOut(eventId: string, actor: { username: string; role: string }): void;
  optIn(eventId: string, actor: { username: string; role: string }): void;
  /** Operator limits (POST/DELETE /api/v1/signals, routes/signal-routes.ts), when the timeline is wired. */
  addLimit?: OperatorSignalsApi['addLimit'];
  end?: OperatorSignalsApi['end'];
}

/** What every route module gets. */
export interface RouteEnv {
  ctx: ServiceContext;
  store: Storage;
  auth: Auth;
  events: EventLog;
  signals?: SignalsControl;
  /** The OpenADR VENs' status, one per configured VTN (routes/openadr-routes.ts). */
  openadr?: () => readonly VenStatus[];
  /** The tariff service (KPIs, prices, session bills), when wired. */
  economics?: EconomicsSource;
  /** Running cost and charge mode per connector, for connector and session views. */
  sessionSources: SessionCostSource;
  /** The horizon planner, when wired. */
  plan?: PlanSource;
  configPath?: string;
  /** Operator edits go here, laid over `configPath` (which is then never written). */
  overridesPath?: string;
  /** What the process runs with for a config read from the file (the demo's CLI ports, speed-scaled timings). */
  runtimeConfig?: (fromFile: Config) => Config;
  /** Local-controller mode: per charger, its uplink to the cloud CSMS. */
  upstream?: () => readonly UpstreamChargerStatus[];
  /** Chargers anyone reaching a non-loopback OCPP port can connect as (routes/security-routes.ts). */
  unauthenticatedChargers?: () => readonly string[];
  /** Config sections the running services take without a restart (they re-read ctx.config on 'config.changed'). */
  liveConfigSections: readonly string[];
  /** onRequest hook: authenticate, require `role`, and the CSRF header on cookie writes. */
  guard(role: Role): (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** Records a write in the audit log as the request's principal. */
  audit(request: FastifyRequest, action: string, target: string | undefined, before: unknown, after: unknown): void;
}

export const principalOf = (request: FastifyRequest): Principal => {
  if (!request.principal) throw new Error('route without guard reached a principal lookup');
  return request.principal;
};
