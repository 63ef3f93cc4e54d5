// Operator edits kept apart from the installer's config: the systemd unit makes /etc/ems
// read-only and the container mounts the config :ro, so the Settings page saves the top-level
// sections that differ from the installer's file into an overrides file in the state directory.
// The running config is the installer's file with those sections laid over it.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isMap, parseDocument } from 'yaml';
import { formatProblem } from '../config/config-problem.ts';
import { parseConfigText } from '../config/parse-config.ts';
import type { Config } from '../config/schema.ts';
import { loadConfigFile } from './config-file.ts';
import type { Logger } from './log.ts';

export const OVERRIDES_FILE = 'config-overrides.yaml';

/** Where a site's overrides live: beside its database (the state directory); none for an in-memory one. */
export function overridesPathFor(config: Config): string | undefined {
  return config.storage.path === ':memory:' ? undefined : join(dirname(resolve(config.storage.path)), OVERRIDES_FILE);
}

/** The installer's YAML text with the overrides' top-level sections in place of its own (its comments kept). */
export function layerYaml(baseText: string, overridesText: string | undefined): string {
  if (!overridesText?.trim()) return baseText;
  const base = parseDocument(baseText);
  const over = parseDocument(overridesText);
  if (!isMap(over.contents)) return baseText;
  for (const item of over.contents.items) base.set(item.key, item.value);
  return base.toString();
}

/** The top-level sections of `next` that differ from `base`, as a YAML document (empty when none). */
export function overridesText(base: Config, nextText: string, next: Config): { text: string; sections: string[] } {
  const sections = (Object.keys({ ...base, ...next }) as (keyof Config)[]).filter((k) => JSON.stringify(base[k]) !== JSON.stringify(next[k]));
  const doc = parseDocument(nextText);
  const out = parseDocument('{}');
  for (const key of sections) if (doc.has(key)) out.set(key, doc.get(key, true));
  return { text: sections.length ? `# Operator edits from the Settings page, laid over the installer's config.\n# Delete this file to go back to the installer's config.\n${out.toString()}` : '', sections };
}

export function readOverrides(path: string | undefined): string | undefined {
  if (!path || !existsSync(path)) return undefined;
  return readFileSync(path, 'utf8');
}

/**
 * The installer's config with the operator's overrides laid over it. Overrides that no longer fit
 * (the installer's file changed under them) are set aside with one log line; the installer's
 * config then runs as it is.
 */
export function loadLayeredConfig(configPath: string, log: Logger): { config: Config; base: Config; overridesPath?: string; overridden: string[] } {
  const base = loadConfigFile(configPath, { log });
  const overridesPath = overridesPathFor(base);
  const over = readOverrides(overridesPath);
  if (!over) return { config: base, base, overridesPath, overridden: [] };
  const text = layerYaml(readFileSync(configPath, 'utf8'), over);
  const parsed = parseConfigText(text, overridesPath!);
  const errors = parsed.problems.filter((p) => p.severity === 'error');
  if (!parsed.config || errors.length) {
    log.child({ module: 'config' }).error(`config overrides in ${overridesPath} not applied (${errors.map(formatProblem).join('; ')}); running the installer's config ${configPath}`);
    return { config: base, base, overridesPath, overridden: [] };
  }
  const overridden = overridesText(base, text, parsed.config).sections;
  log.child({ module: 'config' }).info({ overridesPath, sections: overridden }, `operator edits from ${overridesPath} laid over ${configPath}`);
  return { config: parsed.config, base, overridesPath, overridden };
}
