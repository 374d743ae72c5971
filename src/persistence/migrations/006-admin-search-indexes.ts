import { sql, type Kysely } from 'kysely';

/**
 * Support's order search (GET /api/admin/orders) reads every customer's orders newest first, with
 * optional filters. Each filter gets an index that already holds the page order, so a first and a
 * deep page are the same short index scan at any table size:
 * - no filter, or only dates: (created_at desc, id desc);
 * - status: (status, created_at desc, id desc);
 * - email, matched case-insensitively: (lower(email), created_at desc, id desc);
 * - user_id: orders_user_created (001) already is (user_id, created_at desc, id desc);
 * - an order id or its first 8 hex digits: the primary key (a range on the uuid).
 *
 * A plain CREATE INDEX blocks writes to orders while it builds. On a large table create them by
 * hand first with CREATE INDEX CONCURRENTLY and the same definitions; this migration then finds
 * them (if not exists) and does nothing.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('orders_created')
    .ifNotExists()
    .on('orders')
    .columns(['created_at desc', 'id desc'])
    .execute();
  await db.schema
    .createIndex('orders_status_created')
    .ifNotExists()
    .on('orders')
    .columns(['status', 'created_at desc', 'id desc'])
    .execute();
  await db.schema
    .createIndex('orders_email_created')
    .ifNotExists()
    .on('orders')
    .expression(sql`lower(email), created_at desc, id desc`)
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
