import { pt, type VendorProfile } from './types.ts';

// Victron GX (Venus OS) Modbus TCP. The system service is unit 100; the grid meter service has an
// installation-specific unit id (GX menu "Modbus TCP → Available services"): put it in the config.
const SYSTEM = 100;
const sys = (address: number, type: 'int16' | 'uint16', scale = 1) => pt(3, address, type, scale, 'msw', SYSTEM);
const gridPhasesW = [sys(820, 'int16'), sys(821, 'int16'), sys(822, 'int16')] as const;

export const victron: VendorProfile = {
  id: 'victron',
  description: 'Victron GX: grid meter service, system battery values, ESS setpoint',
  roles: {
    'grid-meter': {
      powerW: [pt(3, 2600, 'int16'), pt(3, 2601, 'int16'), pt(3, 2602, 'int16')],
      voltageV: [pt(3, 2616, 'uint16', 0.1), pt(3, 2618, 'uint16', 0.1), pt(3, 2620, 'uint16', 0.1)],
      currentA: [pt(3, 2617, 'int16', 0.1), pt(3, 2619, 'int16', 0.1), pt(3, 2621, 'int16', 0.1)],
      energyImportWh: pt(3, 2634, 'uint32', 10),
      energyExportWh: pt(3, 2636, 'uint32', 10),
    },
    // Victron counts battery power + when charging; the EMS counts + discharge.
    battery: { powerW: sys(842, 'int16', -1), socPct: sys(843, 'uint16') },
    pv: { powerW: [sys(808, 'uint16'), sys(809, 'uint16'), sys(810, 'uint16'), sys(811, 'uint16'), sys(812, 'uint16'), sys(813, 'uint16'), sys(850, 'uint16')] },
  },
  batterySetpoint: { kind: 'victron-ess', setpoint: sys(2700, 'int16'), grid: gridPhasesW, battery: sys(842, 'int16', -1) },
};
