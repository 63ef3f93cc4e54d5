// A dynamic price feed: an MQTT topic or an HTTP JSON URL, published on the bus as price signals
// (kind 'price' / 'ghg', source 'tariff-feed'), the same timeline OpenADR PRICE events land on.
import mqtt, { type MqttClient } from 'mqtt';
import type { Bus } from '../bus.ts';
import type { Clock } from '../clock.ts';
import { Backoff, MQTT_RECONNECT_PERIOD_MS } from '../../adapters/backoff.ts';
import { EmsError } from '../errors.ts';
import { gridSignal } from '../grid-signal.ts';
import type { Logger } from '../log.ts';
import { parsePricePayload } from './price-payload.ts';

export class PriceFeedError extends EmsError {
  override readonly code = 'PRICE_FEED';
}

export interface PriceFeedOptions {
  driver: 'mqtt' | 'http';
  topic?: string;
  url?: string;
  mqtt?: { url: string; username?: string; password?: string };
  pollIntervalS: number;
  bus: Bus;
  clock: Clock;
  log: Logger;
}

export const PRICE_FEED_SOURCE = 'tariff-feed';

export class PriceFeed {
  private client?: MqttClient;
  private timer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private readonly backoff = new Backoff();
  private failing = false;
  /** When the last good payload arrived, ms. */
  lastUpdateAtMs?: number;

  constructor(private readonly o: PriceFeedOptions) {}

  /** Parses and publishes one payload; a bad payload is logged and changes nothing. */
  accept(text: string): boolean {
    try {
      // Through the one constructor (src/grid-signal.ts): a price with a broken time or value is refused.
      const signals = parsePricePayload(JSON.parse(text), { source: PRICE_FEED_SOURCE, receivedAtMs: this.o.clock.nowMs() }).map((s) => gridSignal(s));
      this.o.bus.emit('signals.changed', { signals, source: PRICE_FEED_SOURCE });
      this.lastUpdateAtMs = this.o.clock.nowMs();
      if (this.failing) this.o.log.info('price feed recovered');
      this.failing = false;
      return true;
    } catch (error) {
      this.fail(new PriceFeedError('price feed payload rejected; keeping the previous prices', { cause: error }));
      return false;
    }
  }

  private fail(error: PriceFeedError): void {
    if (!this.failing) this.o.log.warn({ err: error }, error.message);
    this.failing = true;
  }

  async poll(): Promise<void> {
    if (!this.o.url) return;
    try {
      const response = await fetch(this.o.url, { signal: AbortSignal.timeout(10_000), headers: { accept: 'application/json' } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      this.accept(await response.text());
      this.backoff.succeed();
    } catch (error) {
      this.fail(new PriceFeedError(`price feed ${this.o.url} unreachable; keeping the previous prices`, { cause: error }));
      // The shared policy: retried within seconds rather than a whole poll period later.
      clearTimeout(this.retryTimer);
      if (this.timer) {
        this.retryTimer = setTimeout(() => void this.poll(), Math.min(this.backoff.fail(), this.o.pollIntervalS * 1000));
        this.retryTimer.unref?.();
      }
    }
  }

  async start(): Promise<void> {
    if (this.o.driver === 'http') {
      this.timer = setInterval(() => void this.poll(), this.o.pollIntervalS * 1000);
      this.timer.unref?.();
      await this.poll();
      return;
    }
    if (!this.o.mqtt || !this.o.topic) throw new PriceFeedError('an mqtt price feed needs tariffs.feed.topic and the top-level mqtt.url');
    const client = mqtt.connect(this.o.mqtt.url, { username: this.o.mqtt.username, password: this.o.mqtt.password, reconnectPeriod: MQTT_RECONNECT_PERIOD_MS, connectTimeout: 10_000 });
    this.client = client;
    client.on('connect', () => client.subscribe(this.o.topic!, { qos: 1 }));
    client.on('message', (_topic, payload) => this.accept(payload.toString('utf8')));
    client.on('error', (error) => this.fail(new PriceFeedError('price feed MQTT error', { cause: error })));
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.retryTimer);
    this.timer = undefined;
    const client = this.client;
    this.client = undefined;
    if (client) await client.endAsync(true);
  }
}
