import { loadConfigFile } from '../config-file.ts';
import { startApp } from '../app.ts';
import { createLogger } from '../log.ts';
import { EmsError } from '../errors.ts';
import { prepareDashboard } from './dashboard-pages.ts';

/** `ems run --config FILE`: start every configured service and run until SIGINT/SIGTERM. */
export async function runSite(configPath: string): Promise<number> {
  const log = createLogger();
  let config;
  try {
    config = loadConfigFile(configPath, { log });
  } catch (error) {
    console.error(error instanceof EmsError ? error.message : String(error));
    return 1;
  }
  await prepareDashboard(log);
  const app = await startApp({ config, log, configPath });
  await waitForSignal();
  log.info('shutting down');
  await app.stop();
  return 0;
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
