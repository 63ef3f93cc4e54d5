// The demo's MQTT device: the building's submeter published as JSON `{"W": 1234}` on a topic of
// the configured broker, like a Tasmota/Shelly meter would, and the `driver: mqtt` config entry
// that makes the EMS read it through its real MQTT adapter. No broker reachable: no source.
import { connect, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { mqttDeviceSchema, type Config, type DeviceConfig, type MqttConfig } from '../../config/schema.ts';
import { EmsError } from '../errors.ts';

export class DemoMqttError extends EmsError {
  override readonly code = 'DEMO_MQTT';
}

export interface DemoMqttSource {
  readonly deviceId: string;
  readonly topic: string;
  /** Publish one value (W); dropped quietly while the broker is away. */
  publish(powerW: number): void;
  stop(): Promise<void>;
}

export interface DemoMqttSourceOptions {
  mqtt: MqttConfig;
  log: Logger;
  deviceId?: string;
  connectTimeoutMs?: number;
}

/** The demo's topic under the site's MQTT prefix. */
export const demoMqttTopic = (mqtt: MqttConfig, deviceId: string) => `${mqtt.prefix}/demo/${deviceId}/power`;

/** Connects to the broker; resolves undefined (one warning) when it cannot be reached in time. */
export async function startDemoMqttSource(options: DemoMqttSourceOptions): Promise<DemoMqttSource | undefined> {
  const log = options.log.child({ module: 'demo-mqtt' });
  const deviceId = options.deviceId ?? 'building';
  const topic = demoMqttTopic(options.mqtt, deviceId);
  const timeoutMs = options.connectTimeoutMs ?? 3000;
  let client: MqttClient;
  try {
    client = await connectWithin(options.mqtt, timeoutMs);
  } catch (error) {
    log.warn({ url: options.mqtt.url, err: (error as Error).message }, 'no MQTT broker for the demo: its MQTT device is left out');
    return undefined;
  }
  client.on('error', (error) => log.debug({ err: error.message }, 'demo MQTT connection error'));
  log.info({ url: options.mqtt.url, topic }, 'demo MQTT source publishing');
  return {
    deviceId,
    topic,
    publish(powerW) {
      if (!client.connected) return;
      // Retained, so the EMS has a value the moment it subscribes; cleared again on stop.
      client.publish(topic, JSON.stringify({ W: Math.round(powerW) }), { qos: 0, retain: true }, (error) => {
        if (error) log.debug({ err: error.message }, 'demo MQTT publish failed');
      });
    },
    async stop() {
      if (client.connected) await client.publishAsync(topic, '', { qos: 1, retain: true }).catch(() => undefined);
      await client.endAsync().catch(() => undefined);
    },
  };
}

function connectWithin(mqtt: MqttConfig, timeoutMs: number): Promise<MqttClient> {
  const client = connect(mqtt.url, { username: mqtt.username, password: mqtt.password, connectTimeout: timeoutMs, reconnectPeriod: 1000, queueQoSZero: false });
  return new Promise((resolve, reject) => {
    const settle = (error?: Error) => {
      clearTimeout(timer);
      client.off('connect', onConnect);
      client.off('error', onError);
      if (!error) return resolve(client);
      // Refused or silent: stop the client's reconnect loop too.
      client.end(true);
      reject(error instanceof DemoMqttError ? error : new DemoMqttError(`cannot connect to ${mqtt.url}: ${error.message}`, { cause: error }));
    };
    const onConnect = () => settle();
    const onError = (error: Error) => settle(error);
    const timer = setTimeout(() => settle(new DemoMqttError(`no MQTT broker answered at ${mqtt.url} within ${timeoutMs} ms`)), timeoutMs);
    client.once('connect', onConnect);
    client.once('error', onError);
  });
}

/** The config entry that reads the demo's MQTT source (informational `load` role: it never controls anything). */
export function demoMqttDevice(config: Config, source: Pick<DemoMqttSource, 'deviceId' | 'topic'>): DeviceConfig {
  if (config.devices.some((d) => d.id === source.deviceId)) throw new DemoMqttError(`device id ${source.deviceId} already exists in the config`);
  return mqttDeviceSchema.parse({ id: source.deviceId, role: 'load', driver: 'mqtt', topic: source.topic, jsonPath: '$.W', control: false });
}
