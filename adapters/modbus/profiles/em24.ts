import { pt, type RegisterMap, type VendorProfile } from './types.ts';

// Carlo Gavazzi EM24 (RS485 variant): input registers, INT32 least significant word first.
const i32 = (address: number, scale: number) => pt(4, address, 'int32', scale, 'lsw');
const meter: RegisterMap = {
  voltageV: [i32(0x00, 0.1), i32(0x02, 0.1), i32(0x04, 0.1)],
  currentA: [i32(0x0c, 0.001), i32(0x0e, 0.001), i32(0x10, 0.001)],
  powerW: i32(0x28, 0.1),
  energyImportWh: i32(0x42, 100),
  energyExportWh: i32(0x5c, 100),
};

export const em24: VendorProfile = {
  id: 'em24',
  description: 'Carlo Gavazzi EM24 energy meter (FC4 int32, LSW first)',
  roles: { 'grid-meter': meter, load: meter, pv: meter },
};
