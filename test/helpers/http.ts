import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { TestApp } from './app.js';
import { orderBody, putProduct } from './app.js';

/** Light-my-request's response, as much of it as the contract tests read. */
export interface InjectResponse {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
  json: () => any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** A unique id for one test's products/users: the PostgreSQL schema is shared by a whole file. */
export function uid(prefix = 'x'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * Asserts an RFC 9457 problem response with the contract's members, and that
 * `request_id` is the response's `X-Request-Id`. Returns the body.
 */
export function expectProblem(res: InjectResponse, status: number, code: string) {
  expect({ status: res.statusCode, body: res.body }).toMatchObject({ status });
  expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
  const body = res.json();
  expect(body).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status,
    detail: expect.any(String),
    code,
  });
  expect(body.request_id).toBeTypeOf('string');
  expect(body.request_id).toBe(res.headers['x-request-id']);
  return body;
}

/** A 422 problem whose `errors` name the given JSON Pointer(s). */
export function expectValidation(res: InjectResponse, ...paths: string[]) {
  const body = expectProblem(res, 422, 'validation_error');
  expect(Array.isArray(body.errors)).toBe(true);
  const got = (body.errors as { path: string; message: string }[]).map((e) => e.path);
  for (const p of paths) expect(got).toContain(p);
  for (const e of body.errors) expect(e.message).toBeTypeOf('string');
  return body;
}

export async function createOrder(
  t: TestApp,
  token: string,
  payload: unknown,
  headers: Record<string, string> = {},
  url = '/api/orders/create',
): Promise<InjectResponse> {
  return t.app.inject({ method: 'POST', url, headers: { ...bearer(token), ...headers }, payload: payload as object });
}

export async function getJson(t: TestApp, token: string, url: string): Promise<InjectResponse> {
  return t.app.inject({ method: 'GET', url, headers: bearer(token) });
}

/** A fresh product (unique id) and a placed order for `sub` on it; returns both. */
export async function placedOrder(
  t: TestApp,
  sub: string,
  opts: { price?: number; stock?: number | null; quantity?: number; provider?: string } = {},
) {
  const productId = uid('sku');
  await putProduct(t, productId, { price: opts.price ?? 1000, stock: opts.stock === undefined ? 10 : opts.stock });
  const token = await t.token(sub);
  const body = orderBody([{ product_id: productId, quantity: opts.quantity ?? 1 }]);
  if (opts.provider) body.payment.provider = opts.provider;
  const res = await createOrder(t, token, body);
  if (res.statusCode !== 201) throw new Error(`placedOrder: ${res.statusCode} ${res.body}`);
  return { productId, token, order: res.json() as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function stockOf(t: TestApp, productId: string): Promise<number | null> {
  const res = await getJson(t, await t.adminToken(), `/api/products/${productId}`); // admins see inactive products too
  if (res.statusCode !== 200) throw new Error(`stockOf ${productId}: ${res.statusCode} ${res.body}`);
  return res.json().stock;
}

/** Every order row for a user, straight from the database (what no HTTP view can hide). */
export async function orderCount(t: TestApp, userId: string): Promise<number> {
  const r = await t.db
    .selectFrom('orders')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}
