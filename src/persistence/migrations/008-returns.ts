import { sql, type Kysely } from 'kysely';

/**
 * Returns after delivery: one row per return and one per product in it. The units a return holds
 * are priced when it is asked for (`unit_price` copied from the order item), so its
 * `refund_amount` never changes afterwards. Whether a return may still be asked for is decided
 * under the order's row lock, so racing requests cannot together ask back more than was delivered.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('returns')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('order_id', 'uuid', (c) => c.notNull().references('orders.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('requested', 'received', 'rejected')`))
    .addColumn('refund_amount', 'bigint', (c) => c.notNull().check(sql`refund_amount >= 0`))
    .addColumn('reason', 'text')
    .addColumn('note', 'text')
    .addColumn('restock', 'boolean')
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('decided_by', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('returns_order_created')
    .on('returns')
    .columns(['order_id', 'created_at', 'id'])
    .execute();

  await db.schema
    .createTable('return_items')
    .addColumn('return_id', 'uuid', (c) => c.notNull().references('returns.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('product_id', 'text', (c) => c.notNull())
    .addColumn('quantity', 'integer', (c) => c.notNull().check(sql`quantity > 0`))
    .addColumn('unit_price', 'bigint', (c) => c.notNull().check(sql`unit_price >= 0`))
    .addPrimaryKeyConstraint('return_items_pk', ['return_id', 'position'])
    .addUniqueConstraint('return_items_product', ['return_id', 'product_id'])
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
