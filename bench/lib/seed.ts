import { SignJWT } from 'jose';
import { DEEP_USER, emailOf, productId, productPrice, userId } from './fixtures.js';

/** Bearer tokens for the bench users, signed once with the service's JWT_SECRET. */
export async function mintTokens(
  secret: string,
  users: number,
): Promise<{ admin: string; users: Map<string, string> }> {
  const key = new TextEncoder().encode(secret);
  const sign = (sub: string, roles: string[] = []) =>
    new SignJWT({ email: emailOf(sub), roles })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime('24h')
      .sign(key);
  const map = new Map<string, string>();
  for (let n = 1; n <= users; n++) map.set(userId(n), await sign(userId(n)));
  map.set(DEEP_USER, await sign(DEEP_USER));
  return { admin: await sign('bench-admin', ['admin']), users: map };
}

/** Runs `fn` over 0..count-1 with at most `width` in flight. */
async function parallel(count: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, count) }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}

async function call(baseUrl: string, method: string, path: string, token: string, body?: unknown): Promise<unknown> {
  const res = await fetch(baseUrl + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text) as unknown;
}

/** The catalog, through the admin route: numeric SKUs with a large stock, so every order locks its product rows. */
export async function seedCatalog(baseUrl: string, adminToken: string, products: number): Promise<void> {
  await parallel(products, 16, async (i) => {
    const k = i + 1;
    await call(baseUrl, 'PUT', `/api/products/${productId(k)}`, adminToken, {
      name: `Product ${k}`,
      price: productPrice(k),
      currency: 'USD',
      active: true,
      stock: 1_000_000_000,
    });
  });
}

/** Where the customer comes back after the sandbox's 3-D Secure page (nothing listens: the bench never follows it). */
const BENCH_RETURN_URL = 'http://127.0.0.1/bench-return';

/**
 * A create body: 1–3 distinct products, 1–3 of each, the sandbox card that succeeds — or, `awaiting`,
 * the card that needs 3-D Secure with a return URL, so the order waits for its customer.
 */
export function orderBody(products: number, rnd: () => number = Math.random, awaiting = false): string {
  const n = 1 + Math.floor(rnd() * 3);
  const picked = new Set<number>();
  while (picked.size < n) picked.add(1 + Math.floor(rnd() * products));
  return JSON.stringify({
    items: [...picked].map((k) => ({ product_id: productId(k), quantity: 1 + Math.floor(rnd() * 3) })),
    currency: 'USD',
    payment: awaiting
      ? { provider: 'sandbox', source: 'pm_card_threeDSecureRequired', return_url: BENCH_RETURN_URL }
      : { provider: 'sandbox', source: 'pm_card_visa' },
  });
}

export interface SeededOrder {
  id: string;
  user_id: string;
  [k: string]: unknown;
}

/** Every bench user places a first order through the API (this also warms the create path up). */
export async function seedUsers(
  baseUrl: string,
  tokens: Map<string, string>,
  products: number,
): Promise<SeededOrder[]> {
  const users = [...tokens.entries()].filter(([sub]) => sub !== DEEP_USER); // the deep user's orders come from SQL only
  const orders: SeededOrder[] = [];
  await parallel(users.length, 16, async (i) => {
    const [, token] = users[i] as [string, string];
    orders.push((await call(baseUrl, 'POST', '/api/orders', token, JSON.parse(orderBody(products)))) as SeededOrder);
  });
  return orders;
}

/**
 * Orders waiting for their customer, made through the API before the run: the sandbox keeps a waiting
 * payment in the service's memory, so SQL fixtures cannot stand in for them. Returns their transaction ids.
 */
export async function seedAwaiting(
  baseUrl: string,
  tokens: Map<string, string>,
  products: number,
  count: number,
): Promise<string[]> {
  const users = [...tokens.entries()].filter(([sub]) => sub !== DEEP_USER);
  const ids: string[] = [];
  await parallel(count, 32, async (i) => {
    const [, token] = users[i % users.length] as [string, string];
    const order = (await call(
      baseUrl,
      'POST',
      '/api/orders',
      token,
      JSON.parse(orderBody(products, Math.random, true)),
    )) as SeededOrder & {
      status: string;
      payment: { transaction_id: string };
    };
    if (order.status !== 'awaiting_payment')
      throw new Error(`expected an order awaiting its payment, got ${order.status}`);
    ids.push(order.payment.transaction_id);
  });
  return ids;
}
