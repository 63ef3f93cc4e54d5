// npm run bench [-- name-filter]: runs every bench/*.bench.ts, prints tables, records them in
// bench/RESULTS.md under today's date (the newest run first).
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench, BenchTable } from './types.ts';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2];

function toMarkdown(table: BenchTable): string {
  const cell = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : v);
  const lines = [
    `### ${table.title}`,
    '',
    `| ${table.columns.join(' | ')} |`,
    `| ${table.columns.map(() => '---').join(' | ')} |`,
    ...table.rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ];
  if (table.notes?.length) lines.push('', ...table.notes.map((n) => `- ${n}`));
  return lines.join('\n');
}

const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts') && (!filter || f.includes(filter)))
  .sort();
const sections: string[] = [];
for (const file of files) {
  const bench = (await import(join(here, file))).default as Bench;
  process.stderr.write(`running ${file}...\n`);
  const started = performance.now();
  const tables = await bench();
  for (const table of tables) {
    const md = toMarkdown(table);
    console.log(`\n${md}`);
    sections.push(md);
  }
  process.stderr.write(`${file}: ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

const resultsPath = join(here, 'RESULTS.md');
const header = '# Benchmark results\n\nRecorded by `npm run bench`; newest first. Machine: see each run\'s line.\n';
const previous = existsSync(resultsPath) ? readFileSync(resultsPath, 'utf8').replace(header, '') : '';
const machine = `${process.platform}/${process.arch}, Node ${process.version}, ${(await import('node:os')).cpus().length} cores`;
const run = `\n## ${new Date().toISOString().slice(0, 10)} (${filter ? `only ${filter}; ` : ''}${machine})\n\n${sections.join('\n\n')}\n`;
writeFileSync(resultsPath, header + run + previous);
process.exit(0);
