import mqtt, { type MqttClient } from 'mqtt';
import { MQTT_RECONNECT_PERIOD_MS } from '../../adapters/backoff.ts';
import type { Service, ServiceContext } from '../service.ts';
import { parseSignalInput } from './signal-input.ts';
import type { SignalSink } from './types.ts';

const START_WAIT_MS = 5_000;

export interface MqttSignalSourceOptions {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  /** Topic prefix; signals arrive on `<prefix>/signals/<producer>/set`. */
  prefix: string;
}

/**
 * Grid signals over MQTT: each producer (a grid operator's control box, a script) publishes its
 * full current set as JSON to `<prefix>/signals/<producer>/set`; an empty payload or [] clears it.
 * Bad input is logged once per producer and the previous set stays.
 */
export function createMqttSignalSource(ctx: ServiceContext, sink: Pick<SignalSink, 'submit'>, options: MqttSignalSourceOptions): Service {
  const log = ctx.log.child({ module: 'signals-mqtt' });
  const filter = `${options.prefix}/signals/+/set`;
  const lastError = new Map<string, string>();
  let client: MqttClient | undefined;

  const onMessage = (topic: string, payload: Buffer) => {
    const producer = topic.slice(options.prefix.length + '/signals/'.length, -'/set'.length);
    const source = `mqtt:${producer}`;
    try {
      const text = payload.toString('utf8').trim();
      let input: unknown = [];
      if (text) {
        try {
          input = JSON.parse(text);
        } catch {
          throw new Error('payload is not JSON');
        }
      }
      sink.submit(source, parseSignalInput(input, source, ctx.clock.nowMs()));
      if (lastError.delete(source)) log.info({ source }, 'signals accepted again');
    } catch (error) {
      const message = (error as Error).message;
      if (lastError.get(source) !== message) log.warn({ source, topic }, `rejected grid signals: ${message}`);
      lastError.set(source, message);
    }
  };

  return {
    name: 'signals-mqtt',
    async start() {
      // The handlers hold this link, not `client`: stop() clears `client` while the link may still
      // finish a connect (or a reconnect) it had started.
      const link = mqtt.connect(options.url, { username: options.username, password: options.password, reconnectPeriod: MQTT_RECONNECT_PERIOD_MS });
      client = link;
      link.on('message', onMessage);
      link.on('error', (error) => log.warn({ err: error }, 'MQTT signal source error'));
      // Waits (bounded) for the first subscription so signals sent right after start are not lost;
      // a broker that is down never holds up the start: the client keeps reconnecting.
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        timer = setTimeout(resolve, START_WAIT_MS);
        link.on('connect', () => link.subscribe(filter, { qos: 1 }, () => resolve()));
        link.once('error', () => resolve());
      });
      clearTimeout(timer);
    },
    async stop() {
      await client?.endAsync(true);
      client = undefined;
    },
  };
}
