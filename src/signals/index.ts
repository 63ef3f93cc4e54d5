export * from './errors.ts';
export * from './json-signal-store.ts';
export * from './signal-store.ts';
export * from './signal-timeline.ts';
export * from './timeline-service.ts';
export type * from './types.ts';
export * from './signal-input.ts';
export * from './mqtt-signal-source.ts';
