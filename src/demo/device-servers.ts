// The demo's meter, PV inverter and battery as real Modbus TCP servers (modbus-serial ServerTCP on
// 127.0.0.1) serving SunSpec maps, so `ems demo` exercises the same adapters as a real site.
// Values come from the demo's simulation on every read; setpoints written by the EMS are decoded
// and reported back (battery W through model 124, PV limit through model 704).
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import { modbusDeviceSchema, type DeviceConfig } from '../../config/schema.ts';
import type { ServerTCP as ServerTCPClass } from 'modbus-serial';
import { decodeModel } from '../../adapters/modbus/sunspec-decode.ts';
import { modelAddress, sunSpecImage, SUNSPEC_MODEL_LENGTHS, type ModelSpec } from '../../adapters/modbus/sunspec-image.ts';

const { ServerTCP } = createRequire(import.meta.url)('modbus-serial') as { ServerTCP: typeof ServerTCPClass };

export interface DemoDeviceValues {
  gridCurrentA: [number, number, number];
  gridPowerW: number;
  pvPowerW: number;
  /** + discharge / − charge. */
  batteryPowerW: number;
  batterySocPct: number;
}

export interface DemoSetpoints {
  /** What the EMS last commanded, + discharge; undefined before the first command. */
  batteryPowerW?: number;
  /** PV limit in W; undefined = not curtailed. */
  pvLimitW?: number;
  /** Revert timers written with them (model 124 InOutWRte_RvrtTms, 704 WMaxLimPctRvrtTms), s; 0 or undefined = none. */
  batteryRevertS?: number;
  pvLimitRevertS?: number;
}

export interface DemoDeviceServersOptions {
  log: Logger;
  model: () => DemoDeviceValues;
  /** Called after the EMS writes a setpoint, with the devices written since the last call. */
  onSetpoints?: (setpoints: DemoSetpoints, written: ReadonlySet<DemoDeviceName>) => void;
  voltageV?: number;
  pvRatedW?: number;
  batteryMaxPowerW?: number;
}

export type DemoDeviceName = 'grid' | 'pv' | 'battery';

export interface DemoEndpoint {
  host: string;
  port: number;
  unitId: number;
}

export interface DemoDeviceServers {
  grid: DemoEndpoint;
  pv: DemoEndpoint;
  battery: DemoEndpoint;
  setpoints(): DemoSetpoints;
  stop(): Promise<void>;
}

const BASE = 40000;
const HOST = '127.0.0.1';
const UNIT = 1;

interface SimDevice {
  models: (v: DemoDeviceValues) => ModelSpec[];
  /** Register writes kept over the generated image (control models). */
  written: Map<number, number>;
}

export async function startDemoDeviceServers(options: DemoDeviceServersOptions): Promise<DemoDeviceServers> {
  const log = options.log.child({ module: 'demo-devices' });
  const voltageV = options.voltageV ?? 230;
  const pvRatedW = options.pvRatedW ?? 100_000;
  const batteryMaxW = options.batteryMaxPowerW ?? 50_000;
  let setpoints: DemoSetpoints = {};

  const gridModels = (v: DemoDeviceValues): ModelSpec[] => [
    { id: 1, common: { manufacturer: 'EMS demo', model: 'Grid meter', serial: 'DEMO-GRID' } },
    {
      id: 203,
      values: {
        W: Math.round(v.gridPowerW),
        AphA: v.gridCurrentA[0], AphB: v.gridCurrentA[1], AphC: v.gridCurrentA[2],
        PhVphA: voltageV, PhVphB: voltageV, PhVphC: voltageV,
      },
      scaleFactors: { 6: -1, 15: -1, 22: powerSf(v.gridPowerW) },
    },
  ];
  const pvModels = (v: DemoDeviceValues): ModelSpec[] => {
    const a = v.pvPowerW / 3 / voltageV;
    return [
      { id: 1, common: { manufacturer: 'EMS demo', model: 'PV inverter', serial: 'DEMO-PV' } },
      { id: 103, values: { W: Math.round(v.pvPowerW), AphA: a, AphB: a, AphC: a, PhVphA: voltageV, PhVphB: voltageV, PhVphC: voltageV }, scaleFactors: { 6: -1, 13: -1, 15: powerSf(v.pvPowerW) } },
      { id: 702, values: { WMaxRtg: pvRatedW, WMax: pvRatedW }, scaleFactors: { 45: powerSf(pvRatedW) } },
      { id: 123, scaleFactors: { 23: 0 } },
      // Percent points at 0.01 %, so written limits land to the watt rather than in 1 % steps.
      { id: 704, values: { WMaxLimPctEna: 0, WMaxLimPct: 100 }, scaleFactors: { 54: -2, 55: 0 } },
    ];
  };
  const batteryModels = (v: DemoDeviceValues): ModelSpec[] => [
    { id: 1, common: { manufacturer: 'EMS demo', model: 'Battery', serial: 'DEMO-BESS' } },
    { id: 802, values: { SoC: Math.round(v.batterySocPct * 10) / 10, W: Math.round(v.batteryPowerW), WChaRteMax: batteryMaxW, WDisChaRteMax: batteryMaxW }, scaleFactors: { 54: powerSf(batteryMaxW), 56: -1, 63: powerSf(v.batteryPowerW) } },
    { id: 124, values: { WChaMax: batteryMaxW, StorCtl_Mod: 0, OutWRte: 100, InWRte: 100, ChaGriSet: 0, InOutWRte_RvrtTms: 0 }, scaleFactors: { 18: powerSf(batteryMaxW), 25: -2 } },
  ];

  const devices = {
    grid: { models: gridModels, written: new Map<number, number>() },
    pv: { models: pvModels, written: new Map<number, number>() },
    battery: { models: batteryModels, written: new Map<number, number>() },
  } satisfies Record<string, SimDevice>;

  function image(device: SimDevice): number[] {
    const regs = sunSpecImage(device.models(options.model()));
    for (const [address, value] of device.written) regs[address - BASE] = value;
    return regs;
  }

  function decodeSetpoints(): DemoSetpoints {
    const v = options.model();
    const pvImage = image(devices.pv);
    const at704 = modelAddress(BASE, pvModels(v), 704) - BASE;
    const der = decodeModel(704, pvImage.slice(at704, at704 + SUNSPEC_MODEL_LENGTHS[704] + 2));
    const pvLimitW = der.WMaxLimPctEna === 1 && der.WMaxLimPct !== null ? (der.WMaxLimPct / 100) * pvRatedW : undefined;
    const bImage = image(devices.battery);
    const at124 = modelAddress(BASE, batteryModels(v), 124) - BASE;
    const s = decodeModel(124, bImage.slice(at124, at124 + SUNSPEC_MODEL_LENGTHS[124] + 2));
    let batteryPowerW = setpoints.batteryPowerW;
    if (devices.battery.written.size && s.WChaMax) {
      // Model 124 as the EMS writes it: a negative discharge limit means charging, a negative
      // charge limit means discharging, StorCtl_Mod 2 with OutWRte 0 means hold.
      if (s.StorCtl_Mod === 2 && (s.OutWRte ?? 0) < 0) batteryPowerW = ((s.OutWRte ?? 0) / 100) * s.WChaMax;
      else if (s.StorCtl_Mod === 1 && (s.InWRte ?? 0) < 0) batteryPowerW = (-(s.InWRte ?? 0) / 100) * s.WChaMax;
      else if (s.StorCtl_Mod === 2 && s.OutWRte === 0) batteryPowerW = 0;
    }
    const revert = (s: number | null | undefined) => (s ? s : undefined);
    return {
      batteryPowerW: batteryPowerW === undefined ? undefined : Math.round(batteryPowerW),
      pvLimitW: pvLimitW === undefined ? undefined : Math.round(pvLimitW),
      batteryRevertS: revert(s.InOutWRte_RvrtTms),
      pvLimitRevertS: revert(der.WMaxLimPctRvrtTms),
    };
  }

  const servers: ServerTCPClass[] = [];
  async function serve(name: DemoDeviceName, device: SimDevice): Promise<DemoEndpoint> {
    const vector = {
      getMultipleHoldingRegisters: (address: number, length: number): number[] => {
        const regs = image(device);
        const start = address - BASE;
        if (start < 0 || start + length > regs.length) throw Object.assign(new Error('illegal data address'), { modbusErrorCode: 2 });
        return regs.slice(start, start + length);
      },
      getHoldingRegister: (address: number): number => vector.getMultipleHoldingRegisters(address, 1)[0],
      setRegister: (address: number, value: number): void => {
        const regs = image(device);
        if (address < BASE || address - BASE >= regs.length) throw Object.assign(new Error('illegal data address'), { modbusErrorCode: 2 });
        device.written.set(address, value & 0xffff);
        queueReport(name);
      },
    };
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      try {
        const server = await listen(vector, port);
        servers.push(server);
        log.info({ device: name, port }, 'demo Modbus device listening');
        return { host: HOST, port, unitId: UNIT };
      } catch (error) {
        if (attempt >= 5) throw error;
      }
    }
  }

  let reportQueued = false;
  const writtenSinceReport = new Set<DemoDeviceName>();
  function queueReport(name: DemoDeviceName): void {
    writtenSinceReport.add(name);
    if (reportQueued) return;
    reportQueued = true;
    // One report per FC16 write, after all its registers landed.
    setImmediate(() => {
      reportQueued = false;
      const written = new Set(writtenSinceReport);
      writtenSinceReport.clear();
      try {
        setpoints = decodeSetpoints();
        options.onSetpoints?.(setpoints, written);
      } catch (error) {
        log.warn({ err: (error as Error).message }, 'cannot decode demo setpoints');
      }
    });
  }

  const grid = await serve('grid', devices.grid);
  const pv = await serve('pv', devices.pv);
  const battery = await serve('battery', devices.battery);
  return {
    grid,
    pv,
    battery,
    setpoints: () => setpoints,
    async stop() {
      await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}

/**
 * The config entry that reads a `simulated` demo device through its Modbus server instead (grid
 * meter, PV and battery roles; other entries are returned unchanged). Setpoints are written only
 * when the entry allows control.
 */
export function demoModbusDevice(device: DeviceConfig, servers: Pick<DemoDeviceServers, 'grid' | 'pv' | 'battery'>): DeviceConfig {
  if (device.driver !== 'simulated') return device;
  const endpoint = device.role === 'grid-meter' ? servers.grid : device.role === 'pv' ? servers.pv : device.role === 'battery' ? servers.battery : undefined;
  if (!endpoint) return device;
  const keep = ['id', 'role', 'sign', 'pollIntervalMs', 'staleAfterMs', 'minSocPct', 'maxSocPct', 'maxChargePowerW', 'maxDischargePowerW', 'ratedPowerW', 'control'] as const;
  const common = Object.fromEntries(keep.filter((k) => device[k] !== undefined).map((k) => [k, device[k]]));
  return modbusDeviceSchema.parse({ ...common, driver: 'modbus', host: endpoint.host, port: endpoint.port, unitId: endpoint.unitId, profile: 'sunspec' });
}

/** The smallest power-of-ten scale that fits a W value into an int16 (as real devices do). */
function powerSf(w: number): number {
  let sf = 0;
  while (Math.abs(w) / 10 ** sf > 32_000 && sf < 4) sf++;
  return sf;
}

function listen(vector: object, port: number): Promise<ServerTCPClass> {
  return new Promise((resolve, reject) => {
    const server = new ServerTCP(vector as never, { host: HOST, port, unitID: UNIT });
    server.on('initialized', () => resolve(server));
    server.on('serverError', (error) => reject(error));
    server.on('socketError', () => undefined);
    server.on('error', () => undefined);
  });
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, HOST, resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
