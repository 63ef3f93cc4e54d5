export * from './errors.ts';
export * from './openadr-service.ts';
export type * from './types.ts';
