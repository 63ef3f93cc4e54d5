// Writes config/site.schema.json from the zod schema. Run after changing config/schema.ts:
//   node --import tsx scripts/gen-json-schema.ts
// test/config/json-schema.test.ts fails while the committed file is out of date.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchemaText } from '../config/json-schema.ts';

const target = fileURLToPath(new URL('../config/site.schema.json', import.meta.url));
writeFileSync(target, configJsonSchemaText());
process.stdout.write(`wrote ${target}\n`);
