export { createHttpService, type HttpDeps, type HttpService } from './http-service.ts';
export type { SignalsControl } from './route-env.ts';
export type { ControlStatsSource, ExportStatsSource } from './metrics.ts';
export { createEventLog, type EventLog } from './event-log.ts';
