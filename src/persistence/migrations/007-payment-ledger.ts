import { sql, type Kysely } from 'kysely';

/**
 * The payment ledger (docs/adr/0012-payment-ledger.md): every movement of an order's money is one
 * row, written before the provider is called; its id is the provider's idempotency key.
 *
 * The database keeps the invariants itself, so no application path (nor a person with psql) can
 * break them:
 * - `payment_ledger_invariants`, an AFTER row trigger, locks the payment's transaction row and then
 *   sums its ledger: captures + voids ≤ authorizations, refunds ≤ succeeded captures, one currency.
 *   The lock makes racing writers on any number of instances queue; each check runs with a fresh
 *   snapshot (a VOLATILE function in READ COMMITTED), so it sees the rows the writer before it
 *   committed. AFTER, so rows written by sibling CTEs of one statement are all visible.
 * - `payment_ledger_append_only`, a BEFORE trigger: no DELETE; an UPDATE may only move the status
 *   along the legal moves, set the provider's reference once, and reschedule the retry.
 * - a unique index: one row per provider movement (a provider's refund id is recorded once).
 *
 * Then today's transactions become ledger rows, and `amount_refunded` goes: amounts are sums over
 * the ledger. Order items gain the units cancelled and returned.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('payment_ledger')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('seq', 'bigint', (c) => c.generatedAlwaysAsIdentity())
    .addColumn('transaction_id', 'uuid', (c) => c.notNull().references('payment_transactions.id'))
    // The order is chosen before its payment exists; its row appears only once the charge settles.
    .addColumn('order_id', 'uuid', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('authorization', 'capture', 'void', 'refund', 'dispute')`))
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0`))
    .addColumn('currency', 'char(3)', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('provider_reference', 'text')
    .addColumn('reason', 'text')
    .addColumn('actor', 'text', (c) => c.notNull())
    // Authorizations: when the provider stops honouring it.
    .addColumn('expires_at', 'timestamptz')
    // What finishes when the movement settles (a capture: the move to `shipped` it was made for).
    .addColumn('context', 'jsonb')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint(
      'payment_ledger_status',
      sql`(kind = 'dispute' and status in ('open', 'won', 'lost')) or (kind <> 'dispute' and status in ('pending', 'succeeded', 'failed'))`,
    )
    .execute();
  await db.schema.createIndex('payment_ledger_transaction').on('payment_ledger').columns(['transaction_id', 'seq']).execute();
  await db.schema
    .createIndex('payment_ledger_provider_movement')
    .unique()
    .on('payment_ledger')
    .columns(['kind', 'provider_reference'])
    .where(sql.ref('provider_reference'), 'is not', null)
    .execute();
  // The reconciler's queue: movements after the charge whose outcome is still open.
  await db.schema
    .createIndex('payment_ledger_due')
    .on('payment_ledger')
    .columns(['next_attempt_at'])
    .where(sql<boolean>`status = 'pending' and kind in ('capture', 'void', 'refund')`)
    .execute();

  await sql`
    create function payment_ledger_append_only() returns trigger language plpgsql as $$
    begin
      if tg_op = 'DELETE' then
        raise exception 'payment_ledger is append-only' using errcode = 'ML002';
      end if;
      if new.id <> old.id or new.transaction_id <> old.transaction_id or new.order_id <> old.order_id
         or new.kind <> old.kind or new.amount <> old.amount or new.currency <> old.currency
         or new.actor <> old.actor or new.created_at <> old.created_at
         or (old.provider_reference is not null and new.provider_reference is distinct from old.provider_reference) then
        raise exception 'a payment_ledger row keeps what it recorded' using errcode = 'ML002';
      end if;
      if new.status <> old.status and not (
           (old.status = 'pending' and new.status in ('succeeded', 'failed'))
        or (old.status = 'open' and new.status in ('won', 'lost'))
        -- a refund the provider reported succeeded can still fail later (Stripe: refund.failed)
        or (old.kind = 'refund' and old.status = 'succeeded' and new.status = 'failed')) then
        raise exception 'payment_ledger: % % cannot move from % to %', old.kind, old.id, old.status, new.status using errcode = 'ML002';
      end if;
      return new;
    end $$`.execute(db);
  await sql`
    create trigger payment_ledger_append_only before update or delete on payment_ledger
    for each row execute function payment_ledger_append_only()`.execute(db);

  await sql`
    create function payment_ledger_invariants() returns trigger language plpgsql volatile as $$
    declare
      payment_currency char(3);
      authorized bigint;
      taken bigint;
      captured bigint;
      refunds bigint;
    begin
      select currency into payment_currency from payment_transactions where id = new.transaction_id for update;
      if new.currency <> payment_currency then
        raise exception 'payment_ledger: % in % for a payment in %', new.kind, new.currency, payment_currency using errcode = 'ML001';
      end if;
      select coalesce(sum(amount) filter (where kind = 'authorization' and status in ('pending', 'succeeded')), 0),
             coalesce(sum(amount) filter (where kind in ('capture', 'void') and status in ('pending', 'succeeded')), 0),
             coalesce(sum(amount) filter (where kind = 'capture' and status = 'succeeded'), 0),
             coalesce(sum(amount) filter (where kind = 'refund' and status in ('pending', 'succeeded')), 0)
        into authorized, taken, captured, refunds
        from payment_ledger where transaction_id = new.transaction_id;
      if taken > authorized then
        raise exception 'payment_ledger: captures and voids (%) exceed the authorization (%)', taken, authorized using errcode = 'ML001';
      end if;
      if refunds > captured then
        raise exception 'payment_ledger: refunds (%) exceed what was captured (%)', refunds, captured using errcode = 'ML001';
      end if;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger payment_ledger_invariants after insert or update of status on payment_ledger
    for each row execute function payment_ledger_invariants()`.execute(db);

  await migrateTransactions(db);

  await db.schema.dropIndex('payment_transactions_unsettled').execute();
  await db.schema
    .createIndex('payment_transactions_unsettled')
    .on('payment_transactions')
    .columns(['next_attempt_at'])
    .where(sql.ref('status'), '=', 'processing')
    .execute();
  await db.schema.alterTable('payment_transactions').dropColumn('amount_refunded').execute();

  await db.schema.alterTable('order_items').addColumn('quantity_cancelled', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('order_items').addColumn('quantity_returned', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema
    .alterTable('order_items')
    .addCheckConstraint('order_items_units', sql`quantity_cancelled >= 0 and quantity_returned >= 0 and quantity_cancelled + quantity_returned <= quantity`)
    .execute();
}

/**
 * Today's transactions as ledger rows. The ids are the idempotency keys already sent to providers:
 * a charge's key derives from the transaction id, and so did its full refund's, so a refund still
 * in flight keeps its key (its row takes the transaction id, the authorization a derived one).
 * Zero-total payments get no rows (a movement moves money); their status stays the transaction's.
 * A transaction's status then only says how its charge ended: the refund lives in the ledger.
 */
async function migrateTransactions(db: Kysely<unknown>): Promise<void> {
  await sql`
    insert into payment_ledger (id, transaction_id, order_id, kind, amount, currency, status, provider_reference, actor, created_at, updated_at)
    select case
             when k.kind = 'capture' then md5(t.id::text || ':capture')::uuid
             when t.status in ('refund_pending', 'refunded') then md5(t.id::text || ':authorization')::uuid
             else t.id
           end,
           t.id, t.order_id, k.kind, t.amount, t.currency,
           case t.status when 'processing' then 'pending' when 'failed' then 'failed' else 'succeeded' end,
           t.provider_reference, t.customer_id, t.created_at, t.updated_at
    from payment_transactions t, (values (1, 'authorization'), (2, 'capture')) as k(n, kind)
    where t.amount > 0
    order by t.created_at, t.id, k.n`.execute(db);
  await sql`
    insert into payment_ledger (id, transaction_id, order_id, kind, amount, currency, status, actor, attempts, next_attempt_at, last_error, created_at, updated_at)
    select t.id, t.id, t.order_id, 'refund', t.amount, t.currency,
           case when t.status = 'refunded' or t.provider_reference is null then 'succeeded' else 'pending' end,
           'system', t.attempts, t.next_attempt_at, case when t.status = 'refund_pending' then t.failure_reason end, t.updated_at, t.updated_at
    from payment_transactions t
    where t.status in ('refund_pending', 'refunded') and t.amount > 0`.execute(db);
  await sql`update payment_transactions set status = 'succeeded' where status in ('refund_pending', 'refunded')`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
