import { sql, type Kysely } from 'kysely';

/**
 * One provider payment settles at most one of our transactions: a PayPal order
 * approved once and sent with two orders must not become two paid orders.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('payment_transactions_provider_ref').execute();
  await db.schema
    .createIndex('payment_transactions_provider_ref')
    .unique()
    .on('payment_transactions')
    .columns(['provider', 'provider_reference'])
    .where(sql.ref('provider_reference'), 'is not', null)
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
