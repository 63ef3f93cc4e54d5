// Operator edits over a read-only installer config: the Settings page's PUT keeps the installer's
// file as it is and saves the sections that differ into an overrides file in the state directory;
// a restart lays them over the installer's file again; overrides that no longer fit are set aside
// with one log line. The demo runs on its own copy of the example in the data folder.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadLayeredConfig, OVERRIDES_FILE } from '../../src/config-overrides.ts';
import { demoConfigCopy, demoRuntimeConfig } from '../../src/demo/run-demo.ts';
import { createLogger, silentLogger } from '../../src/log.ts';
import { createApiFixture, type ApiFixture } from './api-fixture.ts';

const scratch = mkdtempSync(join(tmpdir(), 'ems-overrides-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;
let api: ApiFixture | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

function installerFile() {
  const dir = join(scratch, `case-${++n}`);
  mkdirSync(join(dir, 'etc'), { recursive: true });
  const configPath = join(dir, 'etc', 'site.yaml');
  const text = `# installed by the integrator\n${stringify({
    site: { name: 'Depot', timezone: 'Europe/Berlin' },
    grid: { maxCurrent: 63 },
    control: { priority: 'fcfs' },
    chargers: [{ id: 'CP001', connectors: 1, maxCurrent: 32 }],
    http: { host: '127.0.0.1', port: 0 },
    storage: { path: join(dir, 'state', 'ems.sqlite') },
  })}`;
  writeFileSync(configPath, text);
  return { dir, configPath, text, overridesPath: join(dir, 'state', OVERRIDES_FILE) };
}

describe('config overrides', () => {
  it('saves Settings edits beside the database, leaves the installer’s file alone, and a restart keeps them', async () => {
    const { configPath, text, overridesPath } = installerFile();
    mkdirSync(join(overridesPath, '..'), { recursive: true });
    const first = loadLayeredConfig(configPath, silentLogger);
    expect(first.overridesPath).toBe(overridesPath);
    api = await createApiFixture({ config: first.config, deps: { configPath, overridesPath, liveConfigSections: ['control'] } });
    const token = (await api.login('admin', 'admin-password-1')).token;
    const auth = { authorization: `Bearer ${token}` };
    const shown = (await api.inject({ method: 'GET', url: '/api/v1/config', headers: auth })).json();
    expect(shown.overrides).toEqual({ path: overridesPath, sections: [] });

    const edited = shown.yaml.replace('priority: fcfs', 'priority: departure');
    const put = await api.inject({ method: 'PUT', url: '/api/v1/config', headers: auth, payload: { yaml: edited } });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toMatchObject({ saved: true, overrides: { path: overridesPath, sections: ['control'] }, applied: ['control'] });
    expect(put.json().message).toContain("the installer's site.yaml is unchanged");
    expect(readFileSync(configPath, 'utf8')).toBe(text);
    expect(readFileSync(overridesPath, 'utf8')).toContain('priority: departure');
    expect(readFileSync(overridesPath, 'utf8')).not.toContain('chargers');
    const after = (await api.inject({ method: 'GET', url: '/api/v1/config', headers: auth })).json();
    expect(after.overrides.sections).toEqual(['control']);
    expect(after.yaml).toContain('priority: departure');
    expect(after.yaml).toContain('# installed by the integrator');

    // A restart: the installer's file with the edits laid over it.
    const restarted = loadLayeredConfig(configPath, silentLogger);
    expect(restarted.config.control.priority).toBe('departure');
    expect(restarted.base.control.priority).toBe('fcfs');
    expect(restarted.overridden).toEqual(['control']);

    // Editing back to the installer's values removes the overrides file.
    const back = await api.inject({ method: 'PUT', url: '/api/v1/config', headers: auth, payload: { yaml: after.yaml.replace('priority: departure', 'priority: fcfs') } });
    expect(back.json().overrides.sections).toEqual([]);
    expect(existsSync(overridesPath)).toBe(false);
  });

  it('sets aside overrides that no longer fit the installer’s file, with one line that says so', () => {
    const { configPath, overridesPath } = installerFile();
    mkdirSync(join(overridesPath, '..'), { recursive: true });
    writeFileSync(overridesPath, 'control:\n  priority: fastest-first\n');
    const lines: string[] = [];
    const log = createLogger({ level: 'info', format: 'json', destination: { write: (line: string) => lines.push(line) } as never });
    const loaded = loadLayeredConfig(configPath, log);
    expect(loaded.config.control.priority).toBe('fcfs');
    const errors = lines.map((l) => JSON.parse(l)).filter((l) => l.level >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0].msg).toMatch(/config overrides in .*config-overrides\.yaml not applied \(control\.priority: .*\); running the installer's config/);
  });
});

describe('the demo config', () => {
  it('is a copy of the example in the data folder, made on the first run and kept after', () => {
    const workDir = join(scratch, `demo-${++n}`);
    mkdirSync(workDir);
    const copy = demoConfigCopy(silentLogger, workDir);
    expect(copy).toBe(join(workDir, 'data', 'demo.yaml'));
    // The example, with its schema link and check-config line pointing from the copy's place.
    const text = readFileSync(copy, 'utf8');
    const schema = /\$schema=(\S+)/.exec(text)![1];
    expect(existsSync(join(dirname(copy), schema))).toBe(true);
    expect(text).toContain(`ems check-config ${copy}`);
    const example = readFileSync(join(process.cwd(), 'config/examples/demo.yaml'), 'utf8');
    expect(text.split('\n').filter((l, i) => l !== example.split('\n')[i])).toHaveLength(2);
    writeFileSync(copy, readFileSync(copy, 'utf8').replace('Demo Depot', 'My Depot'));
    expect(demoConfigCopy(silentLogger, workDir)).toBe(copy);
    expect(readFileSync(copy, 'utf8')).toContain('My Depot');
  });
});

describe("a Settings save in the demo (ports from the command line, timings scaled to the speed)", () => {
  it('changes only what the operator edited: no restart for ports, the scaled staleness stays, the file keeps what was written', async () => {
    const { configPath, text } = installerFile();
    const fromFile = loadLayeredConfig(configPath, silentLogger).config;
    const runtimeConfig = (file: typeof fromFile) => demoRuntimeConfig(file, { httpPort: 18_080, ocppPort: 19_000, count: 1, speed: 60 });
    const running = runtimeConfig(fromFile);
    expect(running.control.staleAfterMs).toBe(120_000);
    api = await createApiFixture({ config: running, deps: { configPath, runtimeConfig, liveConfigSections: ['control'] } });
    const auth = { authorization: `Bearer ${(await api.login('admin', 'admin-password-1')).token}` };
    const put = await api.inject({ method: 'PUT', url: '/api/v1/config', headers: auth, payload: { yaml: text.replace('priority: fcfs', 'priority: departure') } });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toMatchObject({ changed: ['control'], applied: ['control'], restartRequired: [] });
    expect(api.ctx.config.control).toMatchObject({ priority: 'departure', staleAfterMs: 120_000 });
    expect(api.ctx.config.http.port).toBe(18_080);
    expect(readFileSync(configPath, 'utf8')).toContain('port: 0');
    expect(readFileSync(configPath, 'utf8')).not.toContain('18080');
    // The audit's before/after (the Events page's diff) holds only the edit.
    const audit = (await api.inject({ method: 'GET', url: '/api/v1/audit?limit=5', headers: auth })).json() as { action: string; before: Record<string, Record<string, unknown>>; after: Record<string, Record<string, unknown>> }[];
    const entry = audit.find((a) => a.action === 'config.update')!;
    expect(Object.keys(entry.after)).toEqual(['control']);
    const differs = Object.keys(entry.after.control!).filter((k) => JSON.stringify(entry.before.control![k]) !== JSON.stringify(entry.after.control![k]));
    expect(differs).toEqual(['priority']);
  });
});
