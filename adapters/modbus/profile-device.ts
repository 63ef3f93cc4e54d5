// A device read through a vendor register map: every point of its role is read in as few requests
// as possible (contiguous registers batched, ≤ 125 each), decoded, scaled and signed.
import { DeviceCapabilityError, DeviceProtocolError } from '../errors.ts';
import type { BatteryControl, DeviceReading, DeviceRole, Meter, PvControl, Triple } from '../types.ts';
import type { ModbusLine } from './line.ts';
import type { ControlDef, PointOrSum, RegisterMap, RegisterPoint, VendorProfile } from './profiles/types.ts';
import { decodeRegister, encodeRegister, registerCount } from './register-codec.ts';
import { planReads, type RegisterRange } from './read-plan.ts';

export interface ProfileDeviceOptions {
  deviceId: string;
  role: DeviceRole;
  profile: VendorProfile;
  line: ModbusLine;
  unitId: number;
  sign?: 1 | -1;
  nowMs: () => number;
}

type Image = Map<string, number>;
const key = (unitId: number, fc: number, address: number) => `${unitId}:${fc}:${address}`;

export class ProfileDevice implements Meter, BatteryControl, PvControl {
  private readonly map: RegisterMap;

  constructor(private readonly options: ProfileDeviceOptions) {
    const map = options.profile.roles[options.role];
    if (!map) throw new DeviceCapabilityError(`profile ${options.profile.id} has no register map for role ${options.role}`);
    this.map = map;
  }

  async read(): Promise<DeviceReading> {
    const points = allPoints(this.map);
    const image = await this.readPoints(points);
    const value = (p: RegisterPoint) => this.decode(image, p);
    const sum = (p: PointOrSum): number | null => {
      const list = Array.isArray(p) ? p : [p as RegisterPoint];
      const values = list.map(value);
      return values.some((v) => v === null) ? null : values.reduce((a: number, b) => a + (b as number), 0);
    };
    const triple = (t: readonly [RegisterPoint, RegisterPoint, RegisterPoint] | undefined): Triple | undefined => {
      if (!t) return undefined;
      const v = t.map(value);
      return v.every((x) => x !== null) ? (v as Triple) : undefined;
    };
    const sign = this.options.sign ?? 1;
    const reading: DeviceReading = { deviceId: this.options.deviceId, role: this.options.role, atMs: this.options.nowMs() };
    const powerW = this.map.powerW ? sum(this.map.powerW) : null;
    if (powerW !== null) reading.powerW = powerW * sign;
    const currentA = triple(this.map.currentA);
    if (currentA) reading.currentA = currentA.map((a) => a * sign) as Triple;
    const voltageV = triple(this.map.voltageV);
    if (voltageV) reading.voltageV = voltageV;
    for (const k of ['energyImportWh', 'energyExportWh', 'socPct'] as const) {
      const p = this.map[k];
      const v = p ? value(p) : null;
      if (v !== null) reading[k] = v;
    }
    if (reading.powerW === undefined && reading.currentA === undefined && reading.socPct === undefined) {
      throw new DeviceProtocolError(`profile ${this.options.profile.id}: no value is available (each carries its not-implemented marker)`);
    }
    return reading;
  }

  async setPowerW(powerW: number): Promise<void> {
    const control = this.options.profile.batterySetpoint;
    if (!control) throw new DeviceCapabilityError(`profile ${this.options.profile.id} has no battery setpoint`);
    if (control.kind === 'register') return this.writePoint(control.point, powerW * (this.options.sign ?? 1));
    await this.writeVictronEss(control, powerW);
  }

  async setLimitW(limitW: number | undefined): Promise<void> {
    const control = this.options.profile.pvLimit;
    if (!control || control.kind !== 'register') throw new DeviceCapabilityError(`profile ${this.options.profile.id} has no PV limit`);
    // No limit: write the largest value the register holds.
    await this.writePoint(control.point, limitW ?? maxFor(control.point));
  }

  private async writeVictronEss(control: Extract<ControlDef, { kind: 'victron-ess' }>, powerW: number): Promise<void> {
    const image = await this.readPoints([...control.grid, control.battery]);
    const gridW = control.grid.map((p) => this.decode(image, p));
    const batteryW = this.decode(image, control.battery);
    if (gridW.some((v) => v === null) || batteryW === null) throw new DeviceProtocolError('Victron ESS: grid or battery power unknown');
    const loadW = (gridW as number[]).reduce((a, b) => a + b, 0) + batteryW;
    await this.writePoint(control.setpoint, loadW - powerW);
  }

  private async writePoint(point: RegisterPoint, value: number): Promise<void> {
    await this.options.line.write(point.unitId ?? this.options.unitId, point.address, encodeRegister(value / point.scale, point.type, point.wordOrder));
  }

  private async readPoints(points: readonly RegisterPoint[]): Promise<Image> {
    const ranges: RegisterRange[] = points.map((p) => ({ unitId: p.unitId ?? this.options.unitId, fc: p.fc, address: p.address, count: registerCount(p.type) }));
    const image: Image = new Map();
    for (const range of planReads(ranges)) {
      const values = await this.options.line.read(range);
      values.forEach((v, i) => image.set(key(range.unitId, range.fc, range.address + i), v));
    }
    return image;
  }

  private decode(image: Image, p: RegisterPoint): number | null {
    const unitId = p.unitId ?? this.options.unitId;
    const registers: number[] = [];
    for (let i = 0; i < registerCount(p.type); i++) {
      const v = image.get(key(unitId, p.fc, p.address + i));
      if (v === undefined) return null;
      registers.push(v);
    }
    const raw = decodeRegister(registers, 0, p.type, p.wordOrder);
    return raw === null ? null : Number((raw * p.scale).toPrecision(12));
  }
}

function allPoints(map: RegisterMap): RegisterPoint[] {
  const out: RegisterPoint[] = [];
  const add = (p: PointOrSum | readonly RegisterPoint[] | undefined) => {
    if (!p) return;
    if (Array.isArray(p)) out.push(...p);
    else out.push(p as RegisterPoint);
  };
  add(map.powerW);
  add(map.currentA);
  add(map.voltageV);
  add(map.energyImportWh);
  add(map.energyExportWh);
  add(map.socPct);
  return out;
}

function maxFor(point: RegisterPoint): number {
  const raw = point.type === 'int16' ? 0x7fff : point.type === 'uint16' ? 0xfffe : point.type.startsWith('float') ? 1e9 : 0x7fffffff;
  return raw * Math.abs(point.scale);
}
