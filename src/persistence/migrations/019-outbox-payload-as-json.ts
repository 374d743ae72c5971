import { sql, type Kysely } from 'kysely';

/**
 * An outbox message's payload is stored as the JSON text it was written as: `json`, not `jsonb`
 * (docs/adr/0034-outbox-payload-as-json.md).
 *
 * Nothing reads inside a payload in SQL on the service's paths: the relay reads it whole and sends it
 * on, and the readers that look into one (`payload->>'order_id'`, by hand or in tests) have the same
 * operators on `json`. `jsonb` built a binary tree of every message, which the relay turned back into
 * text: PostgreSQL's `jsonb_in` was a tenth of a cancel's instructions (four messages) and of a
 * create's. `json_in` only checks the text is JSON.
 *
 * The outbox holds the messages not yet delivered and, for a while, the delivered ones (migration
 * 004): rewriting it takes its lock for as long as a copy of those rows takes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`set local statement_timeout = 0`).execute(db);
  await sql.raw(`alter table outbox alter column payload type json using payload::json`).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
