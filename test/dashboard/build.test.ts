import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboard, dashboardIsStale, type BuildResult } from '../../dashboard/build.ts';

describe('dashboard build', () => {
  let outDir: string;
  let result: BuildResult;

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'ems-dashboard-'));
    result = await buildDashboard({ outDir });
  });
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('writes index.html, app.js and app.css', () => {
    const names = result.files.map((f) => f.path);
    expect(names).toEqual(expect.arrayContaining(['index.html', 'app.js', 'app.css']));
    const html = readFileSync(join(outDir, 'index.html'), 'utf8');
    expect(html).toContain('src="./app.js"');
    expect(html).toContain('href="./app.css"');
    expect(dashboardIsStale(outDir)).toBe(false);
  });

  it('loads nothing from the internet: no CDN scripts, no remote styles or web fonts', () => {
    const shipped = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? shipped(join(dir, e.name)) : /\.(js|css|html)$/.test(e.name) ? [join(dir, e.name)] : []));
    for (const file of shipped(outDir)) {
      const text = readFileSync(file, 'utf8');
      expect(text, file).not.toMatch(/<(script|link)[^>]+(src|href)=["']?(https?:)?\/\//i);
      expect(text, file).not.toMatch(/@import\s+(url\()?["']?(https?:)?\/\//i);
      expect(text, file).not.toMatch(/url\(["']?(https?:)?\/\//i);
      expect(text, file).not.toMatch(/import\(["'](https?:)?\/\//i);
      expect(text, file).not.toMatch(/fonts\.googleapis|cdn\.jsdelivr|unpkg\.com|cdnjs/i);
    }
  });

  it('bundles uPlot for the history chart and keeps the chart and the config editor out of the first load', () => {
    const app = readFileSync(join(outDir, 'app.js'), 'utf8');
    expect(result.files.some((f) => f.path.startsWith('chunks/settings-view'))).toBe(true);
    expect(result.files.some((f) => f.path.startsWith('chunks/history-view'))).toBe(true);
    expect(app).not.toContain('maxAliasCount');
    expect(readFileSync(join(outDir, 'app.css'), 'utf8')).toContain('.u-legend');
    const all = result.files.filter((f) => f.path.endsWith('.js')).map((f) => readFileSync(join(outDir, f.path), 'utf8')).join('\n');
    expect(all).toContain('u-legend');
  });
});
