import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { packagePath } from '../package-root.ts';
import { mqttSchema, plannerSchema, type Config } from '../../config/schema.ts';
import { loadConfigFile } from '../config-file.ts';
import { createLogger, type Logger } from '../log.ts';
import { prepareDashboard } from '../cli/dashboard-pages.ts';
import { describeStartupError, waitForSignal } from '../cli/run-site.ts';
import { DEMO_CAR_RESPONSE_MS } from './car.ts';
import { scaleDemoConfig } from './demo-config.ts';
import { demoPvForecastW } from './demo-plant.ts';
import { DEMO_APPLY_DELAY_MS } from './demo-plant.ts';
import { DemoDataLock, DemoDataLockedError } from './demo-data-lock.ts';
import { startDemoSite } from './demo-site.ts';
import { demoStepMs, startOfDemoMs } from './demo-start.ts';
import { ScaledClock } from './scaled-clock.ts';
import { formatStatus } from './status-text.ts';

export interface RunDemoOptions {
  configPath?: string;
  chargers?: number;
  speed?: number;
  httpPort?: number;
  ocppPort?: number;
  /** Broker URL for the demo's MQTT device (and the EMS's MQTT side); overrides the config's mqtt.url. */
  mqtt?: string;
  /** Local time (HH:MM, site time zone) the demo clock starts at; default: now. */
  start?: string;
  /**
   * The folder of the demo's database, its config copy and its other files (default: the example's,
   * data/ under the working directory). One demo per folder: a second is refused.
   */
  dataDir?: string;
  quiet: boolean;
}

const DEFAULT_CONFIG = packagePath('config', 'examples', 'demo.yaml');

/** data/demo.yaml (the example's storage folder, or `dataDir`), copied from the example on the first run. */
export function demoConfigCopy(log: Logger, workDir = process.cwd(), dataDir?: string): string {
  const copy = join(dataDir === undefined ? dirname(resolve(workDir, loadConfigFile(DEFAULT_CONFIG).storage.path)) : resolve(workDir, dataDir), 'demo.yaml');
  if (!existsSync(copy)) {
    mkdirSync(dirname(copy), { recursive: true });
    // The copy's own schema link and check-config line point at the copy's place, not the example's.
    const schema = relative(dirname(copy), packagePath('config', 'site.schema.json'));
    const text = readFileSync(DEFAULT_CONFIG, 'utf8')
      .replace('$schema=../site.schema.json', `$schema=${schema}`)
      .replace('ems check-config config/examples/demo.yaml', `ems check-config ${copy}`);
    writeFileSync(copy, text);
    log.info({ copy }, `the demo's config is ${copy} (a copy of config/examples/demo.yaml); Settings edits are saved there`);
  }
  return copy;
}

/** `ems demo` (and `npm start`): the simulated site, until Ctrl-C. */
export async function runDemo(options: RunDemoOptions): Promise<number> {
  const log = createLogger({ level: process.env.EMS_LOG_LEVEL ?? 'warn' });
  // The demo runs on its own copy of the example in the data folder, so Settings edits are saved
  // there and kept across restarts (the shipped example stays as it is).
  const configPath = options.configPath ?? demoConfigCopy(log, process.cwd(), options.dataDir);
  const fromFile = loadConfigFile(configPath, { log });
  if (options.mqtt !== undefined) {
    const mqtt = mqttSchema.safeParse({ ...fromFile.mqtt, url: options.mqtt });
    if (!mqtt.success) {
      process.stderr.write(`ems demo: --mqtt ${options.mqtt}: ${mqtt.error.issues.map((i) => i.message).join('; ')}\n`);
      return 1;
    }
  }
  // The demo has a known first-run login so a newcomer can open the dashboard at once; it binds
  // to loopback unless the config says otherwise.
  // An empty EMS_ADMIN_PASSWORD (a blank line in an env file) is no password: the demo's is used.
  const demoPassword = process.env.EMS_ADMIN_PASSWORD || 'demo-admin-password';
  process.env.EMS_ADMIN_PASSWORD = demoPassword;
  const count = options.chargers ?? fromFile.demo?.chargers ?? fromFile.chargers.length;
  const speed = options.speed ?? fromFile.demo?.speed ?? 1;
  // The command line and the speed adjust what the file says; a Settings edit goes through the
  // same adjustment, so saving a priority never moves the ports or the scaled timings.
  const runtimeConfig = (file: Config): Config => demoRuntimeConfig(file, { ...options, count, speed });
  let config = runtimeConfig(fromFile);
  let startSimMs: number | undefined;
  if (options.start !== undefined) {
    try {
      startSimMs = startOfDemoMs(options.start, config.site.timezone, Date.now());
    } catch (error) {
      process.stderr.write(`ems demo: ${error instanceof Error ? error.message : String(error)}\n`);
      return 1;
    }
  }
  // One demo per data folder: a second one would mix its history and sessions into the first's.
  let lock: DemoDataLock | undefined;
  if (config.storage.path !== ':memory:') {
    try {
      lock = DemoDataLock.acquire(dirname(resolve(config.storage.path)));
    } catch (error) {
      if (!(error instanceof DemoDataLockedError)) throw error;
      process.stderr.write(`ems demo: cannot start: ${error.message}\n`);
      return 1;
    }
  }
  const clock = new ScaledClock(speed, startSimMs);

  // Near real time the meter, PV and battery are real Modbus TCP devices read by the real adapters;
  // faster, a real-time poll would be too coarse, and they stay in-process.
  await prepareDashboard(log);
  const nearRealTime = speed <= 5;
  let demo: Awaited<ReturnType<typeof startDemoSite>>;
  try {
    demo = await startDemoSite({ config, log, clock, configPath, runtimeConfig, modbusDevices: nearRealTime, mqttDevice: nearRealTime, stepMs: demoStepMs(speed) });
  } catch (error) {
    // One line that says what to do, never a stack trace (a port in use is the usual one).
    const code = (error as { code?: unknown }).code;
    const hint = code === 'HTTP_LISTEN_FAILED' || code === 'OCPP_LISTEN_FAILED' ? '; choose free ports with --http-port and --ocpp-port' : '';
    process.stderr.write(`ems demo: cannot start: ${describeStartupError(error)}${hint}\n`);
    lock?.release();
    // A peer still holding a socket must not keep the process alive.
    setTimeout(() => process.exit(1), 200).unref();
    return 1;
  }
  const out = (text: string) => process.stdout.write(`${text}\n`);
  const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host;
  out(`\nDemo site "${config.site.name}": ${config.chargers.length} simulated chargers over OCPP-J on port ${demo.app.ocppPort}, time x${speed}${options.start ? `, from ${options.start} local` : ''}.`);
  if (demo.app.httpPort !== undefined) {
    lock?.describe({ pid: process.pid, dashboardUrl: `http://${host}:${demo.app.httpPort}/` });
    out(`Dashboard: http://${host}:${demo.app.httpPort}/`);
    out(`Config: ${configPath} (Settings edits are saved there).`);
    out(`Log in as admin / ${demoPassword} (created on the first run with ${config.storage.path}; EMS_ADMIN_PASSWORD sets another).`);
  }
  if (demo.mqttDevice) out(`MQTT: the building submeter is published as {"W": ...} on ${demo.mqttDevice.topic} at ${config.mqtt!.url}.`);
  else if (config.mqtt) out(`MQTT: ${nearRealTime ? `no broker at ${config.mqtt.url}` : 'speed above 5'}, the demo's MQTT device is left out.`);
  if (speed > 1) out(`Data counts as stale after ${(config.control.staleAfterMs / 1000).toFixed(0)} demo seconds (${(config.control.staleAfterMs / speed / 1000).toFixed(2)} real s at x${speed}).`);
  // The chargers' answers travel in real time, which the dashboard shows in demo time like every other figure.
  if (speed >= 10) out(`Chargers answer in real time: a limit confirmed 0.5 real s after it was sent shows on its card as "Waiting ${Math.round(speed / 2)} s for the charger to confirm".`);
  out('Press Ctrl-C to stop.\n');

  const status = options.quiet
    ? undefined
    : setInterval(() => {
          const atMs = clock.nowMs();
          out(formatStatus(demo.app.http.stateView(atMs), atMs, demo.lastReading(), config.site.timezone));
        }, process.stdout.isTTY ? 5_000 : 15_000);
  await waitForSignal();
  clearInterval(status);
  out('stopping the demo...');
  await demo.stop();
  lock?.release();
  return 0;
}

/**
 * From a demo charger's Accepted to its car's sample showing the new limit, s: the charger applies
 * the profile up to 2 s later, the car follows up to 3.5 s after that, and each is seen at the
 * plant's next step (one demo second at most). The EMS's carResponseS (5 s, the car's own share
 * that IEC 61851 allows) must cover all of it, or the estimator takes an honest demo charger for
 * one that ignores its cap: in session 14's traced fresh starts a car kept drawing up to 5.9 s
 * after its charger accepted a cut (CP001 applies after 1.5 s), 0.4-1.9 s short of that.
 */
export const DEMO_CUT_REACHES_CAR_S = Math.ceil((DEMO_APPLY_DELAY_MS.max + DEMO_CAR_RESPONSE_MS.max) / 1000 + 2);

/**
 * The config the demo runs with for one read from its file: the charger count, the command line's
 * ports and MQTT URL, and timings scaled to the speed.
 */
export function demoRuntimeConfig(file: Config, options: Pick<RunDemoOptions, 'httpPort' | 'ocppPort' | 'mqtt' | 'dataDir'> & { count: number; speed: number }): Config {
  let config = scaleDemoConfig(file, options.count);
  if (options.dataDir !== undefined && config.storage.path !== ':memory:') config = { ...config, storage: { ...config.storage, path: join(options.dataDir, basename(config.storage.path)) } };
  if (options.httpPort !== undefined) config = { ...config, http: { ...config.http, port: options.httpPort } };
  if (options.ocppPort !== undefined) config = { ...config, ocpp: { ...config.ocpp, port: options.ocppPort } };
  if (options.mqtt !== undefined) {
    const mqtt = mqttSchema.safeParse({ ...config.mqtt, url: options.mqtt });
    if (mqtt.success) config = { ...config, mqtt: mqtt.data };
  }
  // Staleness is a property of the data path (polls, links, a busy machine), which runs in real
  // time; at ×speed one real second is `speed` demo seconds, and a busy machine stalls a process
  // for a second or more. So the demo allows its data two real seconds before it calls it stale,
  // and says so, instead of sitting in failsafe (at ×10, a 1.5 s stall read as a stale meter).
  const realStaleMs = 2000;
  if (options.speed * realStaleMs > config.control.staleAfterMs) config = { ...config, control: { ...config.control, staleAfterMs: Math.round(options.speed * realStaleMs) } };
  // Likewise a charger's MeterValues travel in real time: at ×speed the EMS waits (3 sample
  // intervals) that much longer before it calls a car that has not slowed down yet uncontrollable.
  const realSampleS = 2;
  if (options.speed * realSampleS > config.control.meterValueIntervalS) config = { ...config, control: { ...config.control, meterValueIntervalS: Math.ceil(options.speed * realSampleS) } };
  // And a cut reaches a car through the profile's and the sample's trips, also in real time: on a
  // busy machine one real second of them is `speed` demo seconds on top of the car's own delay
  // (up to 3.5 s, car.ts). Without this a car that followed its cut looks, at x10, as if it ignored it.
  const realTripS = 1;
  const carResponseS = Math.min(60, Math.max(config.control.carResponseS, DEMO_CUT_REACHES_CAR_S) + (options.speed > 1 ? options.speed * realTripS : 0));
  if (carResponseS > config.control.carResponseS) config = { ...config, control: { ...config.control, carResponseS } };
  // The planner's PV forecast: the demo plant's own curve, unless the file gives one.
  const pvForecastW = config.planner?.pvForecastW ? undefined : demoPvForecastW(config);
  if (pvForecastW) config = { ...config, planner: plannerSchema.parse({ ...config.planner, pvForecastW }) };
  return config;
}
