import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, putProduct, type TestApp } from '../helpers/app.js';
import { runScratch } from '../helpers/run-scratch.js';

/**
 * The /docs page in a real browser: Debian's Chromium driven by playwright-core (never a downloaded
 * browser). A person opens the page, authorizes with a token, finds "create an order", tries it out
 * and gets 201, with the service's security headers (CSP included) in force.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('/docs in Chromium', () => {
  let t: TestApp;
  let url: string;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (Debian: apt-get install -y chromium)`);
    t = await buildTestApp('postgres', { listen: true, rateLimits: 'configured' });
    url = t.url;
    await putProduct(t, 'sku_docs_mug', { name: 'Docs mug', price: 1200, stock: 5 });
    // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('authorize, find the create-order operation, execute it: 201 and the order exists', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' || /Content Security Policy/i.test(msg.text()))
        problems.push(`console: ${msg.text()}`);
    });

    await page.goto(`${url}/docs`);
    const operation = page.locator('.opblock.opblock-post', {
      has: page.locator('.opblock-summary-path[data-path="/api/orders/create"]'),
    });
    await operation.waitFor({ timeout: 20_000 });

    // Authorize: the bearerAuth scheme's dialog.
    const token = await t.token('browser-user');
    await page.locator('.scheme-container button.authorize').click();
    const dialog = page.locator('.modal-ux');
    await dialog.locator('input[type="text"], input[type="password"]').first().fill(token);
    await dialog.locator('.auth-btn-wrapper button.authorize').click();
    await dialog.locator('button.btn-done').click();

    // Try it out with a body a person would type.
    await operation.locator('.opblock-summary').first().click();
    await operation.locator('button.try-out__btn').click();
    const body = {
      items: [{ product_id: 'sku_docs_mug', quantity: 2 }],
      currency: 'USD',
      payment: { provider: 'sandbox', source: 'pm_card_visa' },
    };
    await operation.locator('textarea.body-param__text').fill(JSON.stringify(body, null, 2));
    await operation.locator('button.execute').click();

    const status = operation.locator('.live-responses-table tbody .response-col_status').first();
    await expect.poll(async () => (await status.textContent())?.trim(), { timeout: 15_000 }).toBe('201');
    const responseBody = await operation
      .locator('.live-responses-table tbody .response-col_description pre')
      .first()
      .textContent();
    const order = JSON.parse(responseBody ?? '{}');
    expect(order).toMatchObject({ user_id: 'browser-user', status: 'pending', total: 2400 });

    // The service really placed it, and the page ran with no script or CSP error.
    const got = await t.app.inject({
      method: 'GET',
      url: `/api/orders/${order.id}`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(got.statusCode).toBe(200);
    await page.screenshot({
      path: process.env.DOCS_SCREENSHOT ?? join(runScratch(), 'order-api-docs.png'),
      fullPage: false,
    });
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
});
