// Config entry -> adapter: which class reads the device, on which shared line, with which controls.
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { DeviceCapabilityError } from '../../adapters/errors.ts';
import type { ModbusLines } from '../../adapters/modbus/line.ts';
import { ProfileDevice } from '../../adapters/modbus/profile-device.ts';
import { genericProfile } from '../../adapters/modbus/profiles/generic.ts';
import { vendorProfiles } from '../../adapters/modbus/profiles/registry.ts';
import { SunSpecDevice } from '../../adapters/modbus/sunspec-device.ts';
import type { ModbusTransport } from '../../adapters/modbus/transport.ts';
import { MqttDevice } from '../../adapters/mqtt/mqtt-device.ts';
import type { BatteryControl, Meter, PvControl } from '../../adapters/types.ts';
import type { DeviceConfig, ModbusDeviceConfig, MqttDeviceConfig } from '../../config/schema.ts';

export interface DeviceAdapter {
  meter: Meter;
  battery?: BatteryControl;
  pv?: PvControl;
  start?(): Promise<void>;
  stop?(): Promise<void>;
}

/** Push devices (MQTT) call this when a new value arrived. */
export type UpdateListener = () => void;

export interface FactoryDeps {
  lines: ModbusLines;
  mqttClient?: MqttClient;
  log: Logger;
  nowMs: () => number;
  defaultStaleAfterMs: number;
  onUpdate?: UpdateListener;
  /** Why the MQTT broker connection is down now, if it is. */
  mqttProblem?: () => string | undefined;
}

/** Null for drivers this service does not poll (`simulated` devices are fed by the demo). */
export function createDeviceAdapter(device: DeviceConfig, deps: FactoryDeps): DeviceAdapter | null {
  if (device.driver === 'modbus') return modbusAdapter(device, deps);
  if (device.driver === 'mqtt') return mqttAdapter(device, deps);
  return null;
}

function withControls(device: DeviceConfig, adapter: Meter & Partial<BatteryControl & PvControl>, canBattery: boolean, canPv: boolean): DeviceAdapter {
  const control = device.control !== false;
  return {
    meter: adapter,
    ...(control && device.role === 'battery' && canBattery && { battery: adapter as BatteryControl }),
    ...(control && device.role === 'pv' && canPv && { pv: adapter as PvControl }),
  };
}

function modbusAdapter(device: ModbusDeviceConfig, deps: FactoryDeps): DeviceAdapter {
  const transport: ModbusTransport =
    device.transport === 'rtu'
      ? { kind: 'rtu', path: device.serialPort!, baudRate: device.baudRate, parity: device.parity }
      : { kind: device.transport, host: device.host!, port: device.port ?? 502 };
  const vendor = device.profile === 'generic' ? genericProfile(device.role, device.registers!) : vendorProfiles[device.profile];
  const line = deps.lines.get(transport, Math.max(device.timeoutMs, vendor?.minTimeoutMs ?? 0), { connectDelayMs: vendor?.connectDelayMs });
  const log = deps.log.child({ deviceId: device.id });
  const sunspec = (extra: { chainIndex?: number; sign?: 1 | -1 } = {}) =>
    new SunSpecDevice({
      deviceId: device.id,
      role: device.role,
      line,
      unitId: device.unitId,
      chainIndex: extra.chainIndex ?? device.sunspecDevice,
      base: device.sunspecBase,
      sign: extra.sign ?? device.sign,
      nowMs: deps.nowMs,
      log,
      ratedPowerW: device.ratedPowerW,
    });
  if (device.profile === 'sunspec') return withControls(device, sunspec(), true, true);
  // SolarEdge: battery in its own register area; inverter and meter via SunSpec (the meter is the
  // chain's second device and counts export as +).
  if (device.profile === 'solaredge' && device.role !== 'battery') {
    const meter = device.role === 'grid-meter' || device.role === 'load';
    return withControls(device, sunspec(meter ? { chainIndex: Math.max(2, device.sunspecDevice), sign: (-device.sign as 1 | -1) } : {}), false, true);
  }
  if (!vendor) throw new DeviceCapabilityError(`unknown Modbus profile ${device.profile}`);
  const adapter = new ProfileDevice({ deviceId: device.id, role: device.role, profile: vendor, line, unitId: device.unitId, sign: device.sign, nowMs: deps.nowMs });
  return withControls(device, adapter, vendor.batterySetpoint !== undefined, vendor.pvLimit !== undefined);
}

function mqttAdapter(device: MqttDeviceConfig, deps: FactoryDeps): DeviceAdapter {
  if (!deps.mqttClient) throw new DeviceCapabilityError(`device ${device.id} uses MQTT, but the config has no mqtt section (mqtt.url)`);
  const adapter = new MqttDevice({
    deviceId: device.id,
    role: device.role,
    client: deps.mqttClient,
    power: { topic: device.topic, jsonPath: device.jsonPath, scale: device.scale },
    currents: device.currentTopics,
    soc: device.socTopic,
    setpointTopic: device.setpointTopic,
    limitTopic: device.limitTopic,
    sign: device.sign,
    staleAfterMs: device.staleAfterMs ?? deps.defaultStaleAfterMs,
    nowMs: deps.nowMs,
    log: deps.log.child({ deviceId: device.id }),
    onUpdate: deps.onUpdate,
    connectionProblem: deps.mqttProblem,
  });
  return { ...withControls(device, adapter, device.setpointTopic !== undefined, device.limitTopic !== undefined), start: () => adapter.start(), stop: () => adapter.stop() };
}
