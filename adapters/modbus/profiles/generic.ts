import type { DeviceRole } from '../../types.ts';
import type { RegisterType, WordOrder } from '../register-codec.ts';
import type { RegisterMap, RegisterPoint, VendorProfile } from './types.ts';

/** The shape of a register point in the site config (config/device-schema.ts). */
export interface ConfiguredPoint {
  address: number;
  fc: 3 | 4;
  type: RegisterType;
  wordOrder: WordOrder;
  scale: number;
}
type Triple = readonly [ConfiguredPoint, ConfiguredPoint, ConfiguredPoint];
export interface ConfiguredRegisters {
  powerW?: ConfiguredPoint;
  currentA?: Triple;
  voltageV?: Triple;
  energyImportWh?: ConfiguredPoint;
  energyExportWh?: ConfiguredPoint;
  socPct?: ConfiguredPoint;
  setpointW?: ConfiguredPoint;
  limitW?: ConfiguredPoint;
}

const point = (p: ConfiguredPoint): RegisterPoint => ({ fc: p.fc, address: p.address, type: p.type, wordOrder: p.wordOrder, scale: p.scale });
const three = (t: Triple) => [point(t[0]), point(t[1]), point(t[2])] as const;

/** A profile from a register map declared in the config, for the device's role. */
export function genericProfile(role: DeviceRole, registers: ConfiguredRegisters): VendorProfile {
  const map: RegisterMap = {
    ...(registers.powerW && { powerW: point(registers.powerW) }),
    ...(registers.currentA && { currentA: three(registers.currentA) }),
    ...(registers.voltageV && { voltageV: three(registers.voltageV) }),
    ...(registers.energyImportWh && { energyImportWh: point(registers.energyImportWh) }),
    ...(registers.energyExportWh && { energyExportWh: point(registers.energyExportWh) }),
    ...(registers.socPct && { socPct: point(registers.socPct) }),
  };
  return {
    id: 'generic',
    description: 'register map from the config',
    roles: { [role]: map },
    ...(registers.setpointW && { batterySetpoint: { kind: 'register' as const, point: point(registers.setpointW) } }),
    ...(registers.limitW && { pvLimit: { kind: 'register' as const, point: point(registers.limitW) } }),
  };
}
