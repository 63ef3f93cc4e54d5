import { pino, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import { redactSecrets } from './secrets.ts';

export type { Logger };

/** `json`: one JSON object a line (for journald, Loki, jq); `pretty`: readable lines; `auto`: pretty on a terminal. */
export type LogFormat = 'json' | 'pretty' | 'auto';

export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty', 'auto'];

/** Every log line passes here: secrets by key and credentials inside URLs are masked (errors kept as they are). */
function maskSecrets(object: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) out[key] = value instanceof Error ? value : redactSecrets({ [key]: value })[key];
  return out;
}

/**
 * The root logger; modules take `log.child({ module: 'ocpp' })`. Level from EMS_LOG_LEVEL, format
 * from `format` or EMS_LOG_FORMAT (default auto: readable when stdout is a terminal, JSON otherwise).
 * Pretty output is formatted in this thread (no worker), so a crash loses no line.
 */
export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream; format?: LogFormat } = {}): Logger {
  const level = options.level ?? process.env.EMS_LOG_LEVEL ?? 'info';
  const settings = { level, formatters: { log: maskSecrets } };
  const format = options.format ?? (LOG_FORMATS.includes(process.env.EMS_LOG_FORMAT as LogFormat) ? (process.env.EMS_LOG_FORMAT as LogFormat) : 'auto');
  const destination = options.destination ?? process.stdout;
  const tty = (destination as NodeJS.WriteStream).isTTY === true;
  if (format === 'pretty' || (format === 'auto' && tty)) {
    const pretty = pinoPretty({
      destination: destination as NodeJS.WritableStream & { write(chunk: string): boolean },
      colorize: tty,
      translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
      ignore: 'pid,hostname',
      messageFormat: '{if module}[{module}] {end}{msg}',
      sync: true,
    });
    return pino(settings, pretty);
  }
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

/** A logger that drops everything, for tests that do not look at logs. */
export const silentLogger: Logger = pino({ level: 'silent' });
