import type { OpenAdrConfig } from '../../config/schema.ts';
import type { Service, ServiceContext } from '../service.ts';
import { openAdrConfigWarnings } from './config-checks.ts';
import type { SignalSinkLike, VenStatus } from './types.ts';
import { createVen2bService } from './ven2b/ven2b-service.ts';
import { createVen3Service } from './ven3/ven3-service.ts';

export interface OpenAdrDeps {
  /** The grid-signal timeline (src/signals createSignalTimeline fits). */
  sink: SignalSinkLike;
}

export type OpenAdrService = Service & { status(): VenStatus };

/** One VEN for one configured VTN entry, by protocol version. */
export function createOpenAdrService(ctx: ServiceContext, config: OpenAdrConfig, deps: OpenAdrDeps): OpenAdrService {
  return config.version === '2.0b' ? createVen2bService(ctx, config, deps) : createVen3Service(ctx, config, deps);
}

/** A VEN per `openadr:` entry in the site config (none when the section is absent). */
export function createOpenAdrServices(ctx: ServiceContext, deps: OpenAdrDeps): OpenAdrService[] {
  const log = ctx.log.child({ module: 'openadr' });
  for (const warning of openAdrConfigWarnings(ctx.config, ctx.clock.nowMs())) log.warn({ path: warning.path }, `${warning.path}: ${warning.message}`);
  return (ctx.config.openadr ?? []).map((entry) => createOpenAdrService(ctx, entry, deps));
}
