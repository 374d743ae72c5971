import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, orderBody, putProduct, type TestApp } from '../helpers/app.js';
import { bearer, getJson, stockOf, uid } from '../helpers/http.js';

/**
 * The sandbox's 3-D Secure page in Debian's Chromium against the real service on a real socket,
 * as a shop's customer meets it: the order is created with a return URL (the shop's page, served
 * here), the browser opens `next_action.url`, the customer clicks, and lands back at the shop with
 * the order placed (or, on *Fail*, cancelled).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('the sandbox 3-D Secure page in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let shop: Server;
  let shopUrl: string;
  const landed: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (Debian: apt-get install -y chromium)`);
    // The shop the customer comes back to: it only says thank you, and remembers who came.
    shop = createServer((req, res) => {
      landed.push(req.url ?? '');
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end('<!doctype html><title>Thank you</title><h1>Thank you for your order</h1>');
    });
    await new Promise<void>((resolve) => shop.listen(0, '127.0.0.1', resolve));
    shopUrl = `http://127.0.0.1:${(shop.address() as AddressInfo).port}`;
    const port = await freePort();
    t = await buildTestApp('postgres', {
      env: { PUBLIC_BASE_URL: `http://127.0.0.1:${port}` },
      listen: port,
      rateLimits: 'configured',
    });
    // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await new Promise((resolve) => shop?.close(resolve));
  });

  async function awaitingOrder(returnPath: string) {
    const sku = uid('sku_3ds');
    await putProduct(t, sku, { name: 'Wool scarf', price: 4200, stock: 5 });
    const token = await t.token(uid('customer'));
    const body = orderBody([{ product_id: sku, quantity: 1 }], 'pm_card_threeDSecureRequired');
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: bearer(token),
      payload: { ...body, payment: { ...body.payment, return_url: `${shopUrl}${returnPath}` } },
    });
    expect(res.statusCode, res.body).toBe(201);
    const order = res.json();
    expect(order).toMatchObject({ status: 'awaiting_payment', payment: { status: 'requires_action' } });
    return { sku, token, order };
  }

  async function answer(url: string, button: 'Complete' | 'Fail', returnPath: string) {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (/Content Security Policy/i.test(msg.text())) problems.push(`console: ${msg.text()}`);
    });
    const res = await page.goto(url);
    expect(res?.status()).toBe(200);
    await expect(page.getByRole('heading', { name: 'Sandbox 3-D Secure' }).isVisible()).resolves.toBe(true);
    await expect(page.getByText('$42.00').isVisible()).resolves.toBe(true);
    await Promise.all([page.waitForURL(`${shopUrl}${returnPath}`), page.getByRole('button', { name: button }).click()]);
    await expect(page.getByRole('heading', { name: 'Thank you for your order' }).isVisible()).resolves.toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  }

  it('create → open next_action.url → Complete → back at the return URL, the order placed', async () => {
    const { order, token, sku } = await awaitingOrder('/checkout/done?cart=7');
    await answer(order.payment.next_action.url, 'Complete', '/checkout/done?cart=7');
    expect(landed).toContain('/checkout/done?cart=7');
    const placed = (await getJson(t, token, `/api/orders/${order.id}`)).json();
    expect(placed).toMatchObject({
      status: 'pending',
      payment: { status: 'succeeded', amount_captured: 4200, next_action: null },
    });
    expect(await stockOf(t, sku)).toBe(4);
  });

  it('create → open next_action.url → Fail → back at the return URL, the order cancelled and its stock back', async () => {
    const { order, token, sku } = await awaitingOrder('/checkout/failed');
    await answer(order.payment.next_action.url, 'Fail', '/checkout/failed');
    const ended = (await getJson(t, token, `/api/orders/${order.id}`)).json();
    expect(ended).toMatchObject({ status: 'cancelled', payment: { status: 'failed' } });
    expect(await stockOf(t, sku)).toBe(5);
    // The page of a finished payment is gone.
    const page = await browser.newPage();
    expect((await page.goto(order.payment.next_action.url))?.status()).toBe(404);
    await page.close();
  });
});
