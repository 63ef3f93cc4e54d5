import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder that holds package.json: the same from the TypeScript sources (src/, run through tsx)
 * and from the build (dist/src/, `npm run build`), so files shipped beside the code (the dashboard's
 * bundle, the example configs, package.json) are found from either.
 */
function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

let root: string | undefined;

/** A path inside the package, e.g. packagePath('dashboard', 'dist'). */
export function packagePath(...segments: string[]): string {
  root ??= findPackageRoot(dirname(fileURLToPath(import.meta.url)));
  return join(root, ...segments);
}
