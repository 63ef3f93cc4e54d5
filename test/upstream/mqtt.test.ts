// Local-controller status on MQTT, through a real Mosquitto broker.
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMqttBridge, type MqttBridge } from '../../src/devices/mqtt-bridge.ts';
import { MosquittoBroker } from '../fixtures/mosquitto.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { relayConfig, startLocalController } from './local-controller.ts';
import { StrictCharger, TestCsms } from './peers.ts';

const broker = new MosquittoBroker();

describeWithPeer('mosquitto', hasCommand('mosquitto'), 'local controller on MQTT', () => {
  let observer: MqttClient;
  const seen = new Map<string, string>();
  beforeAll(async () => {
    await broker.start();
    observer = await connectAsync(broker.url);
    observer.on('message', (topic, payload) => seen.set(topic, payload.toString()));
    await observer.subscribeAsync('ems/relay/chargers/#');
  });
  afterAll(async () => {
    await observer?.endAsync();
    await broker.stop();
  });

  it('publishes per charger the charger link, the uplink, the queue and the last message each way', async () => {
    const csms = new TestCsms();
    await csms.start();
    const config = relayConfig(csms.url, { mqtt: { url: broker.url, prefix: 'ems/relay', homeAssistant: false, publishIntervalMs: 100 } });
    const ems = await startLocalController(config);
    const bridge: MqttBridge = createMqttBridge(ems.ctx, config.mqtt!, { upstream: () => ems.upstream.status() });
    const charger = new StrictCharger(ems.cs.port, 'CP16', 'ocpp1.6');
    try {
      await charger.connect();
      await waitFor(() => csms.clients.has('CLOUD-CP16'), 'uplink');
      await charger.boot();
      await bridge.start();
      // One publish round sends the topics one after another: wait for the round's last one.
      await waitFor(() => seen.get('ems/relay/chargers/CP16/upstream/uplink') === 'online', 'uplink on MQTT');
      await waitFor(() => seen.has('ems/relay/chargers/CS201/upstream/lastToCsms'), 'the whole round on MQTT');
      expect(seen.get('ems/relay/chargers/CP16/upstream/chargerLink')).toBe('connected');
      expect(seen.get('ems/relay/chargers/CP16/upstream/queue')).toBe('0');
      expect(seen.get('ems/relay/chargers/CP16/upstream/lastFromCsms')).toMatch(/^2026-11-24T10:00:00/);
      expect(seen.get('ems/relay/chargers/CS201/upstream/chargerLink')).toBe('disconnected');
    } finally {
      await bridge.stop();
      await charger.close().catch(() => undefined);
      await ems.stop();
      await csms.stop();
    }
  });
});
