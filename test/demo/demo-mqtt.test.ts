// `ems demo` with an MQTT broker: the demo publishes its building submeter on a real Mosquitto and
// the EMS reads it back through its real MQTT adapter as a `driver: mqtt` device.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mqttSchema, type Config } from '../../config/schema.ts';
import { loadConfigFile } from '../../src/config-file.ts';
import { scaleDemoConfig } from '../../src/demo/demo-config.ts';
import { startDemoSite, type DemoSite } from '../../src/demo/demo-site.ts';
import { ScaledClock } from '../../src/demo/scaled-clock.ts';
import { silentLogger } from '../../src/log.ts';
import { freePort, MosquittoBroker } from '../fixtures/mosquitto.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { eventually } from '../devices/context.ts';

function demoConfig(mqttUrl: string): Config {
  const base = scaleDemoConfig(loadConfigFile(new URL('../../config/examples/demo.yaml', import.meta.url).pathname), 2);
  return {
    ...base,
    ocpp: { ...base.ocpp, host: '127.0.0.1', port: 0 },
    http: { ...base.http, host: '127.0.0.1', port: 0 },
    storage: { ...base.storage, path: join(mkdtempSync(join(tmpdir(), 'demo-mqtt-')), 'ems.sqlite') },
    mqtt: mqttSchema.parse({ url: mqttUrl, prefix: 'demo-test' }),
  };
}

describeWithPeer('mosquitto', hasCommand('mosquitto'), 'the demo with an MQTT broker', () => {
  const broker = new MosquittoBroker();
  let demo: DemoSite | undefined;
  let watcher: MqttClient | undefined;
  const published: { W: number }[] = [];

  beforeAll(async () => {
    await broker.start();
  });
  afterAll(async () => {
    await watcher?.endAsync();
    await demo?.stop();
    await broker.stop();
  });

  it('publishes the building submeter as {"W": ...} and the EMS shows the MQTT device online with that value', async () => {
    watcher = await connectAsync(broker.url);
    await watcher.subscribeAsync('demo-test/demo/+/power');
    // (An empty payload is the demo clearing its retained value when it stops.)
    watcher.on('message', (_topic, payload) => payload.length && published.push(JSON.parse(payload.toString()) as { W: number }));

    demo = await startDemoSite({ config: demoConfig(broker.url), log: silentLogger, clock: new ScaledClock(1), initialOccupancy: 0, stepMs: 200 });
    expect(demo.mqttDevice).toEqual({ id: 'building', topic: 'demo-test/demo/building/power' });
    const device = demo.app.ctx.config.devices.find((d) => d.id === 'building');
    expect(device).toMatchObject({ driver: 'mqtt', role: 'load', topic: 'demo-test/demo/building/power', jsonPath: '$.W' });

    const state = demo.app.ctx.state;
    const seen = await eventually(() => {
      const d = state.devices.get('building');
      return d?.health === 'online' && d.reading?.powerW !== undefined && d.reading;
    }, 10_000, 'the MQTT building meter online with a reading');
    // What the EMS read is what went over the broker, and what the simulation computed.
    // The separate client gets the same message, maybe later than the EMS did: wait for that one.
    await eventually(() => published.some((p) => p.W === seen.powerW), 15_000, 'the same publication seen by a separate client');
    expect(published.map((p) => p.W)).toContain(seen.powerW);
    const building = demo.lastReading()!.buildingA;
    expect(seen.powerW).toBeGreaterThan(0);
    expect(Math.abs(seen.powerW! - (building[0] + building[1] + building[2]) * 230)).toBeLessThan(2000);
  });

  it('publishes retained while it runs and clears the retained value when it stops', async () => {
    const late = await connectAsync(broker.url);
    try {
      const first = (topics: string[]) =>
        new Promise<string>((resolve) => {
          late.once('message', (topic) => resolve(topic));
          void late.subscribeAsync(topics).then(() => late.publishAsync('demo-test/sentinel', 'x'));
        });
      // A client that subscribes late gets the current value at once...
      expect(await first(['demo-test/demo/building/power', 'demo-test/sentinel'])).toBe('demo-test/demo/building/power');
      await late.unsubscribeAsync(['demo-test/demo/building/power', 'demo-test/sentinel']);
      await demo!.stop();
      demo = undefined;
      // ...and nothing once the demo has stopped: the sentinel is the first thing it hears.
      expect(await first(['demo-test/demo/building/power', 'demo-test/sentinel'])).toBe('demo-test/sentinel');
    } finally {
      await late.endAsync();
    }
  });
});

describe('the demo without an MQTT broker', () => {
  let demo: DemoSite | undefined;
  afterAll(async () => {
    await demo?.stop();
  });

  it('starts as before: no MQTT device in the running config', async () => {
    const port = await freePort(); // nothing listens there
    const config = demoConfig(`mqtt://127.0.0.1:${port}`);
    demo = await startDemoSite({ config, log: silentLogger, clock: new ScaledClock(1), initialOccupancy: 0, stepMs: 200 });
    expect(demo.mqttDevice).toBeUndefined();
    expect(demo.app.ctx.config.devices.map((d) => d.id)).toEqual(config.devices.map((d) => d.id));
    expect(demo.app.ctx.config.devices.some((d) => d.driver === 'mqtt')).toBe(false);
    expect(demo.lastReading()).toBeDefined();
  });
});
