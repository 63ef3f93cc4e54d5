import { pt, type VendorProfile } from './types.ts';

// SMA native profile (unit 3): Sunny Tripower / Boy and Sunny Boy Storage. Read only here; SMA's
// control registers need a watchdog rewrite and are left to SunSpec (unit 126) or a later profile.
export const sma: VendorProfile = {
  id: 'sma',
  description: 'SMA native Modbus (unit 3): AC power, yield, storage SoC',
  roles: {
    pv: { powerW: pt(3, 30775, 'int32'), energyExportWh: pt(3, 30513, 'uint64') },
    battery: { powerW: pt(3, 30775, 'int32'), socPct: pt(3, 30845, 'uint32') },
  },
};
