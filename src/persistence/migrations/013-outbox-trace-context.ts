import type { Kysely } from 'kysely';

/**
 * The W3C trace context of the transaction that wrote a message (API.md, "Tracing"): the relay's
 * delivery continues that trace and sends it on, so a consumer's spans join the order's. Null when
 * tracing is off or the change ran outside a trace. Adding nullable columns without a default
 * rewrites nothing and holds its lock only for an instant.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('outbox').addColumn('traceparent', 'text').addColumn('tracestate', 'text').execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
