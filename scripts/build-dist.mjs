// `npm run build`: the EMS as plain JavaScript in dist/ (one .js file per .ts file, same layout, so
// src/package-root.ts finds the package's files from there as from the sources), for production:
// no TypeScript loader at run time (tsx's keepNames wraps every named closure made at run time
// in a __name call: ~15 % of the allocation, ~30 MB of RSS at 200 chargers, #14). esbuild
// transpiles file by file (a second or two); tsc stays the type checker (npm run typecheck).
// Also writes dist/bin/ems.js (the entry: `node dist/bin/ems.js run --config site.yaml`), which
// refuses to start when the sources changed since the build, and dist/source-stamp.txt.
//   node scripts/build-dist.mjs [--out <folder inside the package>]
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { sourceFiles, sourceStamp } from '../bin/source-stamp.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outIndex = process.argv.indexOf('--out');
const out = resolve(root, outIndex > 0 ? process.argv[outIndex + 1] : 'dist');
if (relative(root, out).startsWith('..') || out === root) throw new Error(`--out must be a folder inside ${root}`);

const files = sourceFiles(root);
const stamp = sourceStamp(root);
rmSync(out, { recursive: true, force: true });

/** Relative imports of .ts files become imports of the .js files built beside them; packages stay imports. */
const keepImports = {
  name: 'keep-imports',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      if (!args.path.startsWith('.')) return { path: args.path, external: true };
      return { path: args.path.replace(/\.ts$/, '.js'), external: true };
    });
  },
};

await build({
  absWorkingDir: root,
  entryPoints: files.filter((f) => f.endsWith('.ts')),
  outdir: out,
  outbase: '.',
  bundle: true, // with every import external (above): one module per file, nothing merged
  plugins: [keepImports],
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
});

// The plan worker's bootstrap loads the TypeScript worker through tsx; built, it loads the .js one.
for (const file of files.filter((f) => f.endsWith('.mjs'))) {
  if (file !== 'src/planner/plan-worker-boot.mjs') throw new Error(`no build rule for ${file}`);
  writeFileSync(join(out, file), "// Built by scripts/build-dist.mjs: the worker's compiled code, no loader.\nawait import('./plan-worker.js');\n");
}

mkdirSync(join(out, 'bin'), { recursive: true });
const stampModule = relative(join(out, 'bin'), join(root, 'bin', 'source-stamp.js')).split('\\').join('/');
writeFileSync(join(out, 'source-stamp.txt'), `${stamp}\n`);
writeFileSync(
  join(out, 'bin', 'ems.js'),
  `#!/usr/bin/env node
// Built by scripts/build-dist.mjs (npm run build): the EMS from its compiled JavaScript.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sourceStamp } from '${stampModule.startsWith('.') ? stampModule : `./${stampModule}`}';

const root = fileURLToPath(new URL('${relative(join(out, 'bin'), root).split('\\').join('/')}/', import.meta.url));
const built = readFileSync(new URL('../source-stamp.txt', import.meta.url), 'utf8').trim();
if (built !== sourceStamp(root)) {
  process.stderr.write('The compiled EMS in ${relative(root, out)}/ is older than its sources: run \`npm run build\` (or start bin/ems.js, which runs the sources).\\n');
  process.exit(1);
}
const { main } = await import('../src/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
`,
);
console.log(`built ${files.length} files into ${relative(root, out)}/`);
