// `ems simulate` as a user runs it in a terminal (issue #11): the progress bar on a real pty (util-linux
// `script`), the offline optimum beside the run (--lp-optimum), and the HTML report (--html) opened in
// a real browser, where its charts must show the site power, the limit and every session's energy.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { launchChromium, CHROMIUM } from '../helpers/browser.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { generateScenario, writeScenario } from '../fixtures/scenarios/generate-scenario.ts';

const dir = mkdtempSync(join(tmpdir(), 'ems-simulate-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SESSIONS = 6;
const STRATEGIES = ['controlled', 'uncontrolled', 'equal-share', 'round-robin'];

/** A 6-session public hub day on a 40 A fuse (binding), replayed on the plant as a user would. */
function runInTerminal() {
  const scenario = generateScenario('public-hub', 1, { sessions: SESSIONS });
  (scenario.config as Record<string, any>).grid.maxCurrent = 40;
  const { configPath, sessionsPath } = writeScenario(join(dir, 'hub'), scenario);
  const htmlPath = join(dir, 'report.html');
  const jsonPath = join(dir, 'report.json');
  const command = [process.execPath, 'bin/ems.js', 'simulate', '--config', configPath, '--sessions', sessionsPath, '--lp-optimum', '--html', htmlPath, '--out', jsonPath, '--step-s', '120'].join(' ');
  // `script` gives the command a terminal: stdout and stderr both arrive on it, as a user sees them.
  const run = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, EMS_LOG_LEVEL: 'silent' } });
  return { run, htmlPath, jsonPath, sessions: scenario.sessions.length };
}

const peersHere = hasCommand('script') && hasCommand(CHROMIUM);

describeWithPeer('util-linux script and chromium', peersHere, 'ems simulate in a terminal', () => {
  let result: ReturnType<typeof runInTerminal>;
  const once = () => (result ??= runInTerminal());

  it('draws a progress bar per strategy on the terminal, each to 100 %', () => {
    const { run } = once();
    expect(run.status).toBe(0);
    for (const label of STRATEGIES) {
      const frames = run.stdout.split('\r').filter((f) => f.startsWith(label));
      // Redrawn in place (carriage returns), not one line per update; ends full.
      expect(frames.length).toBeGreaterThan(5);
      expect(frames.at(-1)).toMatch(/\[#{30}\] 100 %/);
      const percents = frames.map((f) => Number(/(\d+) %/.exec(f)![1]));
      expect([...percents].sort((a, b) => a - b)).toEqual(percents);
    }
  }, 300_000);

  it('prints the offline optimum beside the run and how far the EMS is from it', () => {
    const { run, jsonPath } = once();
    expect(run.stdout).toMatch(/LP optimum/);
    expect(run.stdout).toMatch(/LP optimum \(perfect knowledge[^)]*\): EMS delivers \d+\.\d % of its energy/);
    const report = JSON.parse(readFileSync(jsonPath, 'utf8'));
    // The optimum is an upper bound on energy under the same limit; the EMS delivers something.
    expect(report.lpOptimum.energyDeliveredWh).toBeGreaterThanOrEqual(report.kpis.energyDeliveredWh);
    expect(report.kpis.energyDeliveredWh).toBeGreaterThan(0.5 * report.lpOptimum.energyDeliveredWh);
    expect(report.lpOptimum.limitViolations).toBe(0);
    expect(report.lpOptimum.note).toMatch(/perfect knowledge/);
  }, 300_000);

  it('writes an HTML report whose charts a browser draws: site power, the limit, and each session', async () => {
    const { run, htmlPath, jsonPath, sessions } = once();
    expect(run.stdout).toMatch(/charts written to/);
    const report = JSON.parse(readFileSync(jsonPath, 'utf8'));
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(pathToFileURL(htmlPath).href);
      expect(await page.locator('h1').textContent()).toBe(report.site.name);
      const svgs = page.locator('svg');
      expect(await svgs.count()).toBe(2);
      const drawn = async (svg: number) =>
        svgs.nth(svg).evaluate((el) =>
          Array.from(el.querySelectorAll('path')).map((p) => {
            const box = (p as SVGGraphicsElement).getBBox();
            return { width: box.width, height: box.height, d: p.getAttribute('d')!.length, title: p.querySelector('title')?.textContent ?? '' };
          }),
        );
      // Power chart: limit, site import, EV power; each spans the chart's width.
      const power = await drawn(0);
      expect(power).toHaveLength(3);
      for (const p of power) expect(p.width).toBeGreaterThan(500);
      // The import limit is a flat line (a fuse, no signals here); import and EV power move.
      expect(power[0].height).toBeLessThan(1);
      expect(power[1].height).toBeGreaterThan(10);
      // Energy chart: one rising line per session, named by its id.
      const energy = await drawn(1);
      expect(energy).toHaveLength(sessions);
      expect(new Set(energy.map((p) => p.title))).toEqual(new Set(report.sessions.map((s: { id: string }) => s.id)));
      for (const p of energy) expect(p.height).toBeGreaterThan(1);
      const table = await page.locator('pre').textContent();
      expect(table).toMatch(/LP optimum/);
    } finally {
      await browser.close();
    }
  }, 300_000);
});
