// Polls every configured Modbus and MQTT device on its own interval, checks each reading for
// physical plausibility, and puts readings and health on the bus. A device that fails, hangs or
// talks nonsense is marked (error / stale) and logged once per transition; it never blocks the
// control loop or the other devices, and nothing it does crashes the process.
import { connectAsync, type MqttClient } from 'mqtt';
import type { DeviceHealthState, DeviceReading } from '../../adapters/types.ts';
import { StaleSourceError } from '../../adapters/errors.ts';
import { ModbusLines } from '../../adapters/modbus/line.ts';
import { implausibility } from '../../adapters/reading-check.ts';
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
  lastReadingAtMs?: number;
  inFlight?: Promise<void>;
  timer?: NodeJS.Timeout;
  /** Consecutive failed polls: a failing device is polled less often so it does not hog a shared line. */
  failures: number;
}

const MAX_BACKOFF_MS = 30_000;

export function createDeviceService(ctx: ServiceContext, options: DeviceServiceOptions = {}): DeviceService {
  const log = ctx.log.child({ module: 'devices' });
  const nowMs = () => ctx.clock.nowMs();
  const lines = new ModbusLines({ log: log.child({ module: 'modbus' }), nowMs });
  const devices: Polled[] = [];
  const controls = new Map<string, DeviceControls>();
  let mqttClient: MqttClient | undefined = options.mqttClient;
  let ownsMqtt = false;
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
    const fields = { deviceId: d.config.id, health, lastError: d.lastError, lastReadingAtMs: d.lastReadingAtMs };
    // A recurring fault is logged when it starts and when it clears, not every poll.
    if (stateChanged) {
      if (health === 'online') log.info(fields, 'device online');
      else log.warn(fields, `device ${health}`);
    } else log.debug(fields, 'device error changed');
    ctx.bus.emit('device.health', {
      deviceId: d.config.id,
      role: d.config.role,
      health,
      ...(d.lastReadingAtMs !== undefined && { lastReadingAtMs: d.lastReadingAtMs }),
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
      if (error instanceof StaleSourceError && d.lastReadingAtMs === undefined && nowMs() - startedAtMs < graceMs) return;
      d.failures++;
      setHealth(d, error instanceof StaleSourceError ? 'stale' : 'error', message);
      return;
    }
    const reason = implausibility(reading);
    if (reason) {
      const err = new DeviceReadingError(`reading rejected: ${reason}`);
      d.failures++;
      setHealth(d, 'error', err.message);
      return;
    }
    d.lastReadingAtMs = reading.atMs;
    d.lastError = undefined;
    d.failures = 0;
    if (d.health !== 'online') setHealth(d, 'online');
    ctx.bus.emit('device.reading', reading);
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
    const backoff = 2 ** Math.min(Math.max(0, d.failures - 1), 6);
    const delayMs = Math.min(d.config.pollIntervalMs * backoff, Math.max(MAX_BACKOFF_MS, d.config.pollIntervalMs));
    d.timer = setTimeout(() => {
      void poll(d).finally(() => schedule(d));
    }, delayMs);
    d.timer.unref?.();
  }

  function checkStaleness(): void {
    const now = nowMs();
    for (const d of devices) {
      if (d.adapter && d.health === 'online' && d.lastReadingAtMs !== undefined && now - d.lastReadingAtMs > staleAfter(d.config)) {
        setHealth(d, 'stale', `no good reading for ${Math.round((now - d.lastReadingAtMs) / 1000)} s`);
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
        try {
          mqttClient = await connectAsync(ctx.config.mqtt.url, {
            username: ctx.config.mqtt.username,
            password: ctx.config.mqtt.password,
            reconnectPeriod: 2000,
            connectTimeout: 5000,
          });
          mqttClient.on('error', (error) => log.warn({ err: error.message }, 'MQTT connection error'));
          ownsMqtt = true;
        } catch (error) {
          log.error({ err: (error as Error).message, url: ctx.config.mqtt.url }, 'cannot connect to the MQTT broker; MQTT devices stay offline until restart');
        }
      }
      for (const config of wanted) {
        const d: Polled = { config, adapter: null, health: 'offline', failures: 0 };
        devices.push(d);
        try {
          d.adapter = createDeviceAdapter(config, {
            lines,
            mqttClient,
            log,
            nowMs,
            defaultStaleAfterMs: ctx.config.control.staleAfterMs,
            onUpdate: () => void poll(d),
          });
          await d.adapter?.start?.();
        } catch (error) {
          d.adapter = null;
          setHealth(d, 'error', (error as Error).message);
          continue;
        }
        if (d.adapter?.battery || d.adapter?.pv) controls.set(config.id, { deviceId: config.id, role: config.role, battery: d.adapter.battery, pv: d.adapter.pv });
        void poll(d).finally(() => schedule(d));
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
