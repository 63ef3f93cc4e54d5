import type { Config } from '../../config/schema.ts';

/** The configured name of an idTag ("Bus 12"), compared case-insensitively as OCPP does; null when none. */
export function idTagNames(config: Pick<Config, 'idTags'>): (idTag: string) => string | null {
  const names = new Map(config.idTags.filter((t) => t.name).map((t) => [t.idTag.toLowerCase(), t.name!]));
  return (idTag) => names.get(idTag.toLowerCase()) ?? null;
}

/** The tier configured for an idTag, for sessions whose tier was not recorded; null when unknown. */
export function idTagTiers(config: Pick<Config, 'idTags'>): (idTag: string) => string | null {
  const tiers = new Map(config.idTags.map((t) => [t.idTag.toLowerCase(), t.tier]));
  return (idTag) => tiers.get(idTag.toLowerCase()) ?? null;
}
