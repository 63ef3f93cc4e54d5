// Where the demo saves a Settings edit, as a newcomer meets it: `ems demo` (what `npm start` runs)
// as a real process in a fresh folder prints "Config: <file> (Settings edits are saved there)"; a
// save through the API lands in that file (the demo's own copy of the example, data/demo.yaml),
// survives a restart, and the README says the same.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { OVERRIDES_FILE } from '../../src/config-overrides.ts';

const ROOT = process.cwd();
const PASSWORD = 'demo-save-pass-1';
const workDir = mkdtempSync(join(tmpdir(), 'ems-demo-save-'));
let child: ChildProcess | undefined;

/** Starts `ems demo` in workDir; resolves with the dashboard URL and the config path it printed. */
function startDemo(): Promise<{ url: string; configPath: string }> {
  child = spawn(process.execPath, [join(ROOT, 'bin/ems.js'), 'demo', '--chargers', '2', '--speed', '10', '--http-port', '0', '--ocpp-port', '0', '--quiet'], {
    cwd: workDir,
    env: { ...process.env, EMS_ADMIN_PASSWORD: PASSWORD, EMS_LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = child;
  let out = '';
  return new Promise((resolve, reject) => {
    // tsx compiles the whole EMS at start: seconds on an idle machine, 45-60 s measured at load 33.
    const timer = setTimeout(() => reject(new Error(`ems demo printed no dashboard line in 150 s:\n${out}`)), 150_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const url = /Dashboard: (http:\/\/\S+)/.exec(out)?.[1];
      const configPath = /Config: (.+) \(Settings edits are saved there\)\./.exec(out)?.[1];
      if (url && configPath) {
        clearTimeout(timer);
        resolve({ url, configPath });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ems demo exited with ${code}:\n${out}`));
    });
  });
}

async function stopDemo(): Promise<void> {
  const proc = child;
  child = undefined;
  if (!proc || proc.exitCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGINT');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

afterEach(stopDemo);
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('the demo saves Settings edits where it says', () => {
  it('prints its config file, saves an edit into it (not into config-overrides.yaml), and keeps it after a restart', async () => {
    const { url, configPath } = await startDemo();
    expect(configPath).toBe(join(workDir, 'data', 'demo.yaml'));
    const login = await fetch(`${url}api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
    const auth = { authorization: `Bearer ${((await login.json()) as { token: string }).token}`, 'content-type': 'application/json' };
    const shown = (await (await fetch(`${url}api/v1/config`, { headers: auth })).json()) as { yaml: string; path?: string };
    const name = /name: (.+)/.exec(shown.yaml)![1];
    const put = await fetch(`${url}api/v1/config`, { method: 'PUT', headers: auth, body: JSON.stringify({ yaml: shown.yaml.replace(`name: ${name}`, 'name: Saved Where Said') }) });
    expect(put.status, await put.clone().text()).toBe(200);
    expect(readFileSync(configPath, 'utf8')).toContain('name: Saved Where Said');
    expect(existsSync(join(workDir, 'data', OVERRIDES_FILE))).toBe(false);
    // The shipped example is not touched.
    expect(readFileSync(join(ROOT, 'config/examples/demo.yaml'), 'utf8')).not.toContain('Saved Where Said');

    await stopDemo();
    const again = await startDemo();
    const state = (await (await fetch(`${again.url}api/v1/state`, { headers: auth })).json()) as { site: { name: string } };
    expect(state.site.name).toBe('Saved Where Said');
  }, 420_000);

  it('is what the README tells a newcomer', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8').replace(/\s+/g, ' ');
    expect(readme).toContain('edits made in the dashboard\'s Settings are saved into that file and kept across restarts');
    expect(readme).toContain('`data/demo.yaml`');
    expect(readme).toContain("With `ems run`, edits made in the dashboard's Settings are kept in `config-overrides.yaml`");
  });
});
