import type { Kysely } from 'kysely';

/**
 * Who is working on a `processing` charge, and until when: the request that reserved it, a
 * reconciler pass, or a retry with the same Idempotency-Key that took a stranded one over.
 * `next_attempt_at` alone cannot say it: it is also the reconciler's backoff, which says nothing
 * about whether anyone is still at work. A reconciler pass that ends sets it to its end; rows from
 * before this column (null) fall back to `next_attempt_at`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('payment_transactions').addColumn('leased_until', 'timestamptz').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('payment_transactions').dropColumn('leased_until').execute();
}
