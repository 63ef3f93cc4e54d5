import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { ConfigFileError, loadConfigFile } from '../../src/config-file.ts';
import { ConfigError } from '../../src/errors.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ems-config-file-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function site(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function capturingLogger() {
  const records: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      records.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { log: createLogger({ level: 'info', destination }), records };
}

describe('loadConfigFile', () => {
  it('returns the validated config', () => {
    const config = loadConfigFile(site('ok.yaml', 'grid: { maxCurrent: 63 }\nchargers: [ { id: CP1 } ]\n'));
    expect(config.grid.maxCurrent).toBe(63);
    expect(config.chargers[0].id).toBe('CP1');
  });

  it('throws a ConfigError (CONFIG_INVALID) that lists every error with its line', () => {
    const path = site('bad.yaml', 'grid: { maxCurrent: 63 }\nchargers:\n  - { id: CP1, minCurrent: 40 }\n  - { id: CP1 }\n');
    let thrown: unknown;
    try {
      loadConfigFile(path);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect(thrown).toBeInstanceOf(ConfigFileError);
    const error = thrown as ConfigFileError;
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.problems.map((p) => p.path)).toEqual(['chargers.0.minCurrent', 'chargers.1.id']);
    expect(error.message).toBe(
      [
        `${path}: invalid config`,
        '  chargers.0.minCurrent: minCurrent 40 A is above maxCurrent 32 A (line 3)',
        '  chargers.1.id: duplicate charger id "CP1" (first at chargers.0) (line 4)',
      ].join('\n'),
    );
  });

  it('throws for a missing file, keeping the file-system error as the cause', () => {
    const path = join(dir, 'missing.yaml');
    expect(() => loadConfigFile(path)).toThrow(ConfigFileError);
    try {
      loadConfigFile(path);
    } catch (error) {
      expect((error as ConfigFileError).problems).toEqual([{ path, message: 'file not found', severity: 'error' }]);
      expect(((error as Error).cause as NodeJS.ErrnoException).code).toBe('ENOENT');
    }
  });

  it('logs warnings once each and still loads', () => {
    const { log, records } = capturingLogger();
    const path = site('warned.yaml', 'grid: { maxCurrent: 63 }\ncircuits: [ { id: main, maxCurrent: 80 } ]\n');
    const config = loadConfigFile(path, { log });
    expect(config.circuits[0].id).toBe('main');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      level: 40,
      module: 'config',
      path: 'circuits.0.maxCurrent',
      line: 2,
      msg: '80 A is above grid.maxCurrent (63 A); the grid limit applies',
    });
  });
});
