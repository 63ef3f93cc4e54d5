import { loadLayeredConfig } from '../config-overrides.ts';
import { startApp, type App } from '../app.ts';
import { createLogger, type Logger } from '../log.ts';
import { EmsError } from '../errors.ts';
import { prepareDashboard } from './dashboard-pages.ts';
import { ProcessGuard } from './process-guard.ts';

/** SIGTERM ends the process within this long, whatever the peers do (systemd waits 90 s by default). */
export const STOP_BUDGET_MS = 3_000;

/** One line that says what failed at start-up, without a stack trace. */
export function describeStartupError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    const e = current as { message?: unknown; code?: unknown; cause?: unknown };
    const message = typeof e.message === 'string' ? e.message.split('\n')[0]!.trim() : String(current);
    if (message && !parts.some((p) => p.includes(message))) parts.push(message);
    current = e.cause;
  }
  return parts.join(': ') || 'unknown error';
}

/** `ems run --config FILE`: start every configured service and run until SIGINT/SIGTERM. */
export async function runSite(configPath: string, stderr: (line: string) => void = (l) => console.error(l)): Promise<number> {
  const log = createLogger();
  const guard = new ProcessGuard({ log });
  try {
    let config;
    let overridesPath: string | undefined;
    try {
      ({ config, overridesPath } = loadLayeredConfig(configPath, log));
    } catch (error) {
      stderr(error instanceof EmsError ? error.message : `ems: cannot load ${configPath}: ${describeStartupError(error)}`);
      return 1;
    }
    let app: App;
    try {
      await prepareDashboard(log);
      app = await startApp({ config, log, configPath, overridesPath });
    } catch (error) {
      log.error({ err: error }, 'start-up failed');
      stderr(`ems: cannot start: ${describeStartupError(error)}`);
      exitSoonIfStuck(1);
      return 1;
    }
    guard.attach(app.ctx.bus);
    await waitForSignal();
    log.info('shutting down');
    if (!(await stopWithin(app, log, STOP_BUDGET_MS))) exitSoonIfStuck(0);
    return 0;
  } finally {
    guard.dispose();
  }
}

async function stopWithin(app: App, log: Logger, budgetMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), budgetMs);
  });
  const done = app.stop().then(
    () => true as const,
    (error: unknown) => {
      log.error({ err: error }, 'stop failed');
      return true as const;
    },
  );
  const stopped = await Promise.race([done, late]);
  clearTimeout(timer);
  if (!stopped) log.warn({ budgetMs }, 'services did not stop in time (a peer not answering); exiting anyway');
  return stopped;
}

/**
 * A peer that never answers can keep a socket (and so the event loop) alive after we are done; this
 * ends the process shortly after, and does nothing when the loop empties by itself first.
 */
function exitSoonIfStuck(code: number): void {
  setTimeout(() => process.exit(code), 200).unref();
}

export function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
