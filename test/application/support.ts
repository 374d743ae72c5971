import type { Actor, Deps } from '../../src/application/deps.js';
import { putProduct } from '../../src/application/catalog.js';
import { DomainError } from '../../src/domain/errors.js';
import type { TestApp } from '../helpers/app.js';
import { uid } from '../helpers/http.js';

/**
 * The use-case tests call the application layer directly with the deps the app is wired with
 * (real PGlite, providers' real SDKs against the emulators); no HTTP request is made. What they
 * assert is what outlives a call: rows of orders, transactions, stock and outbox, and the
 * emulator's own record of the money.
 */
export const customer = (): Actor => ({ sub: uid('buyer'), email: 'buyer@example.com', isAdmin: false });

export async function product(deps: Deps, price: number, stock: number | null = 5): Promise<string> {
  const id = uid('sku');
  await putProduct(deps, { id, name: id, price, currency: 'USD', active: true, stock });
  return id;
}

export async function stockOf(t: TestApp, productId: string): Promise<number | null> {
  const row = await t.db.selectFrom('products').select('stock').where('id', '=', productId).executeTakeFirstOrThrow();
  return row.stock;
}

export async function ordersOf(t: TestApp, userId: string) {
  return t.db.selectFrom('orders').selectAll().where('user_id', '=', userId).execute();
}

/** Outbox topics written for an order (emails and events), sorted. */
export async function messagesFor(t: TestApp, orderId: string): Promise<string[]> {
  const rows = await t.db.selectFrom('outbox').select(['topic', 'payload']).execute();
  return rows
    .filter(
      (r) =>
        (typeof r.payload === 'string' ? JSON.parse(r.payload) : (r.payload as { order_id?: string })).order_id ===
        orderId,
    )
    .map((r) => r.topic)
    .sort();
}

/** The DomainError a use case rejected with (fails the test when it resolved). */
export async function refusal(p: Promise<unknown>): Promise<DomainError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error('expected the use case to refuse');
}
