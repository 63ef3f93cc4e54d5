import { em24 } from './em24.ts';
import { huawei } from './huawei.ts';
import { sdm630 } from './sdm630.ts';
import { sma } from './sma.ts';
import { solaredge } from './solaredge.ts';
import type { VendorProfile } from './types.ts';
import { victron } from './victron.ts';

/** Built-in vendor profiles by config name (`sunspec` and `generic` are handled apart). */
export const vendorProfiles: Readonly<Record<string, VendorProfile>> = { sdm630, em24, victron, sma, huawei, solaredge };
