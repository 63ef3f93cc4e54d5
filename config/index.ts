export * from './schema.ts';
export * from './config-problem.ts';
export { parseConfigText, type ParsedConfig } from './parse-config.ts';
export { validateConfig } from './validate-config.ts';
