import { readdirSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { configJsonSchemaText } from '../../config/json-schema.ts';

describe('config/site.schema.json', () => {
  it('is up to date with config/schema.ts (regenerate: node --import tsx scripts/gen-json-schema.ts)', () => {
    const committed = readFileSync(new URL('../../config/site.schema.json', import.meta.url), 'utf8');
    expect(committed).toBe(configJsonSchemaText());
  });

  it('lets an editor flag unknown keys and see defaults', () => {
    const schema = JSON.parse(configJsonSchemaText());
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['grid']);
    expect(schema.properties.grid.properties.safetyMargin.default).toBe(0.05);
    expect(schema.properties.chargers.items.properties.phases).toBeDefined();
  });
});

describe('the JSON Schema, read back as an editor would apply it', () => {
  const jsonSchema = z.fromJSONSchema(JSON.parse(configJsonSchemaText()));
  const examplesDir = new URL('../../config/examples/', import.meta.url);
  const examples = readdirSync(examplesDir).filter((f) => f.endsWith('.yaml'));

  it.each(examples)('accepts %s (x- anchor keys and merge keys included)', (name) => {
    const data = parse(readFileSync(new URL(name, examplesDir), 'utf8'), { merge: true });
    expect(jsonSchema.safeParse(data).error?.issues).toBeUndefined();
  });

  it('flags an unknown key, a missing grid and a value out of range', () => {
    const paths = (data: unknown) => jsonSchema.safeParse(data).error?.issues.map((i) => i.path.join('.'));
    expect(paths({ grid: { maxCurrent: 63, maxCurent: 63 } })).toEqual(['grid']);
    expect(paths({ gird: { maxCurrent: 63 } })?.length).toBeGreaterThan(0);
    expect(paths({ grid: { maxCurrent: 63 }, chargers: [{ id: 'CP1', phases: 2 }] })).toEqual(['chargers.0.phases']);
  });
});
