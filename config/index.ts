export * from './schema.ts';
export * from './config-problem.ts';
export { parseConfigText, EXTENSION_KEY_PREFIX, type ParsedConfig } from './parse-config.ts';
export { validateConfig } from './validate-config.ts';
export { configJsonSchemaText } from './json-schema.ts';
