import { pt, type VendorProfile } from './types.ts';

// SolarEdge battery area (float32, least significant word first). Its inverter and meter speak
// SunSpec (the meter as the chain's second device, W sign inverted): the device factory uses
// SunSpec for those roles.
export const solaredge: VendorProfile = {
  id: 'solaredge',
  description: 'SolarEdge StorEdge battery (proprietary float32 area)',
  roles: {
    // SolarEdge counts battery power + when charging.
    battery: { powerW: pt(3, 0xe174, 'float32', -1, 'lsw'), socPct: pt(3, 0xe184, 'float32', 1, 'lsw') },
  },
};
