// Front-end development only: log in and screenshot every page at desktop and phone width.
//   node --import tsx dashboard/dev/screens.ts http://127.0.0.1:8099 admin admin [outDir]
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const [base = 'http://127.0.0.1:8099', user = 'admin', password = 'admin', outDir = 'test-artifacts/dev'] = process.argv.slice(2);
mkdirSync(outDir, { recursive: true });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  for (const [name, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 390, height: 844 }]] as const) {
    const page = await browser.newPage({ viewport });
    page.on('console', (m) => process.stdout.write(`[console ${m.type()}] ${m.text()}\n`));
    page.on('pageerror', (e) => process.stdout.write(`[pageerror] ${e.message}\n`));
    await page.goto(`${base}/`);
    await page.getByLabel('Username').fill(user);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('[data-connector]').first().waitFor();
    for (const route of ['', 'history', 'sessions', 'events', 'settings']) {
      await page.goto(`${base}/#/${route}`);
      await page.waitForTimeout(800);
      const overflow = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
      process.stdout.write(`${name} ${route || 'overview'}: scrollWidth ${overflow[0]} clientWidth ${overflow[1]}\n`);
      await page.screenshot({ path: `${outDir}/${name}-${route || 'overview'}.png`, fullPage: true });
      await page.screenshot({ path: `${outDir}/${name}-${route || 'overview'}-top.png` });
    }
    await page.close();
  }
} finally {
  await browser.close();
}
