import { pt, type RegisterMap, type VendorProfile } from './types.ts';

// Eastron SDM630 (also SDM72D-M v2): input registers, float32, most significant word first; kWh.
const meter: RegisterMap = {
  voltageV: [pt(4, 0x00, 'float32'), pt(4, 0x02, 'float32'), pt(4, 0x04, 'float32')],
  currentA: [pt(4, 0x06, 'float32'), pt(4, 0x08, 'float32'), pt(4, 0x0a, 'float32')],
  powerW: pt(4, 0x34, 'float32'),
  energyImportWh: pt(4, 0x48, 'float32', 1000),
  energyExportWh: pt(4, 0x4a, 'float32', 1000),
};

export const sdm630: VendorProfile = {
  id: 'sdm630',
  description: 'Eastron SDM630 energy meter (FC4 float32)',
  roles: { 'grid-meter': meter, load: meter, pv: meter, battery: meter },
};
