import { sql, type Kysely } from 'kysely';

/**
 * Housekeeping deletes delivered rows older than the retention
 * (OUTBOX_RETENTION_HOURS). Without an index on delivered_at that delete reads
 * the whole table every hour, even when nothing is old enough. Partial: only
 * delivered rows are ever looked up by delivered_at, and pending/dead rows
 * stay out of it.
 *
 * A plain CREATE INDEX blocks writes to outbox (so order requests) while it
 * builds, which on a table that has grown for months can take a while. To
 * avoid that, create it by hand first with the same definition:
 *   create index concurrently outbox_delivered_at on outbox (delivered_at) where status = 'delivered';
 * and this migration then finds it and does nothing.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('outbox_delivered_at')
    .ifNotExists()
    .on('outbox')
    .columns(['delivered_at'])
    .where(sql.ref('status'), '=', 'delivered')
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
