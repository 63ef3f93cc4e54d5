import type { Config } from '../../config/schema.ts';
import { SitePlant, seededRandom, type DeviceSetpoints, type PlantEvent } from '../../plant/index.ts';
import { startApp, type App } from '../app.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { randomCar } from './car.ts';
import { demoPlantScenario } from './demo-plant.ts';
import { demoModbusDevice, startDemoDeviceServers, type DemoDeviceServers } from './device-servers.ts';
import { demoMqttDevice, startDemoMqttSource, type DemoMqttSource } from './mqtt-source.ts';
import { PlantChargerLink } from './plant-charger-link.ts';

export interface DemoOptions {
  config: Config;
  log: Logger;
  clock: Clock;
  configPath?: string;
  /** What the demo runs with for a config read from its file (ports, speed-scaled timings); see AppOptions. */
  runtimeConfig?: (fromFile: Config) => Config;
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

/** What the site's instruments read at the last step (the plant's truth). */
export interface DemoReading {
  /** Building load alone (no PV, battery or cars), A per site phase. */
  buildingA: [number, number, number];
  pvPowerW: number;
  batteryPowerW: number;
  batterySocPct: number;
  gridCurrentA: [number, number, number];
  gridPowerW: number;
}

export interface DemoSite {
  readonly app: App;
  readonly plant: SitePlant;
  readonly chargers: readonly PlantChargerLink[];
  readonly lastReading: () => DemoReading | undefined;
  /** Battery setpoint and PV limit the EMS last wrote to the demo's Modbus devices, with when. */
  readonly setpoints: () => Readonly<DeviceSetpoints>;
  /** The MQTT device the demo publishes, when a broker was reachable. */
  readonly mqttDevice?: { id: string; topic: string };
  stop(): Promise<void>;
}

/**
 * The demo: the real EMS, plus the site plant around it (plant/: building, PV, battery, chargers
 * that apply profiles after their own delay and send MeterValues at their own period, cars with
 * their own response, ramp, taper and full); the chargers connect over OCPP-J on loopback, the
 * meter, PV and battery are Modbus devices (or readings on the bus when the demo runs fast).
 */
export async function startDemoSite(options: DemoOptions): Promise<DemoSite> {
  const { log, clock } = options;
  let config = options.config;
  const simLog = log.child({ module: 'demo' });
  const seed = options.seed ?? config.demo?.seed ?? 1;
  const startAtMs = clock.nowMs();
  const plant = new SitePlant(demoPlantScenario(config, startAtMs, utcOffsetHours(config.site.timezone, startAtMs), seed));
  const plantNowMs = () => Math.max(plant.nowMs, clock.nowMs() - startAtMs);
  const voltageV = config.site.voltage;
  const reading = (): DemoReading => {
    const t = plant.truth();
    const root = t.nodeA.get(plant.scenario.circuit.id)!;
    const building = t.buildingA.get(plant.scenario.circuit.id)!;
    const offsetA = (t.pvPowerW + t.batteryPowerW) / 3 / voltageV;
    const tenth = (a: number) => Math.round(a * 10) / 10;
    return {
      buildingA: building.map((a) => Math.max(0, tenth(a + offsetA))) as [number, number, number],
      pvPowerW: Math.round(t.pvPowerW),
      batteryPowerW: Math.round(t.batteryPowerW),
      batterySocPct: Math.round((t.batterySocPct ?? 0) * 10) / 10,
      gridCurrentA: root.map(tenth) as [number, number, number],
      gridPowerW: Math.round(t.gridPowerW),
    };
  };
  let latest: DemoReading = reading();
  const buildingW = (r: DemoReading) => (r.buildingA[0] + r.buildingA[1] + r.buildingA[2]) * voltageV;
  let servers: DemoDeviceServers | undefined;
  let mqttSource: DemoMqttSource | undefined;
  const setpoints: DeviceSetpoints = {};
  if (options.modbusDevices) {
    servers = await startDemoDeviceServers({
      log: simLog,
      voltageV,
      pvRatedW: plant.scenario.pv?.peakW ?? 20_000,
      batteryMaxPowerW: plant.scenario.battery?.maxPowerW ?? 10_000,
      model: () => ({
        gridCurrentA: latest.gridCurrentA,
        gridPowerW: latest.gridPowerW,
        pvPowerW: latest.pvPowerW,
        batteryPowerW: latest.batteryPowerW,
        batterySocPct: latest.batterySocPct,
      }),
      onSetpoints: (written, devices) => {
        // The plant's battery and PV follow what the EMS wrote while it is in force.
        const atMs = clock.nowMs();
        const ms = (s: number | undefined) => (s === undefined ? undefined : s * 1000);
        if (devices.has('battery') && written.batteryPowerW !== undefined) {
          Object.assign(setpoints, { batteryPowerW: written.batteryPowerW, batterySetAtMs: atMs, batteryHoldMs: ms(written.batteryRevertS) });
          plant.setBatteryPowerW(written.batteryPowerW, ms(written.batteryRevertS));
        }
        if (devices.has('pv')) {
          Object.assign(setpoints, { pvLimitW: written.pvLimitW, pvLimitSetAtMs: atMs, pvLimitHoldMs: ms(written.pvLimitRevertS) });
          plant.setPvLimitW(written.pvLimitW, ms(written.pvLimitRevertS));
        }
        // Applied at once (the next reading shows it), as an inverter does within its response time.
        latest = reading();
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
  const app = await startApp({ config, log, clock, configPath: options.configPath, ...(options.runtimeConfig ? { runtimeConfig: options.runtimeConfig } : {}) }).catch(async (error: unknown) => {
    await servers?.stop();
    await mqttSource?.stop();
    throw error;
  });
  const random = seededRandom(seed);
  const endpoint = `ws://127.0.0.1:${app.ocppPort}/ocpp`;
  const tagsInUse = new Set<string>();
  const chargers = config.chargers.map(
    (charger) => new PlantChargerLink({ endpoint, charger, plant, plantNowMs, log: simLog, onCarGone: (idTag) => tagsInUse.delete(idTag) }),
  );
  const linkById = new Map(chargers.map((c) => [c.id, c]));
  await Promise.all(chargers.map((c) => c.connect()));

  const simulated = new Map(config.devices.filter((d) => d.driver === 'simulated').map((d) => [d.role, d.id]));
  /** Connectors a car was sent to and has not reached yet. */
  const arriving = new Set<string>();
  let lastStepMs = clock.nowMs();
  let stepping = false;

  const freeConnector = (chargerId: string): number | undefined =>
    plant.chargers.get(chargerId)?.connectors.find((c) => !c.car && c.status === 'Available' && !arriving.has(`${chargerId}/${c.connectorId}`))?.connectorId;

  const plugInRandomCar = (chargerId: string) => {
    const connectorId = freeConnector(chargerId);
    const free = config.idTags.filter((t) => !tagsInUse.has(t.idTag));
    if (connectorId === undefined || free.length === 0) return;
    const tag = free[Math.floor(random() * free.length)]!;
    tagsInUse.add(tag.idTag);
    arriving.add(`${chargerId}/${connectorId}`);
    plant.addCar(randomCar(random, tag, chargerId, connectorId, plantNowMs()));
  };

  function step(): void {
    const atMs = clock.nowMs();
    const dtS = Math.max(0, (atMs - lastStepMs) / 1000);
    lastStepMs = atMs;
    const events = plant.stepTo(plantNowMs());
    latest = reading();
    const byCharger = new Map<string, PlantEvent[]>();
    for (const event of events) {
      if (event.kind === 'meter') {
        const grid = simulated.get('grid-meter');
        if (grid === event.meterId) app.ctx.bus.emit('device.reading', { deviceId: grid, role: 'grid-meter', atMs: plant.wallMs(event.measuredAtMs), currentA: [...event.currentA], powerW: event.powerW });
        continue;
      }
      if (event.kind === 'status' && event.status === 'Preparing') arriving.delete(`${event.chargerId}/${event.connectorId}`);
      const list = byCharger.get(event.chargerId) ?? [];
      list.push(event);
      byCharger.set(event.chargerId, list);
    }
    for (const [chargerId, list] of byCharger) linkById.get(chargerId)?.deliver(list);
    for (const link of chargers) link.reportChanges();
    emitDeviceReadings(atMs, latest);
    mqttSource?.publish(buildingW(latest));

    const arrivalsPerHour = chargers.length * 0.35;
    if (random() < (arrivalsPerHour * dtS) / 3600) {
      const free = chargers.filter((c) => freeConnector(c.id) !== undefined);
      if (free.length) plugInRandomCar(free[Math.floor(random() * free.length)]!.id);
    }
  }

  function emitDeviceReadings(atMs: number, r: DemoReading): void {
    const pv = simulated.get('pv');
    if (pv) app.ctx.bus.emit('device.reading', { deviceId: pv, role: 'pv', atMs, powerW: r.pvPowerW });
    const bess = simulated.get('battery');
    if (bess) app.ctx.bus.emit('device.reading', { deviceId: bess, role: 'battery', atMs, powerW: r.batteryPowerW, socPct: r.batterySocPct });
  }

  // Cars already parked when the demo opens. They plug in once every charger holds the default
  // the EMS gave its connectors at boot (a real site's chargers keep theirs over an EMS restart):
  // before that a car draws the charger's own maximum, and at x60 the boot round trip is a demo
  // minute or more (the History showed 70.7 kW import, 124 A on L2, on the 50 kW / 80 A site).
  // The wait for a charger that never takes its default is counted in demo time AND in steps (a
  // real minute): at x60 five demo minutes are five real seconds, and on a loaded machine the boot
  // round trips took longer than that, so the cars plugged in unlimited (93 kW in the History).
  const occupancy = options.initialOccupancy ?? 0.75;
  let parkedPending = occupancy > 0;
  const stepMs = options.stepMs ?? 1000;
  const plugParkedCarsAtMs = plantNowMs() + PARKED_CARS_WAIT_MS;
  let parkedWaitStepsLeft = Math.ceil(PARKED_CARS_WAIT_REAL_MS / stepMs);
  const plugParkedCars = () => {
    if (!parkedPending) return;
    if (parkedWaitStepsLeft > 0) parkedWaitStepsLeft--;
    if (!chargersHoldDefaults(plant) && (plantNowMs() < plugParkedCarsAtMs || parkedWaitStepsLeft > 0)) return;
    parkedPending = false;
    for (const charger of chargers) if (random() < occupancy) plugInRandomCar(charger.id);
  };

  step();
  plugParkedCars();
  const timer = setInterval(() => {
    if (stepping) return;
    stepping = true;
    try {
      step();
      plugParkedCars();
    } catch (error) {
      simLog.error({ err: error }, 'demo step failed');
    } finally {
      stepping = false;
    }
  }, stepMs);

  return {
    app,
    plant,
    chargers,
    lastReading: () => latest,
    setpoints: () => ({ ...setpoints }),
    ...(mqttSource && { mqttDevice: { id: mqttSource.deviceId, topic: mqttSource.topic } }),
    async stop() {
      // Control stops first: the cars leaving and the site going quiet are then no news to it (no
      // failsafe for a meter that stopped, no profile sent for a transaction that just ended).
      await app.control.stop();
      clearInterval(timer);
      // Cars leave before the site closes, so the next run starts without dangling transactions.
      await Promise.race([Promise.all(chargers.map((c) => c.stopAll())), new Promise((resolve) => setTimeout(resolve, 3_000))]);
      await Promise.all(chargers.map((c) => c.close().catch(() => undefined)));
      await app.stop();
      await servers?.stop();
      await mqttSource?.stop();
    },
  };
}

/** Demo time the parked cars wait at most for the chargers' boot defaults (a charger may refuse them). */
const PARKED_CARS_WAIT_MS = 5 * 60_000;
/** And at least this long in real time, counted in demo steps (a loaded machine delays the boot round trips in real time). */
const PARKED_CARS_WAIT_REAL_MS = 60_000;

/** Every connector of every charger that obeys profiles holds a TxDefaultProfile (its own or the charger-wide one). */
function chargersHoldDefaults(plant: SitePlant): boolean {
  for (const charger of plant.chargers.values()) {
    if (charger.spec.profiles !== 'obeys') continue;
    const held = charger.heldProfiles();
    for (const c of charger.connectors) {
      if (!held.some((p) => p.purpose === 'TxDefaultProfile' && (p.connectorId === c.connectorId || p.connectorId === 0))) return false;
    }
  }
  return true;
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
