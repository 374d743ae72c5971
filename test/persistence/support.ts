import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, expect } from 'vitest';
import type { Order } from '../../src/domain/order.js';
import { createDb, type DbHandle } from '../../src/persistence/db.js';
import type { KeyClaim } from '../../src/persistence/idempotency-repository.js';
import { migrateToLatest } from '../../src/persistence/migrations/index.js';
import { upsertProduct } from '../../src/persistence/product-repository.js';
import { reserveOrder } from '../../src/persistence/reservation.js';
import { settleNewOrder } from '../../src/persistence/settlement.js';
import type { Database } from '../../src/persistence/tables.js';
import type { NewTransaction } from '../../src/persistence/transaction-repository.js';
import { databaseUrlFor, type DatabaseKind } from '../helpers/db.js';
import { uid } from '../helpers/http.js';

/** The repository tests' clock. */
export const NOW = new Date('2026-03-01T12:00:00.000Z');

/**
 * A migrated database of `kind` for a describe block of repository tests (test/persistence/*.db.test.ts):
 * opened in its beforeAll (handed to `opened`, for the tests to call repositories on) and closed in its
 * afterAll; with the rows those tests start from, written through the repositories themselves.
 */
export function repositoryFixtures(kind: DatabaseKind, opened: (db: Kysely<Database>) => void) {
  let handle: DbHandle;
  let drop: () => Promise<void>;
  let db: Kysely<Database>;

  beforeAll(async () => {
    const target = await databaseUrlFor(kind);
    drop = target.drop;
    handle = await createDb({ url: target.url, poolSize: 5, statementTimeoutMs: 10_000, pglite: target.pglite });
    db = handle.db;
    await migrateToLatest(db as never);
    opened(db);
  });
  afterAll(async () => {
    await handle?.close();
    await drop?.();
  });

  const product = (
    id: string,
    extra: Partial<{ price: number; stock: number | null; active: boolean; currency: string; name: string }> = {},
  ) =>
    upsertProduct(
      db,
      {
        id,
        name: extra.name ?? `Name ${id}`,
        price: extra.price ?? 1000,
        currency: extra.currency ?? 'USD',
        active: extra.active ?? true,
        stock: extra.stock === undefined ? null : extra.stock,
      },
      NOW,
    );

  /** An order with its transaction, as completeCharge would write them. */
  async function makeOrder(
    userId: string,
    createdAt: string,
    opts: { id?: string; status?: Order['status'] } = {},
  ): Promise<Order> {
    const id = opts.id ?? randomUUID();
    const transactionId = randomUUID();
    const items = [
      {
        product_id: 'p',
        name: 'P',
        quantity: 2,
        unit_price: 250,
        line_total: 500,
        quantity_cancelled: 0,
        quantity_returned: 0,
      },
    ];
    const order: Order = {
      id,
      user_id: userId,
      status: opts.status ?? 'pending',
      currency: 'USD',
      items,
      total: 500,
      current_total: 500,
      payment: {
        transaction_id: transactionId,
        provider: 'sandbox',
        provider_reference: `ref_${transactionId}`,
        status: 'succeeded',
        amount: 500,
        currency: 'USD',
        amount_authorized: 500,
        amount_captured: 500,
        amount_refunded: 0,
        authorization_expires_at: null,
        next_action: null,
      },
      email: `${userId}@example.com`,
      shipping_address: null,
      tracking: null,
      created_at: createdAt,
      updated_at: createdAt,
    };
    await reserveOrder(db, {
      stocked: [],
      key: null,
      transaction: {
        id: transactionId,
        provider: 'sandbox',
        source: 'pm_card_visa',
        capture: 'immediate',
        reconcileAfterMs: 3_600_000,
        now: new Date(createdAt),
        draft: {
          order_id: id,
          user_id: userId,
          currency: 'USD',
          items,
          total: 500,
          email: order.email,
          shipping_address: null,
          idempotency_key: null,
        },
      },
    });
    const settled = await settleNewOrder(db, {
      reference: order.payment.provider_reference!,
      order,
      first: { to: 'pending', at: createdAt, actor: userId, note: null },
      messages: [],
      key: null,
      authorizationExpiresAt: null,
      now: new Date(createdAt),
    });
    expect(settled).toBe(true);
    await db.deleteFrom('order_status_history').where('order_id', '=', id).execute(); // the tests below write their own
    return order;
  }

  /** A transaction to record with a reservation (its draft is not priced from the catalog here). */
  const newTransaction = (userId: string): NewTransaction => ({
    id: randomUUID(),
    provider: 'sandbox',
    source: 'pm_card_visa',
    capture: 'immediate',
    reconcileAfterMs: 3_600_000,
    now: NOW,
    draft: {
      order_id: randomUUID(),
      user_id: userId,
      currency: 'USD',
      items: [],
      total: 500,
      email: null,
      shipping_address: null,
      idempotency_key: null,
    },
  });
  const reserve = (
    stocked: { product_id: string; quantity: number }[],
    key: KeyClaim | null = null,
    transaction = newTransaction(key?.userId ?? uid('u')),
  ) => reserveOrder(db, { stocked, key, transaction });

  return { product, makeOrder, newTransaction, reserve };
}
