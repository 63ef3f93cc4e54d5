// Config load time: what `ems run` and `ems check-config` spend on parsing and checking the site
// file, for the shipped examples and for generated sites of 100 and 1000 chargers.
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { parseConfigText } from '../config/parse-config.ts';
import type { Bench, BenchTable } from './types.ts';

function generatedSite(chargerCount: number): string {
  const chargers = Array.from({ length: chargerCount }, (_, i) => ({ id: `CP${String(i + 1).padStart(4, '0')}`, maxCurrent: 32, tier: 'staff' }));
  const rows = [];
  for (let i = 0; i < chargerCount; i += 10) rows.push({ id: `row-${rows.length + 1}`, maxCurrent: 63, chargers: chargers.slice(i, i + 10).map((c) => c.id) });
  const boards = [];
  for (let i = 0; i < rows.length; i += 10) boards.push({ id: `board-${boards.length + 1}`, maxCurrent: 400, children: rows.slice(i, i + 10) });
  const idTags = Array.from({ length: chargerCount }, (_, i) => ({ idTag: `T${i}`, tier: 'staff' }));
  return stringify({ grid: { maxCurrent: 4000 }, circuits: [{ id: 'main', maxCurrent: 4000, children: boards }], chargers, idTags });
}

function measure(text: string, runs: number): { medianMs: number; p99Ms: number } {
  for (let i = 0; i < 3; i++) parseConfigText(text, 'warmup.yaml');
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const { config } = parseConfigText(text, 'bench.yaml');
    times.push(performance.now() - started);
    if (!config) throw new Error('bench config did not validate');
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(runs / 2)], p99Ms: times[Math.min(runs - 1, Math.ceil(runs * 0.99) - 1)] };
}

const bench: Bench = async () => {
  const cases: [string, string, number][] = [
    ['demo.yaml (8 chargers)', readFileSync(new URL('../config/examples/demo.yaml', import.meta.url), 'utf8'), 50],
    ['depot.yaml (20 chargers)', readFileSync(new URL('../config/examples/depot.yaml', import.meta.url), 'utf8'), 50],
    ['generated, 100 chargers', generatedSite(100), 30],
    ['generated, 1000 chargers', generatedSite(1000), 10],
  ];
  const rows = cases.map(([name, text, runs]) => {
    const { medianMs, p99Ms } = measure(text, runs);
    return [name, `${(text.length / 1024).toFixed(1)} KiB`, runs, medianMs, p99Ms];
  });
  const table: BenchTable = {
    title: 'Config: parse + schema + cross-checks (parseConfigText)',
    columns: ['file', 'size', 'runs', 'median ms', 'p99 ms'],
    rows,
    notes: ['no target: a one-off cost at start-up and in check-config; YAML parsing dominates'],
  };
  return [table];
};

export default bench;
