// How a checkout runs on a gateway, for the upstream benches' A/B between checkouts: the node flags
// and the entry of its deploy/ems.service (session 12: dist/bin/ems.js, compiled, with an 8 MB
// young generation; before: bin/ems.js through tsx with 4 MB). A checkout whose entry is the
// compiled one is built first (scripts/build-dist.mjs, once per process). BENCH_EMS_SOURCES=1 runs
// bin/ems.js (the sources through tsx) with the same flags instead.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface DeployedEms {
  /** node flags before the entry (--max-old-space-size, --max-semi-space-size). */
  nodeArgs: string[];
  /** The entry, relative to the checkout (run with the checkout as the working directory). */
  entry: string;
}

const built = new Set<string>();

export function deployedEms(checkout: string): DeployedEms {
  const root = resolve(checkout);
  const unit = readFileSync(join(root, 'deploy/ems.service'), 'utf8');
  const execStart = /^ExecStart=\S+\s+(.*)$/m.exec(unit)?.[1];
  if (!execStart) throw new Error(`no ExecStart in ${root}/deploy/ems.service`);
  const words = execStart.split(/\s+/);
  const nodeArgs = words.filter((w) => w.startsWith('--') && words.indexOf(w) < words.findIndex((x) => x.endsWith('.js')));
  const entry = words.find((w) => w.endsWith('.js'))!.replace(/^\/opt\/ems\//, '');
  if (process.env.BENCH_EMS_SOURCES) return { nodeArgs, entry: 'bin/ems.js' };
  if (entry.startsWith('dist/') && !built.has(root)) {
    execFileSync(process.execPath, ['scripts/build-dist.mjs'], { cwd: root, stdio: 'ignore' });
    built.add(root);
  }
  return { nodeArgs, entry };
}
