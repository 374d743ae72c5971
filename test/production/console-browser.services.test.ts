import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureConsoleBuilt } from '../../scripts/build-console.js';
import { buildTestApp, orderBody, putProduct, type TestApp } from '../helpers/app.js';
import { createOrder, stockOf, uid } from '../helpers/http.js';

/**
 * The support console (/admin) in Debian's Chromium against the real service on a real socket,
 * driven with the keyboard only for the main flow: sign in, search by email, open the order, move
 * it to processing then shipped with a tracking number, and watch the history change; then partial
 * cancels, refunds and returns, each seen in the ledger.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = process.env.CONSOLE_SCREENSHOT ?? 'test-results/console-order.png';
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

describe('/admin console in Chromium', () => {
  let t: TestApp;
  let url: string;
  let browser: Browser;
  const email = `${uid('mug.buyer')}@example.com`;
  let first: { id: string };
  let second: { id: string };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (Debian: apt-get install -y chromium)`);
    await ensureConsoleBuilt();
    t = await buildTestApp('postgres', { listen: true, rateLimits: 'configured' });
    url = t.url;
    const sku = uid('sku_mug');
    await putProduct(t, sku, { name: 'Blue mug', price: 1250, stock: 50 });
    const customer = await t.token(uid('customer'));
    first = (
      await createOrder(t, customer, orderBody([{ product_id: sku, quantity: 1 }], 'pm_card_visa', { email }))
    ).json();
    second = (
      await createOrder(t, customer, orderBody([{ product_id: sku, quantity: 3 }], 'pm_card_visa', { email }))
    ).json();
    // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function openConsole() {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (/Content Security Policy/i.test(msg.text())) problems.push(`console: ${msg.text()}`);
    });
    // Everything the page loads comes from the service itself.
    page.on('request', (r) => {
      if (!r.url().startsWith(url)) problems.push(`outside request: ${r.url()}`);
    });
    const res = await page.goto(`${url}/admin`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toMatch(/script-src 'self'(;|$)/);
    return { page, problems };
  }

  /** Tab until `target` has the focus (keyboard only), and check the focus is visible. */
  async function tabTo(page: Page, target: Locator) {
    for (let n = 0; n < 60; n++) {
      if (
        await target.evaluate(
          (el) => el === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement,
        )
      ) {
        const outline = await target.evaluate(
          (el) =>
            (globalThis as unknown as { getComputedStyle: (e: unknown) => { outlineStyle: string } }).getComputedStyle(
              el,
            ).outlineStyle,
        );
        expect(outline, 'focus is visible').not.toBe('none');
        return;
      }
      await page.keyboard.press('Tab');
    }
    throw new Error(`could not reach ${target} with Tab`);
  }

  async function axe(page: Page) {
    await page.evaluate(axeSource);
    const result = await page.evaluate(async () => {
      const r = await (
        globalThis as unknown as {
          axe: { run: () => Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> };
        }
      ).axe.run();
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
    });
    expect(result.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
  }

  it('a bad token shows the 401 problem', async () => {
    const { page, problems } = await openConsole();
    await tabTo(page, page.getByLabel('Bearer token'));
    await page.keyboard.type('not-a-token');
    await tabTo(page, page.getByRole('button', { name: 'Sign in' }));
    await page.keyboard.press('Enter');
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent(), { timeout: 10_000 }).toMatch(/Invalid token/);
    expect(await alert.textContent()).toMatch(/401 invalid_token/);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  it('sign in, search by email, open the order, process and ship it with tracking: the history follows', async () => {
    const { page, problems } = await openConsole();
    await tabTo(page, page.getByLabel('Bearer token'));
    await page.keyboard.type(await t.adminToken());
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Search orders' }).waitFor();
    // The token lives in this tab's session storage only.
    expect(await page.evaluate(() => ({ session: sessionStorage.length, local: localStorage.length }))).toEqual({
      session: 1,
      local: 0,
    });
    await axe(page);

    await tabTo(page, page.getByLabel('Email (exact)'));
    await page.keyboard.type(email.toUpperCase());
    await page.keyboard.press('Enter');
    const rows = page.locator('tbody tr');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(2);
    expect(await rows.first().textContent()).toContain(second.id.slice(0, 8)); // newest first
    await axe(page);

    await tabTo(page, page.getByRole('link', { name: new RegExp(first.id) }));
    await page.keyboard.press('Enter');
    const status = page.getByTestId('order-status');
    await expect.poll(() => status.textContent(), { timeout: 10_000 }).toBe('pending');

    await tabTo(page, page.getByRole('button', { name: 'Mark as processing' }));
    await page.keyboard.press('Enter');
    await expect.poll(() => status.textContent(), { timeout: 10_000 }).toBe('processing');

    await tabTo(page, page.getByLabel('Carrier'));
    await page.keyboard.type('UPS');
    await tabTo(page, page.getByLabel('Tracking number'));
    await page.keyboard.type('1Z999AA10123456784');
    await page.keyboard.press('Enter');
    await expect.poll(() => status.textContent(), { timeout: 10_000 }).toBe('shipped');
    expect(await page.getByTestId('tracking').textContent()).toBe('UPS 1Z999AA10123456784');
    const history = page.getByTestId('history').locator('li');
    await expect
      .poll(() => history.allTextContents())
      .toEqual([
        expect.stringMatching(/^pending/),
        expect.stringMatching(/^processing · .* by admin/),
        expect.stringMatching(/^shipped · .* by admin/),
      ]);
    // The service agrees.
    const got = await t.app.inject({
      method: 'GET',
      url: `/api/orders/${first.id}`,
      headers: { authorization: `Bearer ${await t.adminToken()}` },
    });
    expect(got.json()).toMatchObject({ status: 'shipped', tracking: { carrier: 'UPS', number: '1Z999AA10123456784' } });

    await axe(page);
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);

  /** POSTs the page sends, with their Idempotency-Key: a double click must be one request. */
  function recordPosts(page: Page) {
    const sent: { path: string; key: string | undefined; body: string | null }[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST')
        sent.push({ path: new URL(r.url()).pathname, key: r.headers()['idempotency-key'], body: r.postData() });
    });
    return sent;
  }

  async function signInAt(page: Page, orderId: string) {
    await page.getByLabel('Bearer token').fill(await t.adminToken());
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Search orders' }).waitFor();
    await page.goto(`${url}/admin#/orders/${orderId}`);
    await page.getByTestId('order-status').waitFor();
  }

  /** The ledger table's rows as `kind amount status`, oldest first. */
  async function ledgerRows(page: Page) {
    const rows = page.getByTestId('ledger').locator('tbody tr');
    const out: string[] = [];
    for (const row of await rows.all()) {
      const cells = await row.locator('td').allTextContents();
      out.push(`${cells[1]} ${cells[2]} ${cells[3]}`);
    }
    return out;
  }

  it('partial cancel, then a refund by hand: the ledger changes, each action sent once per intent', async () => {
    const { page, problems } = await openConsole();
    await signInAt(page, second.id);
    const sent = recordPosts(page);
    expect(await ledgerRows(page)).toEqual(['authorization $37.50 succeeded', 'capture $37.50 succeeded']);

    // One of the three mugs: a double click is one cancel, and that unit's $12.50 goes back.
    await page.getByLabel(/Units of Blue mug to cancel/).fill('1');
    await page.getByRole('button', { name: 'Cancel these units' }).dblclick();
    const cancelledCell = page.locator('tbody tr').first().locator('td').nth(2);
    await expect.poll(() => cancelledCell.textContent(), { timeout: 10_000 }).toBe('1');
    await expect.poll(() => ledgerRows(page), { timeout: 10_000 }).toContain('refund $12.50 succeeded');
    const cancels = sent.filter((s) => s.path.endsWith('/cancel'));
    expect(cancels).toHaveLength(1);
    expect(JSON.parse(cancels[0]!.body ?? '{}')).toEqual({ items: [{ product_id: expect.any(String), quantity: 1 }] });
    expect(await page.getByTestId('order-status').textContent()).toBe('pending');

    // A goodwill refund of $5.00: one request for a double click, with an Idempotency-Key.
    await page.getByLabel(/Amount in minor units/).fill('500');
    await page.getByRole('button', { name: 'Refund' }).dblclick();
    await expect.poll(() => ledgerRows(page), { timeout: 10_000 }).toContain('refund $5.00 succeeded');
    const refunds = sent.filter((s) => s.path.endsWith('/refunds'));
    expect(refunds).toHaveLength(1);
    expect(refunds[0]!.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(refunds[0]!.body ?? '{}')).toEqual({ amount: 500 });

    // More than is left is the service's 422, its title and detail shown where the user acted.
    await page.getByLabel(/Amount in minor units/).fill('999999');
    await page.getByRole('button', { name: 'Refund' }).click();
    const refundForm = page.locator('form', { has: page.getByRole('heading', { name: 'Refund' }) });
    await expect
      .poll(() => refundForm.getByRole('alert').textContent(), { timeout: 10_000 })
      .toMatch(/422 refund_exceeds_captured/);

    // The service agrees: $37.50 captured, $17.50 back, $25.00 still owed for two mugs.
    const admin = { authorization: `Bearer ${await t.adminToken()}` };
    const order = (await t.app.inject({ method: 'GET', url: `/api/orders/${second.id}`, headers: admin })).json();
    expect(order).toMatchObject({
      current_total: 2500,
      payment: { amount_captured: 3750, amount_refunded: 1750, status: 'partially_refunded' },
    });
    await axe(page);
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);

  it("a delivered order's returns: one received (refunded, restocked), one rejected", async () => {
    const admin = { authorization: `Bearer ${await t.adminToken()}` };
    const customer = await t.token(uid('returner'));
    const sku = uid('sku_lamp');
    await putProduct(t, sku, { name: 'Desk lamp', price: 4000, stock: 10 });
    const order = (
      await createOrder(t, customer, orderBody([{ product_id: sku, quantity: 2 }], 'pm_card_visa', { email }))
    ).json();
    for (const status of ['processing', 'shipped', 'delivered']) {
      const moved = await t.app.inject({
        method: 'POST',
        url: `/api/orders/${order.id}/status`,
        headers: admin,
        payload: { status },
      });
      expect(moved.statusCode).toBe(200);
    }
    const requestReturn = (reason: string) =>
      t.app.inject({
        method: 'POST',
        url: `/api/orders/${order.id}/returns`,
        headers: { authorization: `Bearer ${customer}` },
        payload: { items: [{ product_id: sku, quantity: 1 }], reason },
      });
    expect((await requestReturn('too bright')).statusCode).toBe(201);
    expect((await requestReturn('changed my mind')).statusCode).toBe(201);

    const { page, problems } = await openConsole();
    await signInAt(page, order.id);
    const returns = page.locator('section', { has: page.getByRole('heading', { name: 'Returns' }) }).locator('li');
    await expect.poll(() => returns.count(), { timeout: 10_000 }).toBe(2);

    await returns.nth(0).getByRole('button', { name: 'Receive' }).dblclick();
    await expect.poll(() => returns.nth(0).locator('strong').textContent(), { timeout: 10_000 }).toBe('received');
    await expect.poll(() => ledgerRows(page), { timeout: 10_000 }).toContain('refund $40.00 succeeded');
    await returns.nth(1).getByLabel('Note').fill('used, not returnable');
    await returns.nth(1).getByRole('button', { name: 'Reject' }).click();
    await expect.poll(() => returns.nth(1).locator('strong').textContent(), { timeout: 10_000 }).toBe('rejected');
    expect(await page.locator('tbody tr').first().locator('td').nth(3).textContent()).toBe('1'); // returned

    const after = (await t.app.inject({ method: 'GET', url: `/api/orders/${order.id}`, headers: admin })).json();
    expect(after).toMatchObject({ current_total: 4000, payment: { amount_refunded: 4000 } });
    const refunds = (await t.app.inject({ method: 'GET', url: `/api/orders/${order.id}/payments`, headers: admin }))
      .json()
      .items.filter((e: { kind: string }) => e.kind === 'refund');
    expect(refunds).toHaveLength(1); // the double click received it once
    expect(await stockOf(t, sku)).toBe(9); // restocked: 10 − 2 + 1
    await axe(page);
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);

  it('lists dead outbox messages with a retry', async () => {
    const { page, problems } = await openConsole();
    await page.getByLabel('Bearer token').fill(await t.adminToken());
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Dead messages' }).click();
    await page.getByRole('heading', { name: 'Dead outbox messages' }).waitFor();
    await page
      .getByText(/No dead message|Retry/)
      .first()
      .waitFor();
    await axe(page);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
  it('an order awaiting its payment: the console shows until when it waits, and support cancels it', async () => {
    const waitingEmail = `${uid('waiting.buyer')}@example.com`;
    const sku = uid('sku_scarf');
    await putProduct(t, sku, { name: 'Scarf', price: 3000, stock: 4 });
    const body = orderBody([{ product_id: sku, quantity: 1 }], 'pm_card_threeDSecureRequired', { email: waitingEmail });
    const created = await createOrder(t, await t.token(uid('customer')), {
      ...body,
      payment: { ...body.payment, return_url: 'https://shop.example/back' },
    });
    const waiting = created.json();
    expect(waiting.status).toBe('awaiting_payment');

    const { page, problems } = await openConsole();
    await page.getByLabel('Bearer token').fill(await t.adminToken());
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Search orders' }).waitFor();
    await page.getByLabel('Email (exact)').fill(waitingEmail);
    await page.keyboard.press('Enter');
    await page.getByRole('link', { name: new RegExp(waiting.id) }).click();
    const status = page.getByTestId('order-status');
    await expect.poll(() => status.textContent(), { timeout: 10_000 }).toBe('awaiting_payment');
    expect(await page.getByTestId('next-action').textContent()).toMatch(
      /Waiting for the customer to complete the payment until/,
    );
    await axe(page);
    await page.getByRole('button', { name: 'Cancel the waiting order' }).click();
    await expect.poll(() => status.textContent(), { timeout: 10_000 }).toBe('cancelled');
    expect(await stockOf(t, sku)).toBe(4);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
});
