// Reads a site config from disk. The parsing and checks are pure (config/); this adds the file.
import { readFileSync } from 'node:fs';
import { formatProblem, type ConfigProblem } from '../config/config-problem.ts';
import { parseConfigText, type ParsedConfig } from '../config/parse-config.ts';
import type { Config } from '../config/schema.ts';
import { ConfigError } from './errors.ts';
import type { Logger } from './log.ts';

/** A config file that cannot be used; `problems` holds only its errors, its message lists them with lines. */
export class ConfigFileError extends ConfigError {
  constructor(
    readonly file: string,
    problems: readonly ConfigProblem[],
    options?: { cause?: unknown },
  ) {
    super(problems, options);
    this.message = [`${file}: invalid config`, ...problems.map((p) => `  ${formatProblem(p)}`)].join('\n');
  }
}

/** Parses the file at `path`; an unreadable file comes back as one problem addressed at the file. */
export function readConfigFile(path: string): ParsedConfig & { readError?: unknown } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot read the file (${(cause as Error).message})`;
    return { problems: [{ path, message: reason, severity: 'error' }], readError: cause };
  }
  return parseConfigText(text, path);
}

/**
 * Loads and validates a site config. Throws ConfigFileError (a ConfigError, code CONFIG_INVALID)
 * listing every error; warnings go to `log` and do not stop the load.
 */
export function loadConfigFile(path: string, options: { log?: Logger } = {}): Config {
  const parsed = readConfigFile(path);
  const errors = parsed.problems.filter((p) => p.severity === 'error');
  if (!parsed.config || errors.length > 0) throw new ConfigFileError(path, errors, { cause: parsed.readError });
  const log = options.log?.child({ module: 'config' });
  for (const warning of parsed.problems.filter((p) => p.severity === 'warning')) {
    log?.warn({ file: path, path: warning.path, line: warning.line }, warning.message);
  }
  return parsed.config;
}
