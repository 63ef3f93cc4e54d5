// Looks up what the schema accepts at a key path (keys of an object, values of an enum), for
// "did you mean" hints. Walks zod's definitions; unions (devices by driver) pick the options
// whose literal keys match the data, so a Modbus device is not offered MQTT keys.
import type { z } from 'zod';
import type { PathSegment } from './config-problem.ts';

interface LooseDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  getter?: () => z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
  items?: z.ZodType[];
  values?: unknown[];
  entries?: Record<string, unknown>;
}

function defOf(schema: z.ZodType): LooseDef {
  return schema._zod.def as unknown as LooseDef;
}

/** Strips optional/default/prefault/nullable/lazy/pipe wrappers. */
function unwrap(schema: z.ZodType): z.ZodType {
  for (let depth = 0; depth < 32; depth++) {
    const def = defOf(schema);
    if (def.innerType) schema = def.innerType;
    else if (def.type === 'lazy' && def.getter) schema = def.getter();
    else if (def.type === 'pipe' && def.in) schema = def.in;
    else return schema;
  }
  return schema;
}

function literalValues(schema: z.ZodType): unknown[] {
  const def = defOf(unwrap(schema));
  if (def.type === 'literal') return def.values ?? [];
  if (def.type === 'enum') return Object.values(def.entries ?? {});
  if (def.type === 'union') return (def.options ?? []).flatMap(literalValues);
  return [];
}

/** Union options that fit `value`: an object option is dropped when one of its literal keys disagrees. */
function alternatives(schema: z.ZodType, value: unknown): z.ZodType[] {
  const bare = unwrap(schema);
  const def = defOf(bare);
  if (def.type !== 'union' || !def.options) return [bare];
  const options = def.options.flatMap((option) => alternatives(option, value));
  if (value === null || typeof value !== 'object') return options;
  const fitting = options.filter((option) => {
    const shape = defOf(option).shape ?? {};
    return Object.entries(shape).every(([key, keySchema]) => {
      if (defOf(unwrap(keySchema)).type !== 'literal') return true;
      return literalValues(keySchema).includes((value as Record<string, unknown>)[key]);
    });
  });
  return fitting.length > 0 ? fitting : options;
}

function child(schema: z.ZodType, segment: PathSegment): z.ZodType | undefined {
  const def = defOf(schema);
  if (def.type === 'object' && def.shape) return def.shape[String(segment)];
  if (def.type === 'array' && def.element) return def.element;
  if (def.type === 'tuple' && typeof segment === 'number') return def.items?.[segment];
  if (def.type === 'record' && def.valueType) return def.valueType;
  return undefined;
}

function schemasAt(root: z.ZodType, path: readonly PathSegment[], data: unknown): z.ZodType[] {
  let schemas = alternatives(root, data);
  let value = data;
  for (const segment of path) {
    value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[segment] : undefined;
    schemas = schemas.flatMap((schema) => {
      const next = child(schema, segment);
      return next ? alternatives(next, value) : [];
    });
    if (schemas.length === 0) return [];
  }
  return schemas;
}

/** The keys the object schema(s) at `path` accept, or [] when the path does not lead to an object. */
export function knownKeysAt(root: z.ZodType, path: readonly PathSegment[], data?: unknown): string[] {
  const keys = schemasAt(root, path, data).flatMap((schema) => Object.keys(defOf(schema).shape ?? {}));
  return [...new Set(keys)];
}

/** The fixed values (literals, enum entries) allowed at `path`, e.g. a union's discriminator. */
export function allowedValuesAt(root: z.ZodType, path: readonly PathSegment[]): unknown[] {
  if (path.length === 0) return [];
  const parents = schemasAt(root, path.slice(0, -1), undefined);
  const values = parents.flatMap((schema) => {
    const next = child(schema, path[path.length - 1]);
    return next ? literalValues(next) : [];
  });
  return [...new Set(values)];
}
