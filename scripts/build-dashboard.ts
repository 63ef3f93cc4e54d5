// npm run build:dashboard: bundles dashboard/src into dashboard/dist (also run by `prepare`).
import { buildDashboard } from '../dashboard/build.ts';

const started = performance.now();
const { outDir, files } = await buildDashboard({ minify: !process.argv.includes('--dev') });
const shipped = files.filter((f) => !f.path.endsWith('.map') && !f.path.endsWith('.LEGAL.txt'));
for (const f of shipped) process.stdout.write(`  ${f.path.padEnd(40)} ${(f.bytes / 1024).toFixed(1).padStart(8)} KiB\n`);
process.stdout.write(`dashboard built into ${outDir} in ${Math.round(performance.now() - started)} ms\n`);
