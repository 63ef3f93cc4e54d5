import mqtt, { type MqttClient } from 'mqtt';
import { MQTT_RECONNECT_PERIOD_MS } from '../../../adapters/backoff.ts';
import type { Logger } from '../../log.ts';
import { OpenAdrTransportError } from '../errors.ts';
import type { z } from 'zod';
import type { notifiersSchema } from './schemas.ts';

const CONNECT_TIMEOUT_MS = 10_000;

type MqttBinding = NonNullable<z.infer<typeof notifiersSchema>['MQTT']>;

export interface MqttNotifierOptions {
  binding: MqttBinding;
  clientId?: string | undefined;
  /** The OAuth2 bearer token, for OAUTH2_BEARER_TOKEN authentication. */
  token?: string | undefined;
  log: Logger;
  onNotification(body: unknown, topic: string): void;
}

/**
 * The VTN's MQTT notifier binding (3.1): the VEN connects out to the broker the VTN names and
 * subscribes to the topics it lists, so notifications reach a gateway behind NAT.
 */
export class MqttNotifier {
  private client: MqttClient | undefined;
  private readonly topics = new Set<string>();

  constructor(private readonly options: MqttNotifierOptions) {}

  async connect(): Promise<void> {
    const { binding, log } = this.options;
    const auth = binding.authentication;
    const url = binding.URIS[0];
    const client = mqtt.connect(url, {
      reconnectPeriod: MQTT_RECONNECT_PERIOD_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      ...(auth.method === 'OAUTH2_BEARER_TOKEN'
        ? { username: auth.username === '{clientID}' ? (this.options.clientId ?? '') : auth.username, password: this.options.token ?? '' }
        : {}),
      ...(auth.method === 'CERTIFICATE' ? { ca: auth.caCert, cert: auth.clientCert, key: auth.clientKey } : {}),
    });
    this.client = client;
    client.on('message', (topic, payload) => {
      let body: unknown;
      try {
        body = JSON.parse(payload.toString('utf8'));
      } catch {
        log.warn({ topic }, 'MQTT notification is not JSON; ignored');
        return;
      }
      this.options.onNotification(body, topic);
    });
    client.on('connect', () => {
      if (this.topics.size) client.subscribe([...this.topics], { qos: 1 });
    });
    client.on('error', (error) => log.warn({ err: error }, 'MQTT notifier error'));
    // Bounded: a broker that never answers must not stall the poll loop.
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => reject(new OpenAdrTransportError(`MQTT notifier ${url}: no connection within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
        client.once('connect', () => resolve());
        client.once('error', (error) => reject(new OpenAdrTransportError(`MQTT notifier ${url}: ${error.message}`, undefined, { cause: error })));
      });
    } catch (error) {
      await client.endAsync(true);
      this.client = undefined;
      throw error;
    } finally {
      clearTimeout(timer);
    }
    log.info({ url }, 'connected to the VTN MQTT notifier');
  }

  async subscribe(topics: readonly string[]): Promise<void> {
    const fresh = topics.filter((t) => !this.topics.has(t));
    if (!fresh.length || !this.client) return;
    for (const topic of fresh) this.topics.add(topic);
    await this.client.subscribeAsync(fresh, { qos: 1 });
  }

  async close(): Promise<void> {
    await this.client?.endAsync(true);
    this.client = undefined;
  }
}
