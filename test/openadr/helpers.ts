import { configSchema, type Config, type OpenAdrConfig } from '../../config/schema.ts';
import { Bus } from '../../src/bus.ts';
import { systemClock } from '../../src/clock.ts';
import { silentLogger, type Logger } from '../../src/log.ts';
import type { ServiceContext } from '../../src/service.ts';
import { createMemorySignalStore } from '../../src/signals/signal-store.ts';
import { createSignalTimeline } from '../../src/signals/timeline-service.ts';
import { SiteState } from '../../src/state/site-state.ts';

export function siteContext(openadr: Record<string, unknown>, log: Logger = silentLogger) {
  const config: Config = configSchema.parse({
    site: { voltage: 230 },
    grid: { maxCurrent: 100, meter: 'grid' },
    devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
    openadr: [openadr],
  });
  const bus = new Bus(log);
  const ctx: ServiceContext = { config, bus, log, clock: systemClock, state: new SiteState(config, bus) };
  const timeline = createSignalTimeline(ctx, createMemorySignalStore());
  return { ctx, timeline, vtnConfig: config.openadr![0] as OpenAdrConfig };
}

/** Polls a condition caused by a real peer, with a bounded deadline. */
export async function until<T>(probe: () => T | undefined | false, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A logger that keeps warn/error lines for assertions. */
export function recordingLogger(): { log: Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const write = (level: number) => (obj: unknown, msg?: string) => {
    lines.push({ level, msg: typeof obj === 'string' ? obj : (msg ?? '') });
  };
  const make = (): Logger =>
    ({
      child: () => make(),
      trace: () => undefined,
      debug: () => undefined,
      info: write(30),
      warn: write(40),
      error: write(50),
      fatal: write(60),
    }) as unknown as Logger;
  return { log: make(), lines };
}
