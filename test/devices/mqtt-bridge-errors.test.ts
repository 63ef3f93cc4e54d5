// The MQTT bridge's faults on /metrics: a real Mosquitto is killed while the bridge is connected
// and started again on the same port; /metrics (a real HTTP service reading the bridge) shows the
// outage as one connection error however many reconnect attempts failed, the link down then up,
// and a refused command as a command error. The log says it once when it goes and once when back.
import { spawnSync } from 'node:child_process';
import { connectAsync } from 'mqtt';
import { afterAll, expect, it } from 'vitest';
import { createMqttBridge, type MqttBridge } from '../../src/devices/mqtt-bridge.ts';
import { createApiFixture, type ApiFixture } from '../api/api-fixture.ts';
import { MosquittoBroker } from '../fixtures/mosquitto.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { eventually, testContext } from './context.ts';

const broker = new MosquittoBroker();

describeWithPeer('mosquitto', hasCommand('mosquitto'), 'MQTT bridge errors on /metrics', () => {
  let bridge: MqttBridge | undefined;
  let api: ApiFixture | undefined;
  afterAll(async () => {
    await bridge?.stop();
    await api?.close();
    await broker.stop();
  });

  it('counts a broker outage once, a refused command, and shows the link down and back up', async () => {
    await broker.start();
    const ctx = testContext({
      grid: { maxCurrent: 63, meter: 'grid' },
      chargers: [{ id: 'CP1', connectors: 1 }],
      devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
      mqtt: { url: broker.url, prefix: 'ems/errors', homeAssistant: false, publishIntervalMs: 100 },
    });
    bridge = createMqttBridge(ctx, ctx.config.mqtt!);
    await bridge.start();
    const b = bridge;
    api = await createApiFixture({ deps: { mqttStats: () => b.stats() } });
    const metrics = async () => (await api!.inject({ method: 'GET', url: '/metrics' })).body;

    expect(await metrics()).toMatch(/^ems_mqtt_connected 1$/m);
    expect(await metrics()).toMatch(/^ems_mqtt_errors_total\{kind="connection"\} 0$/m);

    // A command for a connector with no session is refused.
    const client = await connectAsync(broker.url);
    await client.publishAsync('ems/errors/connectors/CP1/1/paused/set', 'true');
    await client.endAsync();
    await eventually(() => b.stats().rejectedCommands === 1, 5000, 'the command refused');

    const port = broker.port;
    await broker.stop();
    await eventually(() => !b.stats().connected, 10_000, 'the bridge sees the broker gone');
    // Let reconnect attempts fail (the bridge retries in the background) before the broker is back.
    await eventually(() => ctx.logLines.filter((l) => l.msg === 'MQTT connection error; reconnecting').length >= 1, 15_000, 'a failed reconnect');
    expect(await metrics()).toMatch(/^ems_mqtt_connected 0$/m);
    await broker.start(port);
    await eventually(() => b.stats().connected, 20_000, 'the bridge connected again');

    const text = await metrics();
    expect(text).toMatch(/^ems_mqtt_connected 1$/m);
    expect(text).toMatch(/^ems_mqtt_errors_total\{kind="connection"\} 1$/m);
    expect(text).toMatch(/^ems_mqtt_errors_total\{kind="command"\} 1$/m);
    expect(text).toMatch(/^ems_mqtt_errors_total\{kind="publish"\} 0$/m);
    // Logged once when it went and once when it came back, not per retry.
    expect(ctx.logLines.filter((l) => l.msg === 'MQTT connection error; reconnecting')).toHaveLength(1);
    expect(ctx.logLines.filter((l) => l.msg === 'MQTT broker connected again')).toHaveLength(1);
    if (hasCommand('promtool')) {
      const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(`${check.stdout}${check.stderr}`.trim()).toBe('');
    }
  }, 60_000);
});
