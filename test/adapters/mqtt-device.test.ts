import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { StaleSourceError } from '../../adapters/errors.ts';
import { MqttDevice } from '../../adapters/mqtt/mqtt-device.ts';
import { silentLogger } from '../../src/log.ts';
import { MosquittoBroker } from '../fixtures/mosquitto.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { eventually } from '../devices/context.ts';

const broker = new MosquittoBroker();

describeWithPeer('mosquitto', hasCommand('mosquitto'), 'MQTT device (Victron-style topics on a real broker)', () => {
  let ems: MqttClient;
  let site: MqttClient;
  const commands: { topic: string; payload: string }[] = [];
  beforeAll(async () => {
    await broker.start();
    ems = await connectAsync(broker.url);
    site = await connectAsync(broker.url);
    site.on('message', (topic, payload) => commands.push({ topic, payload: payload.toString() }));
    await site.subscribeAsync('W/#');
  });
  afterAll(async () => {
    await ems?.endAsync();
    await site?.endAsync();
    await broker.stop();
  });

  it('combines power, SoC and phase currents from several topics, with scale and sign', async () => {
    let updates = 0;
    const battery = new MqttDevice({
      deviceId: 'bess',
      role: 'battery',
      client: ems,
      // Victron counts battery power + when charging: sign −1 makes it + discharge.
      power: { topic: 'N/gx/system/0/Dc/Battery/Power', jsonPath: '$.value' },
      soc: { topic: 'N/gx/system/0/Dc/Battery/Soc', jsonPath: '$.value' },
      currents: [{ topic: 'N/gx/a/L1', scale: 0.001 }, { topic: 'N/gx/a/L2', scale: 0.001 }, { topic: 'N/gx/a/L3', scale: 0.001 }],
      setpointTopic: 'W/gx/settings/0/Settings/CGwacs/AcPowerSetPoint',
      sign: -1,
      staleAfterMs: 60_000,
      nowMs: Date.now,
      log: silentLogger,
      onUpdate: () => updates++,
    });
    await battery.start();
    await expect(battery.read()).rejects.toBeInstanceOf(StaleSourceError);
    await site.publishAsync('N/gx/system/0/Dc/Battery/Power', '{"value": 1200}');
    await site.publishAsync('N/gx/system/0/Dc/Battery/Soc', '{"value": 72.5}');
    for (const [i, mA] of [5000, 5100, 4900].entries()) await site.publishAsync(`N/gx/a/L${i + 1}`, String(mA));
    await eventually(() => updates >= 5, 5000, 'five messages');
    const reading = await battery.read();
    expect(reading.powerW).toBe(-1200);
    expect(reading.socPct).toBe(72.5);
    expect(reading.currentA).toEqual([-5, -5.1, -4.9]);
    await battery.setPowerW(3000);
    await eventually(() => commands.find((c) => c.topic.endsWith('AcPowerSetPoint')), 5000, 'setpoint');
    expect(commands.at(-1)).toEqual({ topic: 'W/gx/settings/0/Settings/CGwacs/AcPowerSetPoint', payload: '-3000' });
    await battery.stop();
  });
});
