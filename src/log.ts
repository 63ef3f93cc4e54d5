import { pino, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import { redactSecretText, redactSecretsInText } from './secrets.ts';

export type { Logger };

/** `json`: one JSON object a line (for journald, Loki, jq); `pretty`: readable lines; `auto`: pretty on a terminal. */
export type LogFormat = 'json' | 'pretty' | 'auto';

export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty', 'auto'];

/**
 * Every log line's fields pass here: secrets by key, and secrets inside any string (URL
 * credentials, `password=…`, Basic/Bearer) are masked. An error becomes its serialized form
 * (type, message, stack, cause) with the same masking, whatever key it is logged under.
 */
function maskSecrets(object: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    // pino serializes `err` after this hook (and needs an Error for it); other keys get the serialized form.
    if (value instanceof Error) out[key] = key === 'err' ? maskError(value) : redactSecretsInText(pino.stdSerializers.err(value));
    else out[key] = redactSecretsInText({ [key]: value })[key];
  }
  return out;
}

/** A copy of the error (same class, so pino names its type) with message, stack, cause and fields masked. */
function maskError(error: Error): Error {
  const copy = Object.create(Object.getPrototypeOf(error) as object) as Error;
  for (const [key, value] of Object.entries(error)) (copy as unknown as Record<string, unknown>)[key] = redactSecretsInText({ [key]: value })[key];
  Object.defineProperty(copy, 'message', { value: redactSecretText(error.message), writable: true, configurable: true });
  Object.defineProperty(copy, 'stack', { value: error.stack === undefined ? undefined : redactSecretText(error.stack), writable: true, configurable: true });
  if (error.cause !== undefined) Object.defineProperty(copy, 'cause', { value: error.cause instanceof Error ? maskError(error.cause) : redactSecretsInText(error.cause), writable: true, configurable: true });
  return copy;
}

/** The message text and its printf arguments pass here (the fields go through maskSecrets). */
function maskMessage(this: Logger, args: unknown[], method: (...args: unknown[]) => void): void {
  // log.error(error[, msg]) is pino's short form of log.error({ err: error }, msg ?? error.message).
  const [first, ...rest] = args;
  const full = first instanceof Error ? [{ err: first }, ...(rest.length ? rest : [first.message])] : args;
  method.apply(this, full.map((arg) => (typeof arg === 'string' ? redactSecretText(arg) : arg)));
}

/**
 * The root logger; modules take `log.child({ module: 'ocpp' })`. Level from EMS_LOG_LEVEL, format
 * from `format` or EMS_LOG_FORMAT (default auto: readable when stdout is a terminal, JSON otherwise).
 * Pretty output is formatted in this thread (no worker), so a crash loses no line.
 */
export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream; format?: LogFormat } = {}): Logger {
  const level = options.level ?? process.env.EMS_LOG_LEVEL ?? 'info';
  const settings = { level, formatters: { log: maskSecrets }, hooks: { logMethod: maskMessage } };
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
