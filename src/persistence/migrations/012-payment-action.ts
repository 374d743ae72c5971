import { sql, type Kysely } from 'kysely';

/**
 * Payments the customer completes (docs/adr/0017). A charge that waits for its customer stays
 * `processing` and carries what the customer must do (`next_action`, null once it ended) and when
 * the order stops waiting (`action_expires_at`; kept after it ended, so the reconciler still knows
 * the charge was one of these). The partial index counts the waiting orders for the gauge.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('payment_transactions')
    .addColumn('next_action', 'jsonb')
    .addColumn('action_expires_at', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('orders_awaiting_payment')
    .on('orders')
    .column('created_at')
    .where(sql.ref('status'), '=', 'awaiting_payment')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('orders_awaiting_payment').execute();
  await db.schema
    .alterTable('payment_transactions')
    .dropColumn('next_action')
    .dropColumn('action_expires_at')
    .execute();
}
