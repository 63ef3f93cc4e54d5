import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { knownKeysAt } from '../../config/schema-keys.ts';
import { configSchema } from '../../config/schema.ts';

const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
const ARRAY_SECTIONS = new Set(['circuits', 'chargers', 'idTags', 'devices', 'openadr']);

describe('docs/configuration.md', () => {
  const sections = knownKeysAt(configSchema, []);

  it.each(sections)('has a heading for the %s section', (section) => {
    expect(doc).toMatch(new RegExp(`^## .*\`${section}\``, 'm'));
  });

  it.each(sections)('documents every key of %s', (section) => {
    const keys = knownKeysAt(configSchema, ARRAY_SECTIONS.has(section) ? [section, 0] : [section]);
    const missing = keys.filter((key) => !doc.includes(`\`${key}\``));
    expect(missing).toEqual([]);
  });
});
