// Vendor register maps are data: where each value lives, its type, word order and scale.
import type { DeviceRole } from '../../types.ts';
import type { RegisterType, WordOrder } from '../register-codec.ts';

export interface RegisterPoint {
  fc: 3 | 4;
  /** 0-based PDU address. */
  address: number;
  type: RegisterType;
  wordOrder: WordOrder;
  /** raw × scale = value in the key's unit (W, A, V, Wh, %). A negative scale flips the sign. */
  scale: number;
  /** Another unit id than the device's (Victron's system service lives on 100). */
  unitId?: number;
}

/** Several points are summed (per-phase powers into a total). */
export type PointOrSum = RegisterPoint | readonly RegisterPoint[];

export interface RegisterMap {
  powerW?: PointOrSum;
  currentA?: readonly [RegisterPoint, RegisterPoint, RegisterPoint];
  voltageV?: readonly [RegisterPoint, RegisterPoint, RegisterPoint];
  energyImportWh?: RegisterPoint;
  energyExportWh?: RegisterPoint;
  socPct?: RegisterPoint;
}

export type ControlDef =
  /** Write the value (÷ scale) to a register. */
  | { kind: 'register'; point: RegisterPoint }
  /**
   * Victron ESS: the GX regulates the grid to AcPowerSetPoint, so a battery power P becomes
   * setpoint = (grid now + battery discharge now) − P.
   */
  | { kind: 'victron-ess'; setpoint: RegisterPoint; grid: readonly RegisterPoint[]; battery: RegisterPoint };

export interface VendorProfile {
  id: string;
  description: string;
  /** Maps per role; a role missing here is not supported by the profile. */
  roles: Partial<Record<DeviceRole, RegisterMap>>;
  batterySetpoint?: ControlDef;
  pvLimit?: ControlDef;
  /** Waits after connecting before the first request (Huawei drops early requests). */
  connectDelayMs?: number;
  /** Minimum request timeout the device needs. */
  minTimeoutMs?: number;
}

/** Compact point constructor for the tables. */
export const pt = (fc: 3 | 4, address: number, type: RegisterType, scale = 1, wordOrder: WordOrder = 'msw', unitId?: number): RegisterPoint => ({
  fc,
  address,
  type,
  wordOrder,
  scale,
  ...(unitId !== undefined ? { unitId } : {}),
});
