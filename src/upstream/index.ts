export { createUpstreamService, UpstreamConfigError, type UpstreamService, type UpstreamChargerStatus } from './upstream-service.ts';
export type { UpstreamStore } from './upstream-store.ts';
