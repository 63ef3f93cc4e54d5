import { pino, type Logger } from 'pino';
import { redactSecrets } from './secrets.ts';

export type { Logger };

/** Every log line passes here: secrets by key and credentials inside URLs are masked (errors kept as they are). */
function maskSecrets(object: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) out[key] = value instanceof Error ? value : redactSecrets({ [key]: value })[key];
  return out;
}

/** The root logger; modules take `log.child({ module: 'ocpp' })`. Level from EMS_LOG_LEVEL. */
export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = options.level ?? process.env.EMS_LOG_LEVEL ?? 'info';
  const settings = { level, formatters: { log: maskSecrets } };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

/** A logger that drops everything, for tests that do not look at logs. */
export const silentLogger: Logger = pino({ level: 'silent' });
