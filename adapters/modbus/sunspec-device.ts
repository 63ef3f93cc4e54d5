// A SunSpec device on a Modbus line: scans its chain (cached; rescanned after a reconnect or an
// exception that says the map moved), reads the models its role needs in ≤ 125-register chunks,
// and writes battery setpoints (704 WSet, else 124 rates) and PV limits (704, else 123).
import type { Logger } from 'pino';
import { DeviceCapabilityError, DeviceProtocolError, ModbusExceptionError } from '../errors.ts';
import type { BatteryControl, DeviceReading, DeviceRole, Meter, PvControl } from '../types.ts';
import type { ModbusLine } from './line.ts';
import { encodeRegister } from './register-codec.ts';
import { decodeModel, decodePoint, encodeScaledPoint, modelsForRole, sunSpecReading, type DecodedModel } from './sunspec-decode.ts';
import { SUNSPEC_MODELS } from './sunspec-models.ts';
import { scanSunSpec, SUNSPEC_BASES, type SunSpecDeviceMap, type SunSpecModelRef } from './sunspec-scan.ts';

export interface SunSpecDeviceOptions {
  deviceId: string;
  role: DeviceRole;
  line: ModbusLine;
  unitId: number;
  /** Which logical device of the chain (1 = first model 1). */
  chainIndex?: number;
  base?: number;
  /** −1 inverts power and current. */
  sign?: 1 | -1;
  nowMs: () => number;
  log: Logger;
  /** Used for percent limits when the device has no model 702. */
  ratedPowerW?: number;
  /** Revert timeout written with every setpoint, s: the device falls back on its own if we die. */
  revertTimeoutS?: number;
}

export class SunSpecDevice implements Meter, BatteryControl, PvControl {
  map: SunSpecDeviceMap | null = null;
  private scannedGeneration = -1;
  /** A scan in progress, shared by a read and a setpoint that both find no map. */
  private scanning: Promise<SunSpecDeviceMap> | undefined;
  private readonly blocks = new Map<number, number[]>();

  constructor(private readonly options: SunSpecDeviceOptions) {}

  async read(): Promise<DeviceReading> {
    const map = await this.ensureMap();
    const wanted = new Set(modelsForRole(this.options.role));
    const decoded = new Map<number, DecodedModel>();
    for (const ref of map.models) {
      if (!wanted.has(ref.id) || decoded.has(ref.id)) continue;
      const block = await this.readModel(ref);
      decoded.set(ref.id, decodeModel(ref.id, block));
    }
    const values = sunSpecReading(this.options.role, decoded);
    if (values.powerW === undefined && values.socPct === undefined && values.currentA === undefined) {
      const ids = map.models.map((m) => m.id).join(', ');
      throw new DeviceProtocolError(`SunSpec device ${map.index} (models ${ids}) offers nothing usable for role ${this.options.role}`);
    }
    const sign = this.options.sign ?? 1;
    if (values.powerW !== undefined) values.powerW *= sign;
    if (values.currentA) values.currentA = values.currentA.map((a) => a * sign) as typeof values.currentA;
    return { deviceId: this.options.deviceId, role: this.options.role, atMs: this.options.nowMs(), ...values };
  }

  /** + discharge / − charge, W. */
  async setPowerW(powerW: number): Promise<void> {
    const map = await this.ensureMap();
    const der = findModel(map, 704);
    if (der) {
      const block = await this.block(der);
      const def = SUNSPEC_MODELS[704];
      const wset = encodeScaledPoint(block, def.WSet, powerW * (this.options.sign ?? 1));
      // WSetEna, WSetMod = 1 (WATTS), WSet: contiguous offsets 22..25.
      await this.write(der, 22, [1, 1, ...wset]);
      await this.write(der, 31, encodeRegister(this.revertS(), 'uint32'));
      return;
    }
    const storage = findModel(map, 124);
    if (!storage) throw new DeviceCapabilityError(`SunSpec device has neither model 704 nor 124: no battery setpoint`);
    const block = await this.block(storage);
    const def = SUNSPEC_MODELS[124];
    const maxW = decodePoint(block, def.WChaMax);
    if (!maxW) throw new DeviceProtocolError('model 124 WChaMax is unset (the not-implemented marker): cannot express a setpoint in percent');
    const pct = Math.min(100, (Math.abs(powerW) / maxW) * 100);
    const rate = (value: number) => encodeScaledPoint(block, def.OutWRte, value);
    await this.write(storage, 15, [this.revertS()]);
    if (powerW < 0) {
      // Force charge: a negative discharge limit means charging.
      await this.write(storage, 17, [1]);
      await this.write(storage, 12, rate(-pct));
      await this.write(storage, 5, [2]);
    } else if (powerW > 0) {
      await this.write(storage, 13, rate(-pct));
      await this.write(storage, 5, [1]);
    } else {
      await this.write(storage, 12, rate(0));
      await this.write(storage, 5, [2]);
    }
  }

  /** Active power limit, W; undefined lifts curtailment. */
  async setLimitW(limitW: number | undefined): Promise<void> {
    const map = await this.ensureMap();
    const der = findModel(map, 704);
    const legacy = findModel(map, 123);
    const target = der ?? legacy;
    if (!target) throw new DeviceCapabilityError('SunSpec device has neither model 704 nor 123: no PV curtailment');
    const [enaOffset, pctPoint, rvrt] = der
      ? [14, SUNSPEC_MODELS[704].WMaxLimPct, () => this.write(der, 18, encodeRegister(this.revertS(), 'uint32'))]
      : [9, SUNSPEC_MODELS[123].WMaxLimPct, () => this.write(legacy!, 7, [this.revertS()])];
    if (limitW === undefined) {
      await this.write(target, enaOffset, [0]);
      return;
    }
    const ratedW = await this.ratedW(map);
    const pct = Math.max(0, Math.min(100, (limitW / ratedW) * 100));
    const block = await this.block(target);
    await this.write(target, pctPoint.offset, encodeScaledPoint(block, pctPoint, pct));
    await rvrt();
    await this.write(target, enaOffset, [1]);
  }

  private async ratedW(map: SunSpecDeviceMap): Promise<number> {
    const capacity = findModel(map, 702);
    if (capacity) {
      const m = decodeModel(702, await this.block(capacity));
      const w = m.WMax ?? m.WMaxRtg;
      if (w) return w;
    }
    if (this.options.ratedPowerW) return this.options.ratedPowerW;
    throw new DeviceCapabilityError('no model 702 and no ratedPowerW in the config: cannot curtail in percent');
  }

  private revertS(): number {
    return this.options.revertTimeoutS ?? 60;
  }

  private ensureMap(): Promise<SunSpecDeviceMap> {
    if (this.map && this.scannedGeneration === this.options.line.generation) return Promise.resolve(this.map);
    this.scanning ??= this.scan().finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private async scan(): Promise<SunSpecDeviceMap> {
    const { line } = this.options;
    const reader = (address: number, count: number) => line.read({ unitId: this.options.unitId, fc: 3, address, count });
    const devices = await scanSunSpec(reader, this.options.base !== undefined ? [this.options.base] : SUNSPEC_BASES);
    const index = this.options.chainIndex ?? 1;
    const device = devices[index - 1];
    if (!device) throw new DeviceProtocolError(`SunSpec chain has ${devices.length} device(s); sunspecDevice ${index} does not exist`);
    this.map = device;
    this.scannedGeneration = line.generation;
    this.blocks.clear();
    this.options.log.info(
      { base: device.base, models: device.models.map((m) => `${m.id}@${m.address}`), manufacturer: device.manufacturer, model: device.model },
      'SunSpec map scanned',
    );
    return device;
  }

  private async readModel(ref: SunSpecModelRef): Promise<number[]> {
    try {
      const block = await this.options.line.read({ unitId: this.options.unitId, fc: 3, address: ref.address, count: ref.length + 2 });
      if (block[0] !== ref.id) throw new DeviceProtocolError(`model ${ref.id} expected at ${ref.address}, found ${block[0]}: map moved`);
      this.blocks.set(ref.id, block);
      return block;
    } catch (error) {
      // Illegal address or a moved map: rescan on the next poll.
      if (error instanceof ModbusExceptionError || error instanceof DeviceProtocolError) this.map = null;
      throw error;
    }
  }

  private async block(ref: SunSpecModelRef): Promise<number[]> {
    return this.blocks.get(ref.id) ?? this.readModel(ref);
  }

  private write(ref: SunSpecModelRef, offset: number, registers: number[]): Promise<void> {
    return this.options.line.write(this.options.unitId, ref.address + offset, registers);
  }
}

const findModel = (map: SunSpecDeviceMap, id: number) => map.models.find((m) => m.id === id);
