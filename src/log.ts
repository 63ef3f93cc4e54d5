import { pino, type Logger } from 'pino';

export type { Logger };

/** The root logger; modules take `log.child({ module: 'ocpp' })`. Level from EMS_LOG_LEVEL. */
export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = options.level ?? process.env.EMS_LOG_LEVEL ?? 'info';
  return options.destination ? pino({ level }, options.destination) : pino({ level });
}

/** A logger that drops everything, for tests that do not look at logs. */
export const silentLogger: Logger = pino({ level: 'silent' });
