// Generated bad input for every way data enters the EMS from outside (OCPP frames are the security
// suite's): MQTT payloads, Modbus answers, OpenADR 2.0b XML and 3.1 JSON, API bodies, config files.
// Each target feeds its real parser (and, for the API, the real HTTP routes) and counts crashes:
// an exception that is not the parser's own "bad input" error, an answer ≥ 500, a signal that the
// one constructor would refuse getting through, or an unhandled rejection. Seeded: a failure names
// the seed and the input. Shared by the CI test (10,000 inputs) and `npm run bench -- input-fuzz`.
import fc from 'fast-check';
import { DeviceError } from '../../adapters/errors.ts';
import { siteReadingBounds, implausibility } from '../../adapters/reading-check.ts';
import type { ModbusLine } from '../../adapters/modbus/line.ts';
import { SunSpecDevice } from '../../adapters/modbus/sunspec-device.ts';
import { sunSpecImage, type ModelSpec } from '../../adapters/modbus/sunspec-image.ts';
import { TopicValueParser } from '../../adapters/mqtt/topic-value.ts';
import { parseDecimal } from '../../adapters/strict-number.ts';
import { parseConfigText } from '../../config/parse-config.ts';
import { gridSignalProblem } from '../../src/grid-signal.ts';
import { silentLogger } from '../../src/log.ts';
import { OpenAdrProtocolError } from '../../src/openadr/errors.ts';
import { eventToSignals } from '../../src/openadr/signal-mapping.ts';
import { toVenEvent as toVenEvent2b } from '../../src/openadr/ven2b/event-mapping.ts';
import { parseMessage } from '../../src/openadr/ven2b/xml-parse.ts';
import { toVenEvent as toVenEvent3 } from '../../src/openadr/ven3/event-mapping.ts';
import { eventSchema, notificationSchema, programSchema } from '../../src/openadr/ven3/schemas.ts';
import { SignalInputError } from '../../src/signals/errors.ts';
import { parseSignalInput } from '../../src/signals/signal-input.ts';
import type { OpenAdrSignal } from '../../src/openadr/types.ts';
import * as vtn2b from '../fixtures/openadr/vtn2b-messages.ts';

export type FuzzTarget = 'mqtt-payload' | 'modbus-answer' | 'openadr-xml' | 'openadr-json' | 'api-body' | 'config-file';

export interface FuzzCrash {
  target: FuzzTarget;
  input: string;
  error: string;
}

export interface FuzzResult {
  target: FuzzTarget;
  inputs: number;
  /** Inputs the parser refused with its own error (the expected outcome for most). */
  refused: number;
  /** The first crashes with their input. */
  crashes: FuzzCrash[];
  /** All crashes. */
  crashCount: number;
  ms: number;
}

/** The API target needs a running HTTP service; the caller provides it (the real routes, inject). */
export interface ApiUnderTest {
  post(path: string, body: string): Promise<number>;
  get(path: string): Promise<number>;
}

const NOW = Date.UTC(2026, 11, 6, 6, 0, 0);
const MAX_KEPT_CRASHES = 20;
const mapping = { simpleLevels: { '1': 90_000, '2': 50_000, '3': 10_000 }, seed: 'fuzz', randomize: true };

const tricky = fc.constantFrom(
  '',
  ' ',
  '0x10',
  '{"value":"0x10"}',
  '{"value":"12.5"}',
  '{"value":null}',
  '{"W":1e400}',
  'Infinity',
  '-Infinity',
  'NaN',
  '1e400',
  '-0',
  '1_000',
  '12,5',
  '+5',
  '\u0000',
  '{"value":{"value":1}}',
  '[1,2,3]',
  'null',
  'true',
  '{"__proto__":{"x":1}}',
  String(Number.MAX_SAFE_INTEGER),
  '30000',
);
const numberText = fc.oneof(fc.double().map(String), fc.integer().map(String), fc.bigInt().map(String));
export const mqttPayload = fc.oneof(fc.string(), fc.json(), tricky, numberText, fc.record({ value: fc.anything() }).map((o) => JSON.stringify(o)), fc.record({ W: fc.oneof(fc.double(), fc.string()) }).map((o) => JSON.stringify(o)));

// A producer's signal set as it might arrive on <prefix>/signals/<box>/set.
export const signalPayload = fc.oneof(
  fc.json(),
  fc
    .record(
      {
        id: fc.oneof(fc.string(), fc.integer()),
        kind: fc.oneof(fc.constantFrom('import-limit', 'export-limit', 'price', 'ghg', 'load-shed', 'alert'), fc.string()),
        value: fc.oneof(fc.double(), fc.integer(), fc.string()),
        start: fc.oneof(fc.integer({ min: -1e15, max: 1e16 }), fc.date({ noInvalidDate: false }).map((d) => (Number.isNaN(d.getTime()) ? 'x' : d.toISOString())), fc.string()),
        end: fc.oneof(fc.integer({ min: -1e15, max: 1e16 }), fc.constant(Number.MAX_SAFE_INTEGER), fc.string()),
        durationS: fc.oneof(fc.double(), fc.integer()),
        open: fc.anything(),
      },
      { requiredKeys: [] },
    )
    // One signal or a list of one, drawn from the seed like everything else (reproducible).
    .chain((o) => fc.constantFrom<unknown>(o, [o]))
    .map((v) => JSON.stringify(v)),
);

/** Small random edits of a valid text: what a broken gateway or a corrupted file looks like. */
function mutated(valid: readonly string[]) {
  return fc.tuple(fc.constantFrom(...valid), fc.array(fc.tuple(fc.nat(), fc.nat({ max: 40 }), fc.oneof(fc.string({ maxLength: 20 }), numberText, tricky)), { minLength: 1, maxLength: 4 })).map(([text, edits]) => {
    let out = text;
    for (const [at, remove, insert] of edits) {
      const i = at % (out.length + 1);
      out = out.slice(0, i) + insert + out.slice(i + remove);
    }
    return out;
  });
}

const validXml = (() => {
  const start = NOW - 60_000;
  const events: vtn2b.FixtureEvent[] = [
    { eventId: 'e1', modificationNumber: 0, startMs: start, durationS: 3600, status: 'active', signals: [{ name: 'SIMPLE', type: 'level', intervals: [{ durationS: 3600, value: 2 }] }] },
    { eventId: 'e2', modificationNumber: 3, startMs: start, durationS: 0, status: 'near', startAfterS: 600, signals: [{ name: 'LOAD_CONTROL', type: 'x-loadControlCapacity', intervals: [{ durationS: 1800, value: 0.5 }, { durationS: 0, value: 150 }] }] },
    { eventId: 'e3', modificationNumber: 1, startMs: start, durationS: 7200, signals: [{ name: 'ELECTRICITY_PRICE', type: 'price', unit: 'EUR', intervals: [{ durationS: 3600, value: 0.31 }, { durationS: 3600, value: -0.05 }] }] },
    { eventId: 'e4', modificationNumber: 0, startMs: start, durationS: 3600, signals: [{ name: 'LOAD_CONTROL', type: 'x-loadControlCapacity', unit: 'kW', intervals: [{ durationS: 3600, value: 45 }] }] },
  ];
  return [
    vtn2b.distributeEvent({ requestId: 'd1', vtnId: 'VTN', venId: 'VEN', events }),
    vtn2b.createdPartyRegistration({ requestId: 'r', vtnId: 'VTN', venId: 'VEN', registrationId: 'REG', pollFreqS: 10 }),
    vtn2b.oadrResponse(452, 'x', 'VEN', 'Invalid ID'),
    vtn2b.registeredReport({ requestId: 'r', venId: 'VEN', reportRequestId: 'rr', granularityS: 60, backS: 60 }),
    vtn2b.createReport({ requestId: 'r', venId: 'VEN', reportRequestId: 'rr', granularityS: 1, backS: 1 }),
    vtn2b.cancelPartyRegistration({ requestId: 'c', registrationId: 'REG', venId: 'VEN' }),
    vtn2b.requestReregistration('VEN'),
  ];
})();
export const xmlInput = fc.oneof(mutated(validXml), fc.string(), fc.constantFrom('<?xml version="1.0"?>', '<a><b></a>', '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]><x>&a;&a;&a;</x>'));

const validEvent = {
  id: 'cap-1',
  programID: 'p1',
  eventName: 'evening-cap',
  priority: 0,
  intervalPeriod: { start: new Date(NOW - 60_000).toISOString(), duration: 'PT1H', randomizeStart: 'PT10M' },
  payloadDescriptors: [{ objectType: 'EVENT_PAYLOAD_DESCRIPTOR', payloadType: 'IMPORT_CAPACITY_LIMIT', units: 'KW' }],
  intervals: [
    { id: 0, payloads: [{ type: 'IMPORT_CAPACITY_LIMIT', values: [200] }] },
    { id: 1, intervalPeriod: { start: '0001-01-01T00:00:00Z', duration: 'P9999Y' }, payloads: [{ type: 'PRICE', values: [0.1, 0.2, 0.3] }, { type: 'SIMPLE', values: [3] }] },
  ],
};
const program = programSchema.parse({ id: 'p1', programName: 'dso', createdDateTime: new Date(NOW).toISOString(), modificationDateTime: new Date(NOW).toISOString(), objectType: 'PROGRAM' });
export const jsonInput = fc.oneof(
  mutated([JSON.stringify(validEvent), JSON.stringify({ objectType: 'EVENT', operation: 'CREATE', object: validEvent })]),
  fc.json(),
  fc.anything().map((v) => {
    try {
      return JSON.stringify(v) ?? 'null';
    } catch {
      return 'null';
    }
  }),
  fc
    .record({
      values: fc.array(fc.oneof(fc.double(), fc.integer(), fc.string()), { maxLength: 4 }),
      type: fc.constantFrom('IMPORT_CAPACITY_LIMIT', 'EXPORT_CAPACITY_LIMIT', 'PRICE', 'GHG', 'SIMPLE', 'ALERT_OTHER', 'X'),
      start: fc.oneof(fc.constant('0001-01-01T00:00:00Z'), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string()),
      duration: fc.constantFrom('PT1H', 'P9999Y', 'PT0S', 'P1M', '-PT1H', 'PT', 'xx'),
      units: fc.constantFrom('KW', 'W', 'MW', 'KWH', 'PERCENT', undefined),
    })
    .map((r) =>
      JSON.stringify({
        ...validEvent,
        intervalPeriod: { start: r.start, duration: r.duration },
        payloadDescriptors: [{ objectType: 'EVENT_PAYLOAD_DESCRIPTOR', payloadType: r.type, ...(r.units ? { units: r.units } : {}) }],
        intervals: [{ id: 0, payloads: [{ type: r.type, values: r.values }] }],
      }),
    ),
);

const validConfig = [
  'site: { name: Depot, voltage: 230 }\ngrid: { maxCurrent: 63, meter: grid }\nchargers: [ { id: CP1, connectors: 2 } ]\ndevices: [ { id: grid, role: grid-meter, driver: modbus, host: 127.0.0.1, port: 5020 } ]\n',
  'grid: { maxCurrent: 63 }\ncircuits:\n  - id: main\n    maxCurrent: 63\n    children:\n      - { id: row, maxCurrent: 32, chargers: [CP1, CP2] }\nchargers: [ { id: CP1 }, { id: CP2 } ]\nmqtt: { url: "mqtt://127.0.0.1:1883", prefix: ems/depot }\n',
  "grid: { maxCurrent: 100 }\nchargers: [ { id: CP1 } ]\nopenadr:\n  - { id: dso, version: '3.1', vtnUrl: 'https://127.0.0.1/x', venName: depot, client: { id: a, secret: b }, simpleLevels: { 1: 9000 } }\n",
];
const configInput = fc.oneof(mutated(validConfig), fc.string(), fc.json(), fc.constantFrom('a: &a [*a]', '!!binary xyz', '{', 'grid:\n  maxCurrent: [1, {2: 3}]', 'x: ' + 'a'.repeat(10_000)));

export const apiBody = fc.oneof(
  // Well-formed limits (the success path, up to the cap of 100 at once, then 409).
  fc
    .record({ kind: fc.constantFrom('import-limit', 'export-limit'), valueW: fc.integer({ min: 0, max: 1_000_000 }), durationS: fc.integer({ min: 1, max: 86_400 }) }, { requiredKeys: ['kind', 'valueW'] })
    .map((o) => JSON.stringify(o)),
  fc
    .record(
      {
        kind: fc.oneof(fc.constantFrom('import-limit', 'export-limit'), fc.string()),
        valueW: fc.oneof(fc.double(), fc.integer(), fc.string(), fc.constant('0x10')),
        durationS: fc.oneof(fc.integer(), fc.double(), fc.string()),
        startsAt: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string()),
        source: fc.string({ maxLength: 80 }),
        extra: fc.anything(),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o)),
  fc.json(),
  fc.string(),
);

/** Modbus answers: a SunSpec meter whose registers come back random, short, or slightly off. */
const meterModels: ModelSpec[] = [{ id: 1 }, { id: 203, values: { W: 6900, AphA: 10, AphB: 10, AphC: 10 }, scaleFactors: { 6: -1, 22: 1 } }];
export const goodImage = sunSpecImage(meterModels);
const modbusAnswer = fc.record({
  flips: fc.array(fc.tuple(fc.nat({ max: goodImage.length - 1 }), fc.integer({ min: 0, max: 0xffff })), { maxLength: 8 }),
  shortBy: fc.nat({ max: 3 }),
  garbage: fc.boolean(),
  random: fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 130 }),
});

function fakeLine(answer: { flips: [number, number][]; shortBy: number; garbage: boolean; random: number[] }): ModbusLine {
  const image = goodImage.slice();
  for (const [at, value] of answer.flips) image[at] = value;
  return {
    generation: 1,
    async read(range: { address: number; count: number }) {
      if (answer.garbage) return answer.random.slice(0, Math.max(0, range.count - answer.shortBy));
      const out: number[] = [];
      for (let i = 0; i < range.count - answer.shortBy; i++) out.push(image[range.address - 40000 + i] ?? 0xffff);
      return out;
    },
    async write() {},
  } as unknown as ModbusLine;
}

const describeError = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));
const clip = (text: string) => (text.length > 300 ? `${text.slice(0, 297)}...` : text);

/** Every signal a mapping produced must pass the one constructor. */
function checkSignals(signals: readonly OpenAdrSignal[]): string | undefined {
  for (const s of signals) {
    const problem = gridSignalProblem(s);
    if (problem) return `signal ${s.id} got through: ${problem}`;
  }
  return undefined;
}

export async function fuzzTarget(target: FuzzTarget, count: number, seed: number, api?: ApiUnderTest): Promise<FuzzResult> {
  const result: FuzzResult = { target, inputs: 0, refused: 0, crashes: [], crashCount: 0, ms: 0 };
  const started = performance.now();
  const crash = (input: string, error: string) => {
    if (result.crashes.length < MAX_KEPT_CRASHES) result.crashes.push({ target, input: clip(input), error: clip(error) });
    result.crashCount++;
  };
  const parsers = [undefined, '$.value', '$.W', '$.a[0]'].map((jsonPath) => new TopicValueParser({ jsonPath, scale: 0.001 }));
  const bounds = siteReadingBounds({ largestFuseA: 63, voltageV: 230 });
  const BATCH = 500;
  for (let done = 0; done < count; done += BATCH) {
    const n = Math.min(BATCH, count - done);
    const batchSeed = seed + done;
    switch (target) {
      case 'mqtt-payload': {
        for (const [i, text] of fc.sample(fc.tuple(mqttPayload, signalPayload), { numRuns: n, seed: batchSeed }).entries()) {
          const [payload, signals] = text;
          result.inputs++;
          const parser = parsers[i % parsers.length]!;
          try {
            const value = parser.parse(payload);
            if (value !== null && !Number.isFinite(value)) crash(payload, `non-finite value ${value}`);
          } catch (error) {
            if (error instanceof DeviceError) result.refused++;
            else crash(payload, describeError(error));
          }
          const decimal = parseDecimal(payload);
          if (decimal !== undefined && (!Number.isFinite(decimal) || /x/i.test(payload))) crash(payload, `parseDecimal accepted ${decimal}`);
          try {
            let json: unknown;
            try {
              json = JSON.parse(signals);
            } catch {
              json = undefined;
            }
            if (json !== undefined) {
              const problem = checkSignals(parseSignalInput(json, 'mqtt:fuzz', NOW));
              if (problem) crash(signals, problem);
            }
          } catch (error) {
            if (error instanceof SignalInputError) result.refused++;
            else crash(signals, describeError(error));
          }
        }
        break;
      }
      case 'modbus-answer': {
        for (const answer of fc.sample(modbusAnswer, { numRuns: n, seed: batchSeed })) {
          result.inputs++;
          const device = new SunSpecDevice({ deviceId: 'grid', role: 'grid-meter', line: fakeLine(answer), unitId: 1, nowMs: () => NOW, log: silentLogger });
          try {
            const reading = await device.read();
            implausibility(reading, bounds);
          } catch (error) {
            if (error instanceof DeviceError) result.refused++;
            else crash(JSON.stringify(answer).slice(0, 300), describeError(error));
          }
        }
        break;
      }
      case 'openadr-xml': {
        for (const xml of fc.sample(xmlInput, { numRuns: n, seed: batchSeed })) {
          result.inputs++;
          try {
            const message = parseMessage(xml);
            if (message.type === 'oadrDistributeEvent') {
              for (const event of message.events) {
                const mapped = toVenEvent2b(event, { siteCapacityW: 69_000 });
                const problem = checkSignals(eventToSignals('openadr:fuzz', mapped.event, mapping));
                if (problem) crash(xml, problem);
              }
            }
          } catch (error) {
            if (error instanceof OpenAdrProtocolError) result.refused++;
            else crash(xml, describeError(error));
          }
        }
        break;
      }
      case 'openadr-json': {
        for (const text of fc.sample(jsonInput, { numRuns: n, seed: batchSeed })) {
          result.inputs++;
          try {
            let body: unknown;
            try {
              body = JSON.parse(text);
            } catch {
              result.refused++;
              continue;
            }
            const notification = notificationSchema.safeParse(body);
            const event = eventSchema.safeParse(notification.success ? notification.data.object : body);
            if (!event.success) {
              result.refused++;
              continue;
            }
            const mapped = toVenEvent3(event.data, program, NOW);
            const problem = checkSignals([...eventToSignals('openadr:fuzz', mapped.event, mapping), ...eventToSignals('openadr:fuzz', mapped.subscriptions, mapping)]);
            if (problem) crash(text, problem);
          } catch (error) {
            crash(text, describeError(error));
          }
        }
        break;
      }
      case 'api-body': {
        if (!api) throw new Error('the api-body target needs an API under test');
        for (const body of fc.sample(apiBody, { numRuns: n, seed: batchSeed })) {
          result.inputs++;
          try {
            const status = await api.post('/api/v1/signals', body);
            if (status >= 500) crash(body, `HTTP ${status}`);
            else if (status >= 400) result.refused++;
          } catch (error) {
            crash(body, describeError(error));
          }
        }
        const state = await api.get('/api/v1/state');
        if (state !== 200) crash('(GET /api/v1/state after the batch)', `HTTP ${state}`);
        break;
      }
      case 'config-file': {
        for (const text of fc.sample(configInput, { numRuns: n, seed: batchSeed })) {
          result.inputs++;
          try {
            const parsed = parseConfigText(text, 'fuzz.yaml');
            if (!parsed.config) result.refused++;
          } catch (error) {
            crash(text, describeError(error));
          }
        }
        break;
      }
    }
  }
  result.ms = performance.now() - started;
  return result;
}

export const CI_COUNTS: Record<FuzzTarget, number> = {
  'mqtt-payload': 3000,
  'modbus-answer': 1500,
  'openadr-xml': 1500,
  'openadr-json': 1500,
  'api-body': 1000,
  'config-file': 1500,
};

/** Runs every target; counts unhandled rejections and the heap growth (after a GC, when available). */
export async function fuzzAll(counts: Record<FuzzTarget, number>, seed: number, api: ApiUnderTest): Promise<{ results: FuzzResult[]; unhandledRejections: number; heapGrowthMB: number }> {
  let unhandledRejections = 0;
  const onRejection = () => unhandledRejections++;
  process.on('unhandledRejection', onRejection);
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const results: FuzzResult[] = [];
  try {
    for (const target of Object.keys(counts) as FuzzTarget[]) results.push(await fuzzTarget(target, counts[target], seed, api));
    // Let any stray promise settle before counting.
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    process.off('unhandledRejection', onRejection);
  }
  gc?.();
  const heapGrowthMB = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
  return { results, unhandledRejections, heapGrowthMB };
}
