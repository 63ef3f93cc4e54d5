import { RECONNECT_POLICY } from '../../adapters/backoff.ts';
import { InfluxDB, type IPoint } from 'influx';
import type { InfluxConfig } from '../../config/schema.ts';
import type { Service, ServiceContext } from '../service.ts';
import { InfluxTimeoutError, InfluxWriteError } from './export-errors.ts';
import { influxPoints } from './influx-points.ts';

export interface InfluxExportStats {
  /** Points not yet written: waiting in the offline buffer or in the write under way. */
  buffered: number;
  written: number;
  /** Points dropped (oldest first) because the buffer was full. */
  dropped: number;
  failedWrites: number;
  lastError?: string;
}

/** Where points go; the real one is the influx package's writePoints. Tests may pass a fake. */
export type PointWriter = (points: IPoint[]) => Promise<void>;

export interface InfluxExport extends Service {
  readonly stats: InfluxExportStats;
  /** Writes what is buffered now (one batch at a time); resolves when done or failed. */
  flush(): Promise<void>;
}

function influxWriter(options: InfluxConfig): PointWriter {
  const url = new URL(options.url);
  const client = new InfluxDB({
    hosts: [{ host: url.hostname, port: Number(url.port || (url.protocol === 'https:' ? 443 : 8086)), protocol: url.protocol === 'https:' ? 'https' : 'http', options: {} }],
    database: options.database,
    username: options.username ?? (decodeURIComponent(url.username) || undefined),
    password: options.password ?? (decodeURIComponent(url.password) || undefined),
    pool: { requestTimeout: options.timeoutMs, maxRetries: 0 },
  });
  return (points) => client.writePoints(points, { precision: 'ms', retentionPolicy: options.retentionPolicy });
}

/**
 * Exports site, connector and device samples to InfluxDB (line protocol over the 1.x HTTP API).
 * The bus listener only builds points and appends them to a bounded buffer; writes happen on a
 * timer, one batch at a time, with a timeout and backoff. A slow or dead InfluxDB therefore never
 * delays control: at worst the oldest buffered points are dropped and counted.
 */
export function createInfluxExport(ctx: ServiceContext, options: InfluxConfig, deps: { writer?: PointWriter } = {}): InfluxExport {
  const log = ctx.log.child({ module: 'influx' });
  const write = deps.writer ?? influxWriter(options);
  const stats: InfluxExportStats = { buffered: 0, written: 0, dropped: 0, failedWrites: 0 };
  let buffer: IPoint[] = [];
  let writingPoints = 0;
  let lastSampleAtMs = -Infinity;
  let inFlight: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  // Backoff is I/O pacing in real (monotonic) time, not site time.
  let retryAtMs = 0;
  let backoffMs = 0;
  let off: (() => void) | undefined;

  const trim = () => {
    const overflow = buffer.length - options.maxBufferPoints;
    if (overflow > 0) {
      buffer.splice(0, overflow);
      stats.dropped += overflow;
    }
    stats.buffered = buffer.length + writingPoints;
  };

  const withTimeout = (promise: Promise<void>) =>
    new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new InfluxTimeoutError(`InfluxDB did not answer within ${options.timeoutMs} ms`)), options.timeoutMs);
      promise.then(
        () => (clearTimeout(t), resolve()),
        (cause) => (clearTimeout(t), reject(new InfluxWriteError(`InfluxDB write failed: ${(cause as Error).message}`, { cause }))),
      );
    });

  const writeBatch = async (): Promise<void> => {
    const batch = buffer.splice(0, options.batchSize);
    writingPoints = batch.length;
    try {
      await withTimeout(write(batch));
      writingPoints = 0;
      stats.written += batch.length;
      stats.buffered = buffer.length;
      if (stats.lastError) log.info({ written: batch.length }, 'InfluxDB export works again');
      stats.lastError = undefined;
      backoffMs = 0;
    } catch (error) {
      // Put the batch back in front (its points are older than what arrived meanwhile).
      writingPoints = 0;
      buffer = batch.concat(buffer);
      trim();
      stats.failedWrites += 1;
      if (!stats.lastError) log.warn({ err: error }, 'InfluxDB export failing; buffering points');
      stats.lastError = (error as Error).message;
      // The shared reconnect policy (adapters/backoff.ts): back within seconds once InfluxDB is.
      backoffMs = Math.min(RECONNECT_POLICY.maxMs, backoffMs ? backoffMs * RECONNECT_POLICY.factor : RECONNECT_POLICY.initialMs);
      retryAtMs = performance.now() + backoffMs;
    }
  };

  const flush = (): Promise<void> => {
    if (inFlight) return inFlight;
    if (buffer.length === 0 || performance.now() < retryAtMs) return Promise.resolve();
    inFlight = (async () => {
      try {
        do await writeBatch();
        while (buffer.length >= options.batchSize && !stats.lastError);
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };

  const onDecision = (decision: Parameters<typeof influxPoints>[2]) => {
    if (decision.atMs - lastSampleAtMs < options.sampleIntervalMs) return;
    lastSampleAtMs = decision.atMs;
    buffer.push(...influxPoints(ctx.state, ctx.config, decision, options.measurementPrefix));
    trim();
    if (buffer.length >= options.batchSize) setImmediate(() => void flush());
  };

  return {
    name: 'influx-export',
    stats,
    flush,
    async start() {
      off = ctx.bus.on('decision', onDecision);
      timer = setInterval(() => void flush(), options.flushIntervalMs);
      timer.unref();
      log.info({ url: options.url, database: options.database }, 'exporting to InfluxDB');
    },
    async stop() {
      off?.();
      off = undefined;
      if (timer) clearInterval(timer);
      timer = undefined;
      retryAtMs = 0;
      await flush();
      if (buffer.length) log.warn({ points: buffer.length }, 'InfluxDB export stopped with unsent points');
    },
  };
}
