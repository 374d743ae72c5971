import { once } from 'node:events';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { chromium, type Browser, type Page, type Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureConsoleBuilt } from '../../scripts/build-console.js';
import { buildTestApp, orderBody, putProduct, type TestApp } from '../helpers/app.js';
import { createOrder, uid } from '../helpers/http.js';

/**
 * The console's sign-in in Debian's Chromium against the service's development OpenID provider:
 * sign in, act, let the access token expire (4-second tokens here), act again with no
 * interruption, a 401 renewed and resent once, a revoked refresh token back to the sign-in with
 * the typed refund still there, sign out at the provider. Everything the page loads or calls is on
 * the service's origin (the CSP allows nothing else).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// docs/console-sign-in.png is refreshed with SIGN_IN_SCREENSHOT=docs/console-sign-in.png.
const SCREENSHOT = process.env.SIGN_IN_SCREENSHOT ?? 'test-results/console-sign-in.png';
const TTL_SECONDS = 4;
const SESSION_KEY = 'order-api-console-session';

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as { exp: number; sub: string; roles?: string[] };

describe('console sign-in with OpenID Connect (development provider) in Chromium', () => {
  let t: TestApp;
  let url: string;
  let browser: Browser;
  let orderId: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (Debian: apt-get install -y chromium)`);
    await ensureConsoleBuilt();
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    t = await buildTestApp('postgres', {
      env: { PUBLIC_BASE_URL: url, DEV_IDP_ACCESS_TOKEN_TTL_SECONDS: String(TTL_SECONDS) },
      listen: port,
      rateLimits: 'configured',
    });
    const sku = uid('sku_lamp');
    await putProduct(t, sku, { name: 'Desk lamp', price: 4000, stock: 50 });
    const customer = await t.token(uid('customer'));
    orderId = (await createOrder(t, customer, orderBody([{ product_id: sku, quantity: 2 }], 'pm_card_visa'))).json().id;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  /** A fresh tab that records what it sends, and anything the CSP or the origin rule would not allow. */
  async function open() {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    const sent: Request[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (/Content Security Policy/i.test(msg.text())) problems.push(`console: ${msg.text()}`);
    });
    page.on('request', (r) => {
      sent.push(r);
      if (!r.url().startsWith(url)) problems.push(`outside request: ${r.url()}`);
    });
    return { page, problems, sent, context };
  }

  async function signIn(page: Page, username: string) {
    await page.goto(`${url}/admin`);
    await page.getByRole('button', { name: 'Sign in with the identity provider' }).click();
    await page.getByLabel('User name').waitFor();
    await page.getByLabel('User name').fill(username);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('who').waitFor();
  }

  const ledgerHas = (page: Page, text: string) => page.getByTestId('ledger').locator('tbody tr', { hasText: text });
  async function refund(page: Page, amount: string) {
    await page.getByLabel(/Amount in minor units/).fill(amount);
    await page.getByRole('button', { name: 'Refund' }).click();
  }
  const bearerOf = (r: Request) => (r.headers().authorization ?? '').replace(/^Bearer /, '');

  it('signs in at the provider, opens on the newest orders, acts, and renews before expiry with no interruption', async () => {
    const { page, problems, sent, context } = await open();
    const res = await page.goto(`${url}/admin`);
    const csp = res?.headers()['content-security-policy'] ?? '';
    expect(csp).toMatch(/connect-src 'self';/); // the provider is the service itself: nothing else is allowed
    expect(csp).toMatch(/script-src 'self';/);

    await page.getByRole('button', { name: 'Sign in with the identity provider' }).click();
    await page.getByLabel('User name').waitFor();
    expect(page.url()).toMatch(new RegExp(`^${url}/dev-idp/interaction/`));
    await page.getByLabel('User name').fill('Ada Lovelace');
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
    await page.getByRole('button', { name: 'Sign in' }).click();

    // Back at the console: who is signed in, when the session renews, and the newest orders at once.
    await expect
      .poll(() => page.getByTestId('who').textContent(), { timeout: 15_000 })
      .toMatch(/Signed in as Ada Lovelace · session renews at \d\d:\d\d:\d\d/);
    expect(page.url()).toBe(`${url}/admin`); // no code or state left in the address bar
    const rows = page.locator('tbody tr');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBeGreaterThan(0);
    expect(await rows.first().textContent()).toContain(orderId.slice(0, 8));
    const storage = await page.evaluate(() => ({ local: localStorage.length, keys: Object.keys(sessionStorage) }));
    expect(storage).toEqual({ local: 0, keys: expect.arrayContaining([SESSION_KEY]) });
    expect((await context.cookies()).filter((c) => /token/i.test(c.value) || c.value.split('.').length === 3)).toEqual(
      [],
    );

    // Act: a refund, with the provider's access token.
    await page.getByRole('link', { name: new RegExp(orderId) }).click();
    await refund(page, '100');
    await expect.poll(() => ledgerHas(page, '$1.00').count(), { timeout: 10_000 }).toBe(1);
    const firstToken = bearerOf(sent.filter((r) => r.method() === 'POST').at(-1)!);
    expect(claimsOf(firstToken)).toMatchObject({ sub: 'Ada Lovelace', roles: ['admin'] });
    const renewsBefore = await page.getByTestId('renews').textContent();

    // The access token expires; the console has renewed it before that (rotating the refresh token).
    await page.waitForTimeout((TTL_SECONDS + 1) * 1000);
    expect(await page.getByTestId('renews').textContent()).not.toBe(renewsBefore);
    await refund(page, '200');
    await expect.poll(() => ledgerHas(page, '$2.00').count(), { timeout: 10_000 }).toBe(1);
    const post = sent.filter((r) => r.method() === 'POST' && r.url().endsWith('/refunds')).at(-1)!;
    const renewedToken = bearerOf(post);
    expect(renewedToken).not.toBe(firstToken);
    expect(claimsOf(renewedToken).exp * 1000).toBeGreaterThan(Date.now() - 1000); // it was not an expired one
    expect(await (await post.response())!.status()).toBe(201);
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(sent.filter((r) => r.url().endsWith('/dev-idp/token')).length).toBeGreaterThanOrEqual(2); // the code, then renewals
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);

  it('a 401 on a refund renews the token and sends the same request once more, with the same Idempotency-Key', async () => {
    const { page, problems, sent, context } = await open();
    await signIn(page, 'Grace Hopper');
    await page.goto(`${url}/admin#/orders/${orderId}`);
    await page.getByTestId('order-status').waitFor();
    // The stored access token stops being good (as one that expired a moment ago, or under a retired key).
    await page.evaluate((key) => {
      const s = JSON.parse(sessionStorage.getItem(key)!);
      sessionStorage.setItem(key, JSON.stringify({ ...s, access_token: s.access_token.slice(0, -4) + 'AAAA' }));
    }, SESSION_KEY);
    await refund(page, '300');
    await expect.poll(() => ledgerHas(page, '$3.00').count(), { timeout: 10_000 }).toBe(1);
    const posts = sent.filter((r) => r.method() === 'POST' && r.url().endsWith('/refunds'));
    expect(posts).toHaveLength(2);
    expect([(await posts[0]!.response())!.status(), (await posts[1]!.response())!.status()]).toEqual([401, 201]);
    expect(posts[1]!.headers()['idempotency-key']).toBe(posts[0]!.headers()['idempotency-key']);
    expect(posts[1]!.postData()).toBe(posts[0]!.postData());
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  it('a revoked refresh token sends the user back to sign-in, and what they typed is still there after it', async () => {
    const { page, problems, context } = await open();
    await signIn(page, 'Margaret Hamilton');
    await page.goto(`${url}/admin#/orders/${orderId}`);
    await page.getByTestId('order-status').waitFor();
    await page.getByLabel(/Amount in minor units/).fill('777');
    await page.getByLabel('Reason', { exact: true }).last().fill('goodwill, late delivery');

    const refreshToken = await page.evaluate(
      (key) => JSON.parse(sessionStorage.getItem(key)!).refresh_token as string,
      SESSION_KEY,
    );
    const revoked = await fetch(`${url}/dev-idp/token/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: refreshToken, client_id: 'order-console' }),
    });
    expect(revoked.status).toBe(200);

    // At its renewal time the provider refuses: the console returns to its sign-in.
    await expect
      .poll(() => page.getByRole('status').textContent(), { timeout: (TTL_SECONDS + 5) * 1000 })
      .toMatch(/Your session has ended: sign in again/);
    expect(await page.getByTestId('who').count()).toBe(0);
    await page.getByRole('button', { name: 'Sign in with the identity provider' }).click();
    // The provider still knows this browser (its own session): straight back, on the same order.
    await page.getByTestId('order-status').waitFor({ timeout: 15_000 });
    expect(await page.getByLabel(/Amount in minor units/).inputValue()).toBe('777');
    expect(await page.getByLabel('Reason', { exact: true }).last().inputValue()).toBe('goodwill, late delivery');
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  it('signs out: the tab forgets everything and the provider ends its session', async () => {
    const { page, problems, context } = await open();
    await signIn(page, 'Barbara Liskov');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Yes, sign me out' }).click(); // the provider's end-session confirmation
    await page.getByRole('button', { name: 'Sign in with the identity provider' }).waitFor();
    expect(page.url()).toBe(`${url}/admin`);
    expect(await page.evaluate(() => ({ session: sessionStorage.length, local: localStorage.length }))).toEqual({
      session: 0,
      local: 0,
    });
    // Signing in again asks who you are: the provider's session is over too.
    await page.getByRole('button', { name: 'Sign in with the identity provider' }).click();
    await page.getByLabel('User name').waitFor();
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  it('refuses an answer with a forged state: no code is redeemed', async () => {
    const { page, problems, sent, context } = await open();
    await page.goto(`${url}/admin`);
    await page.getByRole('button', { name: 'Sign in with the identity provider' }).click();
    await page.getByLabel('User name').waitFor();
    // Another tab's (or an attacker's) answer arriving here: state and code that this tab never asked for.
    await page.goto(`${url}/admin?code=forged-code&state=forged-state&iss=${encodeURIComponent(`${url}/dev-idp`)}`);
    await expect
      .poll(() => page.getByRole('alert').first().textContent(), { timeout: 10_000 })
      .toMatch(/Sign-in failed.*state does not match/);
    expect(sent.filter((r) => r.url().endsWith('/dev-idp/token'))).toEqual([]);
    expect(await page.getByTestId('who').count()).toBe(0);
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);
});
