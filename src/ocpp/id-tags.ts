import type { Config, IdTagConfig } from '../../config/schema.ts';
import { nextLocalTimeMs } from './local-time.ts';

export interface Authorization {
  status: 'Accepted' | 'Invalid';
  /** Tier the session charges at; the lowest tier for an unknown tag. */
  tier: string;
  known: boolean;
}

export interface SessionDefaults {
  tier: string;
  departureAtMs?: number;
  energyNeedWh?: number;
  /** Why the departure could not be computed, if it could not. */
  departureProblem?: string;
}

/**
 * The local authorization list. Tags compare case-insensitively (OCPP idTags are CiString20).
 * Unknown tags are Invalid, or Accepted at the lowest tier when control.acceptUnknownIdTags is set.
 */
export class IdTagDirectory {
  private readonly tags = new Map<string, IdTagConfig>();
  readonly lowestTier: string;

  constructor(
    private readonly config: Pick<Config, 'idTags' | 'control' | 'site'>,
    /** Local-controller mode: a tag the cloud CSMS accepted (not on the local list) is accepted too. */
    private readonly acceptedElsewhere?: (idTag: string) => boolean,
  ) {
    for (const tag of config.idTags) this.tags.set(tag.idTag.toLowerCase(), tag);
    const tiers = Object.entries(config.control.tiers).sort((a, b) => a[1] - b[1]);
    this.lowestTier = tiers[0]?.[0] ?? 'guest';
  }

  lookup(idTag: string): IdTagConfig | undefined {
    return this.tags.get(idTag.toLowerCase());
  }

  authorize(idTag: string): Authorization {
    const tag = this.lookup(idTag);
    if (tag) return { status: 'Accepted', tier: tag.tier, known: true };
    if (this.acceptedElsewhere?.(idTag)) return { status: 'Accepted', tier: this.lowestTier, known: false };
    return { status: this.config.control.acceptUnknownIdTags ? 'Accepted' : 'Invalid', tier: this.lowestTier, known: false };
  }

  /** Tier, departure and energy need of a session that starts now with this tag on this charger. */
  sessionDefaults(idTag: string, chargerTier: string | undefined, startedAtMs: number): SessionDefaults {
    const tag = this.lookup(idTag);
    const result: SessionDefaults = { tier: tag?.tier ?? chargerTier ?? this.lowestTier };
    if (tag?.energyNeedWh !== undefined) result.energyNeedWh = tag.energyNeedWh;
    if (tag?.departure !== undefined) {
      try {
        result.departureAtMs = nextLocalTimeMs(startedAtMs, tag.departure, this.config.site.timezone);
      } catch (error) {
        result.departureProblem = error instanceof Error ? error.message : String(error);
      }
    }
    return result;
  }
}
