// Polls every configured Modbus and MQTT device on its own interval, checks each reading for
// physical plausibility, and puts readings and health on the bus. A device that fails, hangs or
// talks nonsense is marked (error / stale) and logged once per transition; it never blocks the
// control loop or the other devices, and nothing it does crashes the process.
import { connect, type MqttClient } from 'mqtt';
import { MQTT_RECONNECT_PERIOD_MS, retryDelayMs } from '../../adapters/backoff.ts';
import type { DeviceHealthState, DeviceReading } from '../../adapters/types.ts';
import { StaleSourceError } from '../../adapters/errors.ts';
import { ModbusLines } from '../../adapters/modbus/line.ts';
import { monotonicMs } from '../clock.ts';
import { implausibility, siteReadingBounds } from '../../adapters/reading-check.ts';
import type { DeviceConfig } from '../../config/schema.ts';
import { EmsError } from '../errors.ts';
import type { Service, ServiceContext } from '../service.ts';
import { createDeviceAdapter, type DeviceAdapter } from './device-factory.ts';

export class DeviceReadingError extends EmsError {
  override readonly code = 'DEVICE_READING_REJECTED';
}

export interface DeviceControls {
  deviceId: string;
  role: DeviceConfig['role'];
  battery?: DeviceAdapter['battery'];
  pv?: DeviceAdapter['pv'];
}

export interface DeviceService extends Service {
  /** Battery and PV controls of the devices that have them (for the storage controller). */
  readonly controls: ReadonlyMap<string, DeviceControls>;
  /** Poll every device once now and wait for it (tests, benchmarks). */
  pollAll(): Promise<void>;
}

export interface DeviceServiceOptions {
  /** Use this MQTT connection instead of opening one from config.mqtt. */
  mqttClient?: MqttClient;
}

interface Polled {
  config: DeviceConfig;
  adapter: DeviceAdapter | null;
  health: DeviceHealthState;
  lastError?: string;
  /** When the last good reading was taken, on the monotonic clock, ms. */
  lastReadingAtMonoMs?: number;
  inFlight?: Promise<void>;
  timer?: NodeJS.Timeout;
  /** Consecutive failed polls: a failing device is polled less often so it does not hog a shared line. */
  failures: number;
}

/** How long start() waits for the MQTT broker before going on without it (it keeps reconnecting). */
const START_WAIT_MS = 3_000;

/** The largest fuse on the site (main or any circuit), A: what a plausible reading is measured against. */
function largestFuseA(config: ServiceContext['config']): number {
  let max = config.grid.maxCurrent;
  const visit = (nodes: readonly { maxCurrent: number; children?: readonly unknown[] }[] | undefined) => {
    for (const node of nodes ?? []) {
      max = Math.max(max, node.maxCurrent);
      visit(node.children as typeof nodes);
    }
  };
  visit(config.circuits as readonly { maxCurrent: number; children?: readonly unknown[] }[]);
  return max;
}

export function createDeviceService(ctx: ServiceContext, options: DeviceServiceOptions = {}): DeviceService {
  const log = ctx.log.child({ module: 'devices' });
  // Adapters stamp readings, and this service judges their age, on the monotonic clock: a step of
  // the wall clock can neither make a reading look fresh nor stale. A reading gets its wall time
  // when it is put on the bus, on the clock everything it meets there was stamped with.
  const nowMs = () => monotonicMs(ctx.clock);
  const wallMs = (monoMs: number) => ctx.clock.nowMs() - (nowMs() - monoMs);
  const lines = new ModbusLines({ log: log.child({ module: 'modbus' }), nowMs });
  const devices: Polled[] = [];
  const controls = new Map<string, DeviceControls>();
  let mqttClient: MqttClient | undefined = options.mqttClient;
  let ownsMqtt = false;
  /** Why the broker is unreachable now; undefined while connected. */
  let mqttProblem: string | undefined;
  const bounds = () => siteReadingBounds({ largestFuseA: largestFuseA(ctx.config), voltageV: ctx.config.site.voltage });
  let staleTimer: NodeJS.Timeout | undefined;
  let startedAtMs = 0;
  let running = false;

  const staleAfter = (d: DeviceConfig) => d.staleAfterMs ?? ctx.config.control.staleAfterMs;

  function setHealth(d: Polled, health: DeviceHealthState, error?: string): void {
    const stateChanged = d.health !== health;
    const errorChanged = health !== 'online' && error !== undefined && error !== d.lastError;
    d.health = health;
    if (error !== undefined) d.lastError = error;
    if (!stateChanged && !errorChanged) return;
    const lastReadingAtMs = d.lastReadingAtMonoMs === undefined ? undefined : wallMs(d.lastReadingAtMonoMs);
    const fields = { deviceId: d.config.id, health, lastError: d.lastError, lastReadingAtMs };
    // A recurring fault is logged when it starts and when it clears, not every poll.
    if (stateChanged) {
      if (health === 'online') log.info(fields, 'device online');
      else log.warn(fields, `device ${health}`);
    } else log.debug(fields, 'device error changed');
    ctx.bus.emit('device.health', {
      deviceId: d.config.id,
      role: d.config.role,
      health,
      ...(lastReadingAtMs !== undefined && { lastReadingAtMs }),
      ...(health !== 'online' && d.lastError !== undefined && { lastError: d.lastError }),
    });
  }

  async function pollOne(d: Polled): Promise<void> {
    if (!d.adapter) return;
    let reading: DeviceReading;
    try {
      reading = await d.adapter.meter.read();
    } catch (error) {
      const message = (error as Error)?.message ?? String(error);
      // A topic that has not spoken yet is not stale until its staleness window has passed once.
      const graceMs = ('staleAfterMs' in d.config && d.config.staleAfterMs) || ctx.config.control.staleAfterMs;
      if (error instanceof StaleSourceError && d.lastReadingAtMonoMs === undefined && nowMs() - startedAtMs < graceMs) return;
      d.failures++;
      setHealth(d, error instanceof StaleSourceError ? 'stale' : 'error', message);
      return;
    }
    const reason = implausibility(reading, bounds());
    if (reason) {
      const err = new DeviceReadingError(`reading rejected: ${reason}`);
      d.failures++;
      setHealth(d, 'error', err.message);
      return;
    }
    d.lastReadingAtMonoMs = reading.atMs;
    d.lastError = undefined;
    d.failures = 0;
    if (d.health !== 'online') setHealth(d, 'online');
    ctx.bus.emit('device.reading', { ...reading, atMs: wallMs(reading.atMs) });
  }

  function poll(d: Polled): Promise<void> {
    // A poll never overlaps the previous one of the same device.
    d.inFlight ??= pollOne(d)
      .catch((error) => log.error({ err: error, deviceId: d.config.id }, 'device poll failed unexpectedly'))
      .finally(() => (d.inFlight = undefined));
    return d.inFlight;
  }

  function schedule(d: Polled): void {
    if (!running) return;
    // The shared policy: a failing device is polled less often, but never more than a few seconds
    // apart, so a meter that is healthy again is read (and failsafe left) within seconds.
    const delayMs = retryDelayMs(d.config.pollIntervalMs, d.failures);
    d.timer = setTimeout(() => {
      const next = d.adapter ? poll(d) : attach(d).then((ok) => (ok ? poll(d) : undefined));
      void next.finally(() => schedule(d));
    }, delayMs);
    d.timer.unref?.();
  }

  /** Creates and starts the device's adapter; false (and retried by schedule()) when that fails. */
  async function attach(d: Polled): Promise<boolean> {
    const config = d.config;
    try {
      d.adapter = createDeviceAdapter(config, {
        lines,
        mqttClient,
        log,
        nowMs,
        defaultStaleAfterMs: ctx.config.control.staleAfterMs,
        onUpdate: () => void poll(d),
        mqttProblem: () => mqttProblem,
      });
      await d.adapter?.start?.();
    } catch (error) {
      d.adapter = null;
      d.failures++;
      setHealth(d, 'error', (error as Error).message);
      return false;
    }
    if (d.adapter?.battery || d.adapter?.pv) controls.set(config.id, { deviceId: config.id, role: config.role, battery: d.adapter.battery, pv: d.adapter.pv });
    return true;
  }

  function checkStaleness(): void {
    const now = nowMs();
    for (const d of devices) {
      if (d.adapter && d.health === 'online' && d.lastReadingAtMonoMs !== undefined && now - d.lastReadingAtMonoMs > staleAfter(d.config)) {
        setHealth(d, 'stale', `no good reading for ${Math.round((now - d.lastReadingAtMonoMs) / 1000)} s`);
      }
    }
  }

  return {
    name: 'devices',
    controls,
    async start() {
      running = true;
      startedAtMs = nowMs();
      const wanted = ctx.config.devices.filter((d) => d.driver !== 'simulated');
      if (!mqttClient && ctx.config.mqtt && wanted.some((d) => d.driver === 'mqtt')) {
        // Never awaited: a broker that is down at start (or later) is reconnected to in the
        // background, the devices subscribe on every connect, and their error says why.
        const url = ctx.config.mqtt.url;
        mqttProblem = `connecting to the MQTT broker ${url}`;
        mqttClient = connect(url, {
          username: ctx.config.mqtt.username,
          password: ctx.config.mqtt.password,
          reconnectPeriod: MQTT_RECONNECT_PERIOD_MS,
          connectTimeout: 5000,
        });
        mqttClient.on('connect', () => {
          if (mqttProblem) log.info({ url }, 'MQTT broker connected');
          mqttProblem = undefined;
        });
        mqttClient.on('error', (error) => {
          const problem = `MQTT broker ${url} unreachable: ${error.message}`;
          if (problem !== mqttProblem) log.warn({ url, err: error.message }, 'MQTT connection error; reconnecting');
          mqttProblem = problem;
        });
        mqttClient.on('offline', () => {
          mqttProblem ??= `MQTT broker ${url} connection lost`;
        });
        ownsMqtt = true;
        // A short, bounded wait so a broker that is up is subscribed to before start() returns.
        const client = mqttClient;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, START_WAIT_MS);
          function done() {
            clearTimeout(timer);
            client.off('connect', done);
            client.off('error', done);
            resolve();
          }
          client.once('connect', done);
          client.once('error', done);
        });
      }
      for (const config of wanted) {
        const d: Polled = { config, adapter: null, health: 'offline', failures: 0 };
        devices.push(d);
        // Attaching is quick (an MQTT subscribe at most); the first read is not awaited.
        if (await attach(d)) void poll(d).finally(() => schedule(d));
        else schedule(d);
      }
      staleTimer = setInterval(checkStaleness, 500);
      staleTimer.unref?.();
    },
    async stop() {
      running = false;
      clearInterval(staleTimer);
      for (const d of devices) clearTimeout(d.timer);
      await Promise.allSettled(devices.map((d) => d.inFlight));
      await Promise.allSettled(devices.map((d) => d.adapter?.stop?.()));
      await lines.closeAll();
      if (ownsMqtt) await mqttClient?.endAsync().catch(() => undefined);
      devices.length = 0;
      controls.clear();
    },
    async pollAll() {
      await Promise.all(devices.map(poll));
      checkStaleness();
    },
  };
}
