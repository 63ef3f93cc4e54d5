// What the compiled EMS was built from: a hash of every file `npm run build` compiles, so the
// built entry refuses to run a dist/ that no longer matches the sources (scripts/build-dist.mjs).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** The folders whose TypeScript (and the few .mjs files beside it) the build compiles or copies. */
export const SOURCE_DIRS = ['src', 'optimizer', 'plant', 'adapters', 'config', 'dashboard'];

/** Every source file of the build under `root`, sorted (paths relative to root, with /). */
export function sourceFiles(root) {
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) files.push(relative(root, path).split('\\').join('/'));
    }
  };
  for (const dir of SOURCE_DIRS) walk(join(root, dir));
  return files.sort();
}

/** sha256 over each source file's path and content. */
export function sourceStamp(root) {
  const hash = createHash('sha256');
  for (const file of sourceFiles(root)) {
    hash.update(file);
    hash.update('\0');
    hash.update(readFileSync(join(root, file)));
    hash.update('\0');
  }
  return hash.digest('hex');
}
