// The acceptance rig shares no code with the EMS: nothing under test/acceptance or
// test/fixtures/independent imports from src/, optimizer/, plant/, adapters/ or another test
// helper (only test/helpers/peers.ts, which decides whether a peer is installed, and the
// Mosquitto launcher). What it shares is the config file format and the public HTTP API.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const folders = ['test/acceptance', 'test/fixtures/independent'];
const allowed = new Set(['test/helpers/peers.ts', 'test/fixtures/mosquitto.ts']);

describe('the acceptance rig is independent of the EMS code', () => {
  it('imports only its own files, peers.ts, the Mosquitto launcher and npm packages', () => {
    const offenders: string[] = [];
    for (const folder of folders) {
      for (const name of readdirSync(join(root, folder))) {
        if (!name.endsWith('.ts')) continue;
        const file = join(root, folder, name);
        const text = readFileSync(file, 'utf8');
        for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
          const spec = m[1]!;
          if (!spec.startsWith('.')) continue; // an npm package or node: builtin
          const target = relative(root, resolve(dirname(file), spec));
          if (folders.some((f) => target.startsWith(`${f}/`)) || allowed.has(target)) continue;
          offenders.push(`${relative(root, file)} → ${target}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});
