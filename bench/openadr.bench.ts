// OpenADR: parsing an oadrDistributeEvent (2.0b XML) and mapping its events onto the signal
// timeline, and one 2.0b oadrPoll round trip over mutual TLS 1.2 on loopback (a fresh handshake
// per poll, as the VEN does), plus the path from a VTN event to the site's import limit.
import { execFileSync } from 'node:child_process';
import { configSchema } from '../config/schema.ts';
import { Bus } from '../src/bus.ts';
import { systemClock } from '../src/clock.ts';
import { silentLogger } from '../src/log.ts';
import { eventToSignals } from '../src/openadr/signal-mapping.ts';
import { toVenEvent } from '../src/openadr/ven2b/event-mapping.ts';
import { createVen2bService } from '../src/openadr/ven2b/ven2b-service.ts';
import { parseMessage } from '../src/openadr/ven2b/xml-parse.ts';
import type { ServiceContext } from '../src/service.ts';
import { createMemorySignalStore } from '../src/signals/signal-store.ts';
import { createSignalTimeline } from '../src/signals/timeline-service.ts';
import { SiteState } from '../src/state/site-state.ts';
import { createTestPki } from '../test/fixtures/openadr/certs.ts';
import { distributeEvent, type FixtureEvent } from '../test/fixtures/openadr/vtn2b-messages.ts';
import { TestVtn2b } from '../test/fixtures/openadr/vtn2b-server.ts';
import type { BenchTable } from './types.ts';

const T0 = Date.parse('2026-11-24T16:00:00Z');

function events(count: number): FixtureEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    eventId: `e${i}`,
    modificationNumber: i % 3,
    startMs: T0 + i * 900_000,
    durationS: 3600,
    signals: [
      { name: 'SIMPLE', type: 'level', intervals: [{ durationS: 1800, value: 1 }, { durationS: 1800, value: 2 }] },
      { name: 'ELECTRICITY_PRICE', type: 'price', unit: 'EUR' as const, intervals: Array.from({ length: 4 }, (_, k) => ({ durationS: 900, value: 0.1 + k / 100 })) },
    ],
  }));
}

function context(): ServiceContext {
  const config = configSchema.parse({ grid: { maxCurrent: 100 } });
  const bus = new Bus(silentLogger);
  return { config, bus, log: silentLogger, clock: systemClock, state: new SiteState(config, bus) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))];

function time(runs: number, fn: () => void): number[] {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  return samples;
}

export default async (): Promise<BenchTable[]> => {
  const rows: (string | number)[][] = [];
  for (const count of [1, 10, 100]) {
    const xml = distributeEvent({ requestId: 'd', vtnId: 'VTN', venId: 'V', events: events(count) });
    const parse = time(50, () => parseMessage(xml));
    const message = parseMessage(xml);
    const ctx = context();
    const timeline = createSignalTimeline(ctx, createMemorySignalStore());
    const options = { simpleLevels: { '1': 80_000, '2': 40_000 }, seed: 'site', randomize: true };
    const map = time(50, () => {
      if (message.type !== 'oadrDistributeEvent') return;
      const signals = message.events.flatMap((e) => eventToSignals('openadr:bench', toVenEvent(e, { siteCapacityW: 69_000 }).event, options));
      timeline.submit('openadr:bench', signals);
    });
    rows.push([count, (xml.length / 1024).toFixed(1), median(parse), p99(parse), median(map), p99(map)]);
  }
  const tables: BenchTable[] = [
    {
      title: 'OpenADR 2.0b: oadrDistributeEvent parse + validate, and events → timeline (50 runs each)',
      columns: ['events', 'XML KiB', 'parse median ms', 'parse p99 ms', 'map+submit median ms', 'map+submit p99 ms'],
      rows,
    },
  ];

  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    return tables;
  }
  const pki = createTestPki();
  const vtn = await new TestVtn2b({ ca: pki.read(pki.caPath), cert: pki.read(pki.serverCertPath), key: pki.read(pki.serverKeyPath) }).start();
  const ctx = context();
  const timeline = createSignalTimeline(ctx, createMemorySignalStore());
  await timeline.start();
  const config = configSchema.parse({
    grid: { maxCurrent: 100 },
    openadr: [{ id: 'b', version: '2.0b', vtnUrl: vtn.url, venName: 'bench', pollIntervalS: 0.001, tls: { ca: pki.caPath, cert: pki.clientCertPath, key: pki.clientKeyPath }, simpleLevels: { 2: 30_000 } }],
  }).openadr![0];
  const ven = createVen2bService(ctx, config, { sink: timeline });
  await ven.start();
  await vtn.nextOf('oadrPoll');
  const polls: number[] = [];
  let last = performance.now();
  for (let i = 0; i < 100; i++) {
    await vtn.nextOf('oadrPoll');
    const now = performance.now();
    polls.push(now - last);
    last = now;
  }
  const reactions: number[] = [];
  for (let i = 0; i < 20; i++) {
    const applied = new Promise<void>((resolve) => {
      const off = ctx.bus.on('signals.changed', ({ signals }) => {
        if (signals.some((s) => s.kind === 'import-limit' && s.value === 30_000 && (s as { eventId?: string }).eventId === `r${i}`)) {
          off();
          resolve();
        }
      });
    });
    const t = performance.now();
    vtn.setEvents([{ eventId: `r${i}`, modificationNumber: 0, startMs: Date.now(), durationS: 600, signals: [{ name: 'SIMPLE', type: 'level', intervals: [{ durationS: 600, value: 2 }] }] }]);
    await applied;
    reactions.push(performance.now() - t);
  }
  await ven.stop();
  await timeline.stop();
  await vtn.stop();
  tables.push({
    title: 'OpenADR 2.0b over mutual TLS 1.2 on loopback (ECDSA P-256, fresh handshake per exchange)',
    columns: ['measure', 'samples', 'median ms', 'p99 ms'],
    rows: [
      ['poll cycle (oadrPoll → oadrResponse, back to back)', polls.length, median(polls), p99(polls)],
      ['event queued at VTN → import limit on the bus (polling back to back)', reactions.length, median(reactions), p99(reactions)],
    ],
    notes: ['In production the poll interval (VTN-requested, typically 10 s to 60 s) dominates the reaction time; the figures above are the protocol cost per poll.'],
  });
  return tables;
};
