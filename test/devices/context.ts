// A real ServiceContext for device tests: parsed config, bus, site state, system clock, and a log
// whose lines the test can read.
import { Writable } from 'node:stream';
import { configSchema } from '../../config/schema.ts';
import { Bus, type BusEvent, type BusEvents } from '../../src/bus.ts';
import { systemClock, type Clock } from '../../src/clock.ts';
import { createLogger } from '../../src/log.ts';
import type { ServiceContext } from '../../src/service.ts';
import { SiteState } from '../../src/state/site-state.ts';

export interface TestContext extends ServiceContext {
  logLines: { level: number; msg: string; [k: string]: unknown }[];
  events<E extends BusEvent>(event: E): BusEvents[E][];
}

export function testContext(config: unknown, clock: Clock = systemClock): TestContext {
  const logLines: TestContext['logLines'] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
      done();
    },
  });
  const log = createLogger({ level: 'debug', destination });
  const parsed = configSchema.parse(config);
  const bus = new Bus(log);
  const state = new SiteState(parsed, bus);
  const seen = new Map<string, unknown[]>();
  const origEmit = bus.emit.bind(bus);
  bus.emit = (event, payload) => {
    let list = seen.get(event);
    if (!list) seen.set(event, (list = []));
    list.push(payload);
    origEmit(event, payload);
  };
  return { config: parsed, bus, log, clock, state, logLines, events: (event) => (seen.get(event) ?? []) as never };
}

/** Polls `check` until it returns a truthy value (bounded); for effects of a real peer. */
export async function eventually<T>(check: () => T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
