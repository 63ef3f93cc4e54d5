import { readFileSync } from 'node:fs';
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
