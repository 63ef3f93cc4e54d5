// The layering of DESIGN.md as a test: a pure optimizer, adapters that know nothing of the core,
// a config layer that only parses, and src/ feature folders that meet only through shared seams.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function sourceFiles(dir: string): string[] {
  const abs = join(root, dir);
  return readdirSync(abs).flatMap((name) => {
    const path = join(abs, name);
    if (statSync(path).isDirectory()) return sourceFiles(relative(root, path));
    return /\.ts$/.test(name) && !/\.(test|d)\.ts$/.test(name) ? [relative(root, path)] : [];
  });
}

function imports(file: string, options: { valuesOnly?: boolean } = {}): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const statements = [...text.matchAll(/(?:^|\n)\s*((?:import|export)[^'"]*?from\s+['"]([^'"]+)['"])/g)];
  const dynamic = [...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
  return [
    ...statements.filter((m) => !options.valuesOnly || !/^(import|export)\s+type\b/.test(m[1]!)).map((m) => m[2]!),
    ...dynamic,
  ];
}

/** Where a relative import lands, as a path from the repo root. */
const target = (file: string, spec: string) => relative(root, resolve(root, dirname(file), spec));

const strip = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');

describe('the optimizer', () => {
  const files = sourceFiles('optimizer');

  it('imports nothing outside optimizer/', () => {
    const offenders = files.flatMap((f) =>
      imports(f)
        .filter((spec) => !spec.startsWith('.') || !target(f, spec).startsWith('optimizer/'))
        .map((spec) => `${f} imports ${spec}`),
    );
    expect(offenders).toEqual([]);
  });

  it('reads no clock, draws no random numbers and does no I/O', () => {
    const forbidden = /\bDate\.now\(|new Date\(\s*\)|Math\.random\(|\bsetTimeout\(|\bsetInterval\(|\bsetImmediate\(|\bconsole\.|\bprocess\.|\bperformance\.now\(|\brequire\(/;
    const offenders = files.filter((f) => forbidden.test(strip(readFileSync(join(root, f), 'utf8'))));
    expect(offenders).toEqual([]);
  });
});

describe('the site plant', () => {
  const files = sourceFiles('plant');

  it('imports nothing outside plant/', () => {
    const offenders = files.flatMap((f) =>
      imports(f)
        .filter((spec) => !spec.startsWith('.') || !target(f, spec).startsWith('plant/'))
        .map((spec) => `${f} imports ${spec}`),
    );
    expect(offenders).toEqual([]);
  });

  it('reads no clock, draws no unseeded random numbers and does no I/O', () => {
    const forbidden = /\bDate\.now\(|new Date\(\s*\)|Math\.random\(|\bsetTimeout\(|\bsetInterval\(|\bsetImmediate\(|\bconsole\.|\bprocess\.|\bperformance\.now\(|\brequire\(/;
    const offenders = files.filter((f) => forbidden.test(strip(readFileSync(join(root, f), 'utf8'))));
    expect(offenders).toEqual([]);
  });
});

describe('the config layer', () => {
  it('imports only zod, yaml and its own files', () => {
    const offenders = sourceFiles('config').flatMap((f) =>
      imports(f)
        .filter((spec) => (spec.startsWith('.') ? !target(f, spec).startsWith('config/') : !['zod', 'yaml'].includes(spec)))
        .map((spec) => `${f} imports ${spec}`),
    );
    expect(offenders).toEqual([]);
  });
});

describe('the adapters', () => {
  it('never import optimizer/ or src/', () => {
    const offenders = sourceFiles('adapters').flatMap((f) =>
      imports(f)
        .filter((spec) => spec.startsWith('.') && /^(optimizer|src)\//.test(target(f, spec)))
        .map((spec) => `${f} imports ${spec}`),
    );
    expect(offenders).toEqual([]);
  });
});

describe('the shell', () => {
  // Seams every feature may use; everything else in src/ is a feature folder of its own.
  const shared = [/^src\/(bus|service|clock|log|errors|config-file|config-overrides|failure-backoff|grid-signal|secrets|wire-timing)\.ts$/, /^src\/state\//, /^src\/control\/(ceiling-provider|charger-commands)\.ts$/];
  const wiring = [/^src\/app\.ts$/, /^src\/cli\//, /^src\/demo\//, /^src\/simulate\//];

  // Types may cross (an interface handed in at wiring time is declared by its owner); code may not.
  it('keeps feature folders from importing code from each other (they meet in src/app.ts and on the bus)', () => {
    const feature = (path: string) => path.split('/')[1];
    const offenders = sourceFiles('src')
      .filter((f) => !wiring.some((w) => w.test(f)))
      .flatMap((f) =>
        imports(f, { valuesOnly: true })
          .filter((spec) => spec.startsWith('.'))
          .map((spec) => target(f, spec))
          .filter((t) => t.startsWith('src/') && !shared.some((s) => s.test(t)) && feature(t) !== feature(f))
          .map((t) => `${f} imports ${t}`),
      );
    expect(offenders).toEqual([]);
  });
});
