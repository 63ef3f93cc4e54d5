import { readFileSync, rmSync } from 'node:fs';
import { basename } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { stringify } from 'yaml';
import { z } from 'zod';
import { parseConfigText } from '../../../config/parse-config.ts';
import type { Config } from '../../../config/schema.ts';
import { layerYaml, overridesText, readOverrides } from '../../config-overrides.ts';
import { ConfigError } from '../../errors.ts';
import { ApiValidationError } from '../api-errors.ts';
import { writeFileAtomic } from '../config-file-writer.ts';
import { redactSecrets, redactYamlText, restoreMaskedSecrets } from '../redact.ts';
import type { RouteEnv } from '../route-env.ts';

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function registerConfigRoutes(app: FastifyInstance, env: RouteEnv): void {
  const { ctx, configPath } = env;
  // Layered mode: the installer's file stays as it is; edits go to the overrides file.
  const overridesPath = configPath ? env.overridesPath : undefined;
  const liveSections = env.liveConfigSections;
  const log = ctx.log.child({ module: 'api-config' });
  const restartPending = new Set<string>();
  const source = configPath ? basename(configPath) : 'config.yaml';

  const baseText = () => {
    if (configPath) {
      try {
        return readFileSync(configPath, 'utf8');
      } catch (err) {
        log.warn({ err, configPath }, 'cannot read the config file; showing the running config');
      }
    }
    return undefined;
  };
  /** What the editor shows: the installer's file with the operator's overrides laid over it. */
  const currentText = () => {
    const base = baseText();
    if (base === undefined) return stringify(ctx.config);
    return overridesPath ? layerYaml(base, readOverrides(overridesPath)) : base;
  };
  const overriddenSections = (): string[] => {
    const base = baseText();
    const over = readOverrides(overridesPath);
    if (base === undefined || !over) return [];
    const baseConfig = parseConfigText(base, source).config;
    const layered = currentText();
    const layeredConfig = parseConfigText(layered, source).config;
    return baseConfig && layeredConfig ? overridesText(baseConfig, layered, layeredConfig).sections : [];
  };

  app.get(
    '/api/v1/config',
    {
      onRequest: env.guard('admin'),
      schema: { tags: ['config'], summary: 'The site config: its YAML text and the parsed, running values (admin). Secrets read as "********"; a PUT that keeps the mask keeps the stored value' },
    },
    async () => ({
      path: configPath ?? null,
      yaml: redactYamlText(currentText()),
      config: redactSecrets(ctx.config),
      restartRequired: [...restartPending],
      liveSections,
      ...(overridesPath ? { overrides: { path: overridesPath, sections: overriddenSections() } } : {}),
    }),
  );

  app.put<{ Body: unknown }>(
    '/api/v1/config',
    {
      onRequest: env.guard('admin'),
      schema: {
        tags: ['config'],
        summary:
          'Replace the site config (admin). Body: YAML text (Content-Type text/yaml) or JSON {"yaml": "..."}. Validated first; saved atomically; ' +
          'sections the running services take live apply at once (see liveSections in GET), the others after a restart. `dryRun: true` only validates.',
        consumes: ['application/json', 'text/yaml', 'application/yaml', 'text/plain'],
        body: {
          content: {
            'application/json': { schema: { type: 'object', required: ['yaml'], additionalProperties: false, properties: { yaml: { type: 'string', maxLength: 2_000_000, description: 'the whole config as YAML text' }, dryRun: { type: 'boolean', description: 'validate only' } } } },
            'text/yaml': { schema: { type: 'string', description: 'the whole config as YAML text' } },
            'application/yaml': { schema: { type: 'string' } },
            'text/plain': { schema: { type: 'string' } },
          },
        },
      },
    },
    async (request) => {
      let text: string;
      let dryRun = false;
      if (typeof request.body === 'string') text = request.body;
      else {
        const parsed = z.strictObject({ yaml: z.string().max(2_000_000), dryRun: z.boolean().optional() }).safeParse(request.body);
        if (!parsed.success) throw new ApiValidationError([{ path: 'yaml', message: 'send the config as {"yaml": "..."} or as text/yaml' }]);
        text = parsed.data.yaml;
        dryRun = parsed.data.dryRun ?? false;
      }
      text = restoreMaskedSecrets(text, currentText());
      const { config: fromFile, problems } = parseConfigText(text, source);
      const errors = problems.filter((p) => p.severity === 'error');
      if (!fromFile || errors.length) throw new ConfigError(errors.length ? errors : problems);
      // Compared and applied as the process would run it (the demo keeps its CLI ports and scaled timings).
      const next = env.runtimeConfig ? env.runtimeConfig(fromFile) : fromFile;
      const warnings = problems.filter((p) => p.severity === 'warning');

      const changed = (Object.keys({ ...ctx.config, ...next }) as (keyof Config)[]).filter((k) => !same(ctx.config[k], next[k]));
      const applied = changed.filter((k) => liveSections.includes(k));
      const restart = changed.filter((k) => !liveSections.includes(k));
      if (dryRun) return { saved: false, dryRun: true, changed, applied: [], restartRequired: restart, warnings };

      // Save first: if it fails nothing is applied. Then put live sections in place (services
      // holding ctx.config see them) and tell the bus, whose listeners re-read them.
      let overridden: string[] | undefined;
      if (overridesPath) {
        const base = baseText();
        const baseConfig = base === undefined ? undefined : parseConfigText(base, source).config;
        if (!baseConfig) throw new ApiValidationError([{ path: 'yaml', message: `the installer's config ${configPath} cannot be read; edits are not saved` }]);
        const over = overridesText(baseConfig, text, fromFile);
        if (over.text) writeFileAtomic(overridesPath, over.text);
        else rmSync(overridesPath, { force: true });
        overridden = over.sections;
      } else if (configPath) writeFileAtomic(configPath, text);
      const before: Record<string, unknown> = {};
      const after: Record<string, unknown> = {};
      for (const key of changed) {
        before[key] = ctx.config[key];
        after[key] = next[key];
      }
      for (const key of applied) (ctx.config as Record<string, unknown>)[key] = next[key];
      restart.forEach((k) => restartPending.add(k));
      env.audit(request, 'config.update', configPath ?? 'config', redactSecrets(before), redactSecrets(after));
      if (applied.length) ctx.bus.emit('config.changed', { atMs: ctx.clock.nowMs(), applied, restartRequired: restart });
      log.info({ applied, restartRequired: restart }, 'config updated');
      return {
        saved: configPath !== undefined,
        ...(overridden ? { overrides: { path: overridesPath!, sections: overridden } } : {}),
        changed,
        applied,
        restartRequired: restart,
        message: !configPath
          ? `not saved: there is no config file to write to (the EMS was started without one)${applied.length ? `; applied until restart: ${applied.join(', ')}` : ''}`
          : `${overridden ? `saved as operator edits in ${overridesPath} (the installer's ${basename(configPath)} is unchanged)` : 'saved'}${restart.length ? `; restart required for ${restart.join(', ')}` : ' and applied'}`,
        warnings,
      };
    },
  );
}
