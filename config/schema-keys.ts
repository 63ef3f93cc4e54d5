// Finds the keys a strict object in the schema accepts at a given path, for "did you mean" hints.
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

function child(schema: z.ZodType, segment: PathSegment): z.ZodType | undefined {
  const def = defOf(unwrap(schema));
  if (def.type === 'object' && def.shape) return def.shape[String(segment)];
  if (def.type === 'array' && def.element) return def.element;
  if (def.type === 'record' && def.valueType) return def.valueType;
  return undefined;
}

/** The keys of the object schema at `path`, or [] when the path does not lead to an object. */
export function knownKeysAt(root: z.ZodType, path: readonly PathSegment[]): string[] {
  let schema: z.ZodType | undefined = root;
  for (const segment of path) {
    schema = child(schema, segment);
    if (!schema) return [];
  }
  const def = defOf(unwrap(schema));
  return def.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}
