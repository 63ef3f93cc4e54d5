import { z } from 'zod';
import { ApiValidationError, type FieldIssue } from './api-errors.ts';

// Routes declare zod schemas; fastify gets their JSON Schema (for the OpenAPI document) and
// validates with zod itself, so one schema is both the contract and the check.
const zodByJson = new WeakMap<object, z.ZodType>();

export function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  zodByJson.set(json, schema);
  return json;
}

/** Output-side JSON Schema, documentation only (responses are serialised with JSON.stringify). */
export function responseSchema(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.flatMap((issue): FieldIssue[] => {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: base ? `${base}.${key}` : key, message: 'unknown field' }));
    }
    return [{ path: base, message: issue.message }];
  });
}

export function parseOrThrow<T>(schema: z.ZodType<T>, data: unknown): T {
  const result = schema.safeParse(data);
  if (!result.success) throw new ApiValidationError(fieldIssues(result.error));
  return result.data;
}

/** Fastify validator compiler: zod for schemas made by jsonSchema(), pass-through otherwise. */
export function zodValidatorCompiler({ schema }: { schema: object }) {
  const zod = zodByJson.get(schema);
  if (!zod) return (data: unknown) => ({ value: data });
  return (data: unknown) => {
    const result = zod.safeParse(data);
    return result.success ? { value: result.data } : { error: new ApiValidationError(fieldIssues(result.error)) };
  };
}
