import { sql, type Kysely } from 'kysely';

/**
 * Without a broker, event rows stay pending by design; the relay's claim for
 * emails must not scan past them. Due rows are found by kind first.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('outbox_due').execute();
  await db.schema
    .createIndex('outbox_due')
    .on('outbox')
    .columns(['kind', 'next_attempt_at'])
    .where(sql.ref('status'), '=', 'pending')
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
