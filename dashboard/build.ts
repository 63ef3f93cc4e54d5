// Builds the dashboard (dashboard/src → dashboard/dist: index.html, app.js, app.css, lazy chunks)
// with esbuild. Node side only; the EMS serves dashboardDistDir as static files.
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { Plugin } from 'esbuild';
import { packagePath } from '../src/package-root.ts';

// From the package root, not from this file: the compiled EMS runs it from dist/dashboard/.
export const dashboardSrcDir = `${packagePath('dashboard', 'src')}/`;
export const dashboardDistDir = `${packagePath('dashboard', 'dist')}/`;
const configSchemaFile = packagePath('config', 'schema.ts');

/**
 * zod re-exports every message locale (about 260 KB minified); the pages use English only, so the
 * locale index resolves to English alone.
 */
const englishOnlyZod: Plugin = {
  name: 'english-only-zod',
  setup(build) {
    build.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]/.test(args.importer) ? { path: join(dirname(args.importer), '../locales'), namespace: 'zod-locales' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: "export { default as en } from './en.js';",
      resolveDir: args.path,
      loader: 'js',
    }));
  },
};

export interface BuildResult {
  outDir: string;
  /** Output files relative to outDir, with their size in bytes. */
  files: { path: string; bytes: number }[];
}

export async function buildDashboard(options: { outDir?: string; minify?: boolean } = {}): Promise<BuildResult> {
  const outDir = resolve(options.outDir ?? dashboardDistDir);
  const { build } = await import('esbuild');
  // Build beside the target and swap it in, so a running EMS never serves a half-written dist/.
  const stagingDir = `${outDir.replace(/[\\/]$/, '')}.building-${process.pid}-${Date.now()}`;
  mkdirSync(stagingDir, { recursive: true });
  try {
    await bundle(build, stagingDir, options.minify ?? true);
  } catch (error) {
    rmSync(stagingDir, { recursive: true, force: true });
    throw error;
  }
  // Two builds may finish together (parallel test files); the last one to swap wins.
  const oldDirs: string[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      if (existsSync(outDir)) {
        const oldDir = `${stagingDir}.old${attempt}`;
        renameSync(outDir, oldDir);
        oldDirs.push(oldDir);
      }
      renameSync(stagingDir, outDir);
      break;
    } catch (error) {
      if (attempt >= 5) {
        rmSync(stagingDir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  for (const dir of oldDirs) rmSync(dir, { recursive: true, force: true });
  return { outDir, files: listFiles(outDir) };
}

function listFiles(dir: string, base = dir): { path: string; bytes: number }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? listFiles(path, base) : [{ path: relative(base, path), bytes: statSync(path).size }];
  });
}

async function bundle(build: typeof import('esbuild').build, outDir: string, minify: boolean): Promise<void> {
  await build({
    entryPoints: { app: join(dashboardSrcDir, 'main.ts') },
    bundle: true,
    splitting: true,
    format: 'esm',
    target: ['chrome100', 'firefox100', 'safari15'],
    platform: 'browser',
    outdir: outDir,
    chunkNames: 'chunks/[name]-[hash]',
    minify,
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
    plugins: [englishOnlyZod],
  });
  copyFileSync(join(dashboardSrcDir, 'index.html'), join(outDir, 'index.html'));
}

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtimeMs(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** True when dist/ is missing or older than a source file (or the config schema it bundles). */
export function dashboardIsStale(outDir = dashboardDistDir): boolean {
  const built = join(outDir, 'app.js');
  if (!existsSync(built) || !existsSync(join(outDir, 'index.html'))) return true;
  const builtAt = statSync(built).mtimeMs;
  return newestMtimeMs(dashboardSrcDir) > builtAt || statSync(configSchemaFile).mtimeMs > builtAt;
}

/**
 * For EMS start: build the pages when they are missing or stale. Returns the dist dir. When
 * esbuild is not installed (a production install without dev dependencies) and a build exists,
 * that build is served; with no build at all it throws, and the caller logs it and runs on.
 */
export async function ensureDashboardBuilt(outDir = dashboardDistDir): Promise<string> {
  if (!dashboardIsStale(outDir)) return outDir;
  try {
    await buildDashboard({ outDir });
  } catch (error) {
    if (existsSync(join(outDir, 'index.html'))) return outDir;
    throw new Error(`the dashboard is not built and cannot be built here (run npm run build:dashboard): ${(error as Error).message}`, { cause: error });
  }
  return outDir;
}
