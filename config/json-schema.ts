// The config schema as JSON Schema, for editors (YAML language server, VS Code). Pure.
import { z } from 'zod';
import { EXTENSION_KEY_PREFIX } from './parse-config.ts';
import { configSchema } from './schema.ts';

/** JSON Schema (draft 2020-12) of what may be written in a site config file, as stable text. */
export function configJsonSchemaText(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
  const titled = {
    ...schema,
    // Top-level `x-…` keys hold YAML anchors and are ignored (see parse-config.ts).
    patternProperties: { [`^${EXTENSION_KEY_PREFIX}`]: {} },
    title: 'EMS site configuration',
    description: 'Site energy management config (site.yaml). Validate with `ems check-config FILE`; reference: docs/configuration.md.',
  };
  return `${JSON.stringify(titled, null, 2)}\n`;
}
