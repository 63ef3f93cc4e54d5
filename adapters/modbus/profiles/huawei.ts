import { pt, type VendorProfile } from './types.ts';

// Huawei SUN2000 with a DTSU666-H meter behind the SDongle. Needs ~1 s after connect and a 5 s timeout.
// Huawei counts grid power + export and battery power + charging: both are inverted here.
const i32 = (address: number, scale: number) => pt(3, address, 'int32', scale);
export const huawei: VendorProfile = {
  id: 'huawei',
  description: 'Huawei SUN2000 inverter with DTSU666-H meter',
  roles: {
    'grid-meter': {
      powerW: i32(37113, -1),
      voltageV: [i32(37101, 0.1), i32(37103, 0.1), i32(37105, 0.1)],
      currentA: [i32(37107, -0.01), i32(37109, -0.01), i32(37111, -0.01)],
      energyImportWh: pt(3, 37121, 'uint32', 10),
      energyExportWh: pt(3, 37119, 'uint32', 10),
    },
    pv: { powerW: i32(32064, 1) },
    battery: { powerW: i32(37765, -1), socPct: pt(3, 37760, 'uint16', 0.1) },
  },
  connectDelayMs: 1000,
  minTimeoutMs: 5000,
};
