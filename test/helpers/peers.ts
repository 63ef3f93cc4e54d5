// External peers (Mosquitto, pymodbus, InfluxDB, Chromium, xmllint): a test that needs one runs
// when it is installed, skips with the reason when it is not, and fails under CI=true.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'vitest';

export function hasCommand(command: string): boolean {
  if (command.startsWith('/')) return existsSync(command);
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function hasPythonModule(module: string): boolean {
  try {
    execFileSync('/usr/bin/python3', ['-c', `import ${module}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * `describeWithPeer('mosquitto', hasCommand('mosquitto'), 'MQTT adapter', () => { ... })`.
 * Missing peer: skipped with a printed reason, or a failing test when CI=true.
 */
export function describeWithPeer(peer: string, available: boolean, name: string, body: () => void): void {
  if (available) {
    describe(name, body);
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      it(`needs ${peer}, which is missing (CI=true: install it in .ci/run)`, () => {
        throw new Error(`peer ${peer} is not installed`);
      });
    });
    return;
  }
  console.warn(`[skip] ${name}: ${peer} is not installed (apt-get install it; .ci/run does)`);
  describe.skipIf(true)(`${name} (skipped: ${peer} missing)`, body);
}
