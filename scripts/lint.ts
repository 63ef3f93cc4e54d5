// npm run lint: the house rules a type checker does not see. Exit 1 with one line per finding.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = process.cwd();
const roots = ['src', 'optimizer', 'plant', 'adapters', 'config', 'test', 'bench', 'scripts', 'dashboard/src'];
const findings: string[] = [];

function walk(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist') return [];
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

for (const file of roots.flatMap((r) => walk(join(root, r)))) {
  const rel = relative(root, file);
  const base = rel.split('/').pop()!;
  if (/\.(ts|tsx|js|css|html|py)$/.test(base) && !/^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+)*$/.test(base)) findings.push(`${rel}: file names are kebab-case`);
  if (!/\.tsx?$/.test(base) || base.endsWith('.d.ts') || rel === 'scripts/lint.ts') continue;
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const at = `${rel}:${i + 1}`;
    if (/\b(it|test|describe)\.only\(/.test(line)) findings.push(`${at}: .only left in a test`);
    if (/\b(it|test|describe)\.skip\(/.test(line)) findings.push(`${at}: unconditional .skip (use describeWithPeer or skipIf with a reason)`);
    if (/^(src|adapters|optimizer|config)\//.test(rel) && !/^src\/(cli|demo)\//.test(rel) && /\bconsole\.(log|info|debug)\(/.test(line))
      findings.push(`${at}: console output in the shell; use the injected pino logger`);
    if (/\bdebugger\b/.test(line)) findings.push(`${at}: debugger statement`);
    if (/\bnot implemented\b[^a-z]*['"`]|TODO: implement/i.test(line) && !/^test\//.test(rel)) findings.push(`${at}: stub left in the code`);
  });
}

for (const f of findings) console.error(f);
console.log(findings.length ? `lint: ${findings.length} finding(s)` : 'lint: clean');
process.exit(findings.length ? 1 : 0);
