import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConfig } from '../../src/cli/check-config.ts';
import { dedent } from './problem-lines.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ems-check-config-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeSite(name: string, yamlText: string): string {
  const path = join(dir, name);
  writeFileSync(path, dedent(yamlText));
  return path;
}

function run(path: string) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = checkConfig(path, { stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l) });
  return { code, stdout, stderr };
}

const VALID = `
  grid: { maxCurrent: 63 }
  circuits:
    - id: main
      maxCurrent: 63
      children:
        - { id: row, maxCurrent: 32, chargers: [CP1, CP2] }
  chargers: [ { id: CP1 }, { id: CP2 } ]
`;

const INVALID = `
  grid: { maxCurrent: 63, meter: grid }
  chargers:
    - { id: CP1, minCurrent: 40 }
    - { id: CP1 }
`;

describe('checkConfig', () => {
  it('prints ok with the charger and circuit counts and exits 0', () => {
    const path = writeSite('valid.yaml', VALID);
    expect(run(path)).toEqual({ code: 0, stdout: [`ok: ${path} (2 chargers, 2 circuits)`], stderr: [] });
  });

  it('prints one line per problem and exits 1', () => {
    const path = writeSite('invalid.yaml', INVALID);
    expect(run(path)).toEqual({
      code: 1,
      stdout: [],
      stderr: [
        'grid.meter: unknown device "grid" (line 1)',
        'chargers.0.minCurrent: minCurrent 40 A is above maxCurrent 32 A (line 3)',
        'chargers.1.id: duplicate charger id "CP1" (first at chargers.0) (line 4)',
      ],
    });
  });

  it('prints warnings but still exits 0', () => {
    const path = writeSite('warned.yaml', `
      grid: { maxCurrent: 63 }
      circuits: [ { id: main, maxCurrent: 80 } ]
    `);
    expect(run(path)).toEqual({
      code: 0,
      stdout: [`ok: ${path} (0 chargers, 1 circuits)`],
      stderr: ['circuits.0.maxCurrent: warning: 80 A is above grid.maxCurrent (63 A); the grid limit applies (line 2)'],
    });
  });

  it('reports a missing file in one line and exits 1', () => {
    const path = join(dir, 'nope.yaml');
    expect(run(path)).toEqual({ code: 1, stdout: [], stderr: [`${path}: file not found`] });
  });

  it('names the file and line of a YAML syntax error', () => {
    const path = writeSite('broken.yaml', 'grid:\n  maxCurrent: [63\n');
    const result = run(path);
    expect(result.code).toBe(1);
    expect(result.stderr).toHaveLength(1);
    expect(result.stderr[0].startsWith(`${path}:2: `)).toBe(true);
  });
});

describe('ems check-config (the real CLI)', () => {
  const cli = (file: string) =>
    spawnSync(process.execPath, [join(repoRoot, 'bin/ems.js'), 'check-config', file], { cwd: repoRoot, encoding: 'utf8', timeout: 90_000 });

  it('exits 0 and prints ok for the demo config', () => {
    const result = cli('config/examples/demo.yaml');
    expect(result.stdout.trim()).toBe('ok: config/examples/demo.yaml (8 chargers, 3 circuits)');
    expect(result.status).toBe(0);
  });

  it('exits 1 with one `path: message` line per problem on stderr', () => {
    const result = cli(writeSite('cli-invalid.yaml', INVALID));
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      'grid.meter: unknown device "grid" (line 1)',
      'chargers.0.minCurrent: minCurrent 40 A is above maxCurrent 32 A (line 3)',
      'chargers.1.id: duplicate charger id "CP1" (first at chargers.0) (line 4)',
    ]);
  });

  it('exits 1 for a missing file', () => {
    const result = cli(join(dir, 'missing.yaml'));
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(`${join(dir, 'missing.yaml')}: file not found`);
  });
});
