export { createCentralSystem, OCPP_PATH, type CentralSystem, type CentralSystemDeps } from './central-system.ts';
export { staticShares, chargerShareA } from './static-share.ts';
export { floorToTenth } from './rounding.ts';
export * from './errors.ts';
