import type { Config } from '../../config/schema.ts';
import { startApp, type App } from '../app.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { randomCar, seededRandom } from './car.ts';
import { demoModbusDevice, startDemoDeviceServers, type DemoDeviceServers } from './device-servers.ts';
import { demoMqttDevice, startDemoMqttSource, type DemoMqttSource } from './mqtt-source.ts';
import { SimulatedCharger } from './simulated-charger.ts';
import { stepSite, type SiteModelParams, type SiteModelState, type SiteReading, type SiteSetpoints } from './site-model.ts';

export interface DemoOptions {
  config: Config;
  log: Logger;
  clock: Clock;
  configPath?: string;
  /** Real milliseconds between simulation steps. */
  stepMs?: number;
  seed?: number;
  /** Share of chargers with a car at start, 0..1. */
  initialOccupancy?: number;
  /**
   * Serve the simulated meter, PV and battery as Modbus TCP SunSpec devices on loopback, so the EMS
   * reads them through its real adapters. Needs near-real time: devices are polled in real time.
   */
  modbusDevices?: boolean;
  /**
   * With an `mqtt:` section in the config, publish the building's submeter on the broker and read
   * it back through a `driver: mqtt` device (default true; like the Modbus devices it needs near
   * real time, as MQTT staleness runs on the demo clock). No broker: left out with a warning.
   */
  mqttDevice?: boolean;
}

export interface DemoSite {
  readonly app: App;
  readonly chargers: readonly SimulatedCharger[];
  readonly lastReading: () => SiteReading | undefined;
  /** Battery setpoint and PV limit the EMS last wrote to the demo's Modbus devices, with when. */
  readonly setpoints: () => Readonly<SiteSetpoints>;
  /** The MQTT device the demo publishes, when a broker was reachable. */
  readonly mqttDevice?: { id: string; topic: string };
  stop(): Promise<void>;
}

const SITE_PHASE: Record<string, [number, number, number]> = {
  L1L2L3: [0, 1, 2], L2L3L1: [1, 2, 0], L3L1L2: [2, 0, 1], L1L3L2: [0, 2, 1], L2L1L3: [1, 0, 2], L3L2L1: [2, 1, 0],
};

/**
 * The demo: the real EMS, plus a simulated site around it: chargers that connect over OCPP-J on
 * loopback, cars that come and go, and the building, PV and battery the grid meter sees.
 */
export async function startDemoSite(options: DemoOptions): Promise<DemoSite> {
  const { log, clock } = options;
  let config = options.config;
  const simLog = log.child({ module: 'demo' });
  const maxPowerW = config.grid.maxPower ?? config.grid.maxCurrent * config.site.voltage * 3;
  const model: SiteModelParams = {
    voltageV: config.site.voltage,
    utcOffsetH: utcOffsetHours(config.site.timezone, clock.nowMs()),
    pvPeakW: Math.round(maxPowerW * 0.4),
    buildingBaseA: config.grid.maxCurrent * 0.08,
    buildingPeakA: config.grid.maxCurrent * 0.3,
    battery: { capacityWh: 60_000, maxPowerW: Math.round(maxPowerW * 0.2), minSocPct: 10, maxSocPct: 95 },
    peakShaveAboveW: maxPowerW * 0.9,
  };
  const modelState: SiteModelState = { batterySocPct: 55, batteryPowerW: 0 };
  const buildingW = (r: SiteReading) => (r.buildingA[0] + r.buildingA[1] + r.buildingA[2]) * model.voltageV;
  // The site as it is before any car: what the meters show until the first step (never a fake 0).
  let latest: SiteReading | undefined = stepSite(clock.nowMs(), 0, [0, 0, 0], modelState, model);
  let servers: DemoDeviceServers | undefined;
  let mqttSource: DemoMqttSource | undefined;
  const setpoints: SiteSetpoints = {};
  if (options.modbusDevices) {
    servers = await startDemoDeviceServers({
      log: simLog,
      voltageV: config.site.voltage,
      pvRatedW: model.pvPeakW,
      batteryMaxPowerW: model.battery.maxPowerW,
      model: () => ({
        gridCurrentA: latest?.gridCurrentA ?? [0, 0, 0],
        gridPowerW: latest?.gridPowerW ?? 0,
        pvPowerW: latest?.pvPowerW ?? 0,
        batteryPowerW: latest?.batteryPowerW ?? 0,
        batterySocPct: latest?.batterySocPct ?? 55,
      }),
      onSetpoints: (written, devices) => {
        // The simulated battery and PV follow what the EMS wrote (site-model.ts), while it is fresh.
        const atMs = clock.nowMs();
        const ms = (s: number | undefined) => (s === undefined ? undefined : s * 1000);
        if (devices.has('battery') && written.batteryPowerW !== undefined) {
          Object.assign(setpoints, { batteryPowerW: written.batteryPowerW, batterySetAtMs: atMs, batteryHoldMs: ms(written.batteryRevertS) });
        }
        if (devices.has('pv')) Object.assign(setpoints, { pvLimitW: written.pvLimitW, pvLimitSetAtMs: atMs, pvLimitHoldMs: ms(written.pvLimitRevertS) });
        simLog.debug(written, 'EMS setpoints on the demo devices');
      },
    });
    const endpoints = servers;
    config = { ...config, devices: config.devices.map((d) => demoModbusDevice(d, endpoints)) };
  }
  if (config.mqtt && options.mqttDevice !== false) {
    mqttSource = await startDemoMqttSource({ mqtt: config.mqtt, log: simLog, deviceId: freeDeviceId(config, 'building') });
    if (mqttSource) {
      config = { ...config, devices: [...config.devices, demoMqttDevice(config, mqttSource)] };
      mqttSource.publish(buildingW(latest));
    }
  }
  const app = await startApp({ config, log, clock, configPath: options.configPath }).catch(async (error: unknown) => {
    await servers?.stop();
    await mqttSource?.stop();
    throw error;
  });
  const random = seededRandom(options.seed ?? config.demo?.seed ?? 1);
  const endpoint = `ws://127.0.0.1:${app.ocppPort}/ocpp`;
  const chargers = config.chargers.map(
    (charger) => new SimulatedCharger({ endpoint, charger, voltageV: config.site.voltage, clock, log: simLog }),
  );
  await Promise.all(chargers.map((c) => c.connect()));

  const simulated = new Map(config.devices.filter((d) => d.driver === 'simulated').map((d) => [d.role, d.id]));
  const tagsInUse = new Set<string>();
  let reading: SiteReading | undefined;
  let lastStepMs = clock.nowMs();
  let stepping = false;

  const plugInRandomCar = async (charger: SimulatedCharger) => {
    const connectorId = charger.freeConnector();
    const free = config.idTags.filter((t) => !tagsInUse.has(t.idTag));
    if (connectorId === undefined || free.length === 0) return;
    const tag = free[Math.floor(random() * free.length)]!;
    tagsInUse.add(tag.idTag);
    const accepted = await charger.plugIn(connectorId, randomCar(random, tag, clock.nowMs())).catch(() => false);
    if (!accepted) tagsInUse.delete(tag.idTag);
  };


  async function step(): Promise<void> {
    const atMs = clock.nowMs();
    const dtS = Math.max(0, (atMs - lastStepMs) / 1000);
    lastStepMs = atMs;
    await Promise.all(chargers.map((c) => c.tick(dtS).catch((error) => simLog.warn({ err: error, chargerId: c.id }, 'charger tick failed'))));

    const evA: [number, number, number] = [0, 0, 0];
    config.chargers.forEach((cfg, i) => {
      const draw = chargers[i]!.drawPerPhaseA();
      const map = SITE_PHASE[cfg.phaseRotation]!;
      for (let p = 0; p < 3; p++) evA[map[p]!] += draw[p]!;
    });
    reading = stepSite(atMs, dtS, evA, modelState, model, setpoints);
    latest = reading;
    emitReadings(atMs, reading);
    mqttSource?.publish(buildingW(reading));

    for (const charger of chargers) {
      for (const view of charger.connectorView()) {
        if (view.car && view.car.departureAtMs <= atMs) {
          tagsInUse.delete(view.car.idTag);
          await charger.unplug(view.connectorId).catch(() => undefined);
        }
      }
    }
    const arrivalsPerHour = chargers.length * 0.35;
    if (random() < (arrivalsPerHour * dtS) / 3600) {
      const free = chargers.filter((c) => c.freeConnector() !== undefined);
      if (free.length) await plugInRandomCar(free[Math.floor(random() * free.length)]!);
    }
  }

  function emitReadings(atMs: number, r: SiteReading): void {
    const grid = simulated.get('grid-meter');
    if (grid) app.ctx.bus.emit('device.reading', { deviceId: grid, role: 'grid-meter', atMs, currentA: r.gridCurrentA, powerW: r.gridPowerW });
    const pv = simulated.get('pv');
    if (pv) app.ctx.bus.emit('device.reading', { deviceId: pv, role: 'pv', atMs, powerW: r.pvPowerW });
    const bess = simulated.get('battery');
    if (bess) app.ctx.bus.emit('device.reading', { deviceId: bess, role: 'battery', atMs, powerW: r.batteryPowerW, socPct: r.batterySocPct });
  }

  await step();
  const timer = setInterval(() => {
    if (stepping) return;
    stepping = true;
    step()
      .catch((error) => simLog.error({ err: error }, 'demo step failed'))
      .finally(() => (stepping = false));
  }, options.stepMs ?? 1000);

  // Cars already parked when the demo opens; the meters are running by then.
  const occupancy = options.initialOccupancy ?? 0.75;
  for (const charger of chargers) if (random() < occupancy) await plugInRandomCar(charger);

  return {
    app,
    chargers,
    lastReading: () => reading,
    setpoints: () => ({ ...setpoints }),
    ...(mqttSource && { mqttDevice: { id: mqttSource.deviceId, topic: mqttSource.topic } }),
    async stop() {
      clearInterval(timer);
      // Cars leave before the site closes, so the next run starts without dangling transactions.
      const leave = Promise.all(
        chargers.flatMap((c) => c.connectorView().filter((v) => v.car).map((v) => c.unplug(v.connectorId, 'Local').catch(() => undefined))),
      );
      await Promise.race([leave, new Promise((resolve) => setTimeout(resolve, 3_000))]);
      await app.control.stop();
      await Promise.all(chargers.map((c) => c.close().catch(() => undefined)));
      await app.stop();
      await servers?.stop();
      await mqttSource?.stop();
    },
  };
}

/** `base`, or `base-2`, `base-3`... when the config already uses it. */
function freeDeviceId(config: Config, base: string): string {
  const taken = new Set(config.devices.map((d) => d.id));
  for (let i = 1; ; i++) {
    const id = i === 1 ? base : `${base}-${i}`;
    if (!taken.has(id)) return id;
  }
}

function utcOffsetHours(timeZone: string, atMs: number): number {
  try {
    const local = new Date(new Date(atMs).toLocaleString('en-US', { timeZone }));
    const utc = new Date(new Date(atMs).toLocaleString('en-US', { timeZone: 'UTC' }));
    return (local.getTime() - utc.getTime()) / 3_600_000;
  } catch {
    return 0;
  }
}
