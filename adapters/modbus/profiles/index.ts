export { em24 } from './em24.ts';
export { huawei } from './huawei.ts';
export { sdm630 } from './sdm630.ts';
export { sma } from './sma.ts';
export { solaredge } from './solaredge.ts';
export { victron } from './victron.ts';
export { genericProfile } from './generic.ts';
export { vendorProfiles } from './registry.ts';
export type { ControlDef, PointOrSum, RegisterMap, RegisterPoint, VendorProfile } from './types.ts';
