import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { Bus } from '../../src/bus.ts';
import { systemClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import type { ServiceContext } from '../../src/service.ts';
import { createMqttSignalSource } from '../../src/signals/mqtt-signal-source.ts';
import { parseSignalInput } from '../../src/signals/signal-input.ts';
import { createMemorySignalStore } from '../../src/signals/signal-store.ts';
import { createSignalTimeline } from '../../src/signals/timeline-service.ts';
import { SiteState } from '../../src/state/site-state.ts';
import { MosquittoBroker } from '../fixtures/mosquitto.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { waitFor } from '../helpers/wait-for.ts';
import mqtt from 'mqtt';

const NOW = Date.parse('2026-11-24T16:00:00Z');

describe('signals from an operator or a grid box', () => {
  it('reads one signal or a list, with an end or a duration', () => {
    expect(parseSignalInput({ kind: 'import-limit', value: 40_000, durationS: 900 }, 'http:box', NOW)).toEqual([
      { id: 'import-limit-0', eventId: 'import-limit-0', source: 'http:box', kind: 'import-limit', value: 40_000, startMs: NOW, endMs: NOW + 900_000 },
    ]);
    const list = parseSignalInput(
      [
        { id: 'p1', kind: 'price', value: 0.31, start: '2026-11-24T17:00:00Z', end: '2026-11-24T18:00:00Z' },
        { kind: 'alert', value: 1, start: NOW, durationS: 60, text: 'grid emergency' },
      ],
      'mqtt:box',
      NOW,
    );
    expect(list.map((s) => [s.id, s.startMs - NOW, s.endMs - NOW, s.text])).toEqual([
      ['p1', 3600_000, 7200_000, undefined],
      ['alert-1', 0, 60_000, 'grid emergency'],
    ]);
    expect(parseSignalInput([], 'x', NOW)).toEqual([]);
  });

  it.each([
    [{ kind: 'import-limit', value: 1000 }, /exactly one of end, durationS or open/],
    [{ kind: 'import-limit', value: -5, durationS: 60 }, /cannot be negative/],
    [{ kind: 'speed-limit', value: 5, durationS: 60 }, /kind/],
    [{ kind: 'price', value: 0.2, durationS: 60, start: 'tomorrow' }, /ISO 8601/],
    ['40 kW please', /\(root\)/],
  ])('rejects %j with a clear message', (input, message) => {
    expect(() => parseSignalInput(input, 'http:box', NOW)).toThrow(message);
  });
});

describeWithPeer('mosquitto', hasCommand('mosquitto'), 'signals over MQTT', () => {
  const broker = new MosquittoBroker();
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('applies a grid box limit published on <prefix>/signals/<box>/set, rejects garbage, and clears on []', async () => {
    await broker.start();
    cleanup.push(() => broker.stop());
    const config = configSchema.parse({ grid: { maxCurrent: 100 } });
    const bus = new Bus(silentLogger);
    const ctx: ServiceContext = { config, bus, log: silentLogger, clock: systemClock, state: new SiteState(config, bus) };
    const timeline = createSignalTimeline(ctx, createMemorySignalStore());
    await timeline.start();
    cleanup.push(() => timeline.stop());
    const source = createMqttSignalSource(ctx, timeline, { url: broker.url, prefix: 'ems' });
    await source.start();
    cleanup.push(() => source.stop());
    const publisher = await mqtt.connectAsync(broker.url);
    cleanup.push(() => publisher.endAsync());
    const limit = () => ctx.state.snapshot(Date.now()).signals.importLimitW;

    await publisher.publishAsync('ems/signals/dso-box/set', JSON.stringify({ kind: 'import-limit', value: 24_000, durationS: 600 }));
    await waitFor(() => limit() === 24_000, 'the box limit');
    expect(timeline.list()[0].source).toBe('mqtt:dso-box');

    await publisher.publishAsync('ems/signals/dso-box/set', '{"kind": "import-limit"');
    await publisher.publishAsync('ems/signals/dso-box/set', JSON.stringify({ kind: 'import-limit', value: 12_000, durationS: 600 }));
    await waitFor(() => limit() === 12_000, 'the next good message after a bad one');

    await publisher.publishAsync('ems/signals/dso-box/set', '[]');
    await waitFor(() => limit() === undefined, 'the limit to be cleared');
  });
});
