import { chromium } from 'playwright-core';
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
for (const [name, hash, wait] of [['post', '#/post', 1500], ['job', '#/jobs/1', 2500], ['workers', '#/workers', 1500], ['jobs', '#/', 1500]]) {
  await page.goto(`http://127.0.0.1:8080/${hash}`);
  await page.waitForTimeout(wait);
  await page.screenshot({ path: `/tmp/shot-${name}.png`, fullPage: true });
}
await browser.close();
