import { sql, type Kysely } from 'kysely';

/**
 * The payment ledger (docs/adr/0012-payment-ledger.md): every movement of an order's money is one
 * row, written before the provider is called; its id is the provider's idempotency key.
 *
 * The database keeps the invariants itself, so no application path (nor a person with psql) can
 * break them:
 * - `payment_ledger_check`, run by AFTER triggers (per statement for inserts, per row for a move to
 *   `failed`), locks the payment's transaction row (it must exist: the check stands in for a foreign
 *   key, whose share lock, upgraded, deadlocked two writers) and sums its ledger: captures + voids ≤ authorizations, refunds ≤
 *   succeeded captures, one currency. The lock makes racing writers on any number of instances
 *   queue; each check runs with a fresh snapshot (VOLATILE functions in READ COMMITTED), so it sees
 *   the rows the writer before it committed. AFTER, so rows of sibling CTEs of one statement are all visible.
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
    // No foreign key: payment_ledger_check finds the payment itself, under the lock it takes anyway
    // (a foreign key's share lock, upgraded by that lock, deadlocked two writers of one payment).
    .addColumn('transaction_id', 'uuid', (c) => c.notNull())
    // The order is chosen before its payment exists; its row appears only once the charge settles.
    .addColumn('order_id', 'uuid', (c) => c.notNull())
    .addColumn('kind', 'text', (c) =>
      c.notNull().check(sql`kind in ('authorization', 'capture', 'void', 'refund', 'dispute')`),
    )
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0`))
    .addColumn('currency', 'char(3)', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('provider_reference', 'text')
    .addColumn('reason', 'text')
    .addColumn('actor', 'text', (c) => c.notNull())
    // Authorizations: when the provider stops honouring it, and when the order was warned of it.
    .addColumn('expires_at', 'timestamptz')
    .addColumn('expiry_warned_at', 'timestamptz')
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
  await db.schema
    .createIndex('payment_ledger_transaction')
    .on('payment_ledger')
    .columns(['transaction_id', 'seq'])
    .execute();
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

  // Authorizations waiting for their capture, by expiry: the reconciler's warnings and the gauge.
  await db.schema
    .createIndex('payment_ledger_authorization_expiry')
    .on('payment_ledger')
    .columns(['expires_at'])
    .where(sql<boolean>`kind = 'authorization' and status = 'succeeded' and expires_at is not null`)
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
    create function payment_ledger_check(payment uuid) returns void language plpgsql volatile as $$
    declare
      payment_currency char(3);
      authorized bigint;
      taken bigint;
      captured bigint;
      refunds bigint;
      foreign_currency bigint;
    begin
      select currency into payment_currency from payment_transactions where id = payment for update;
      if not found then
        raise exception 'payment_ledger: no payment %', payment using errcode = 'ML001';
      end if;
      select coalesce(sum(amount) filter (where kind = 'authorization' and status in ('pending', 'succeeded')), 0),
             coalesce(sum(amount) filter (where kind in ('capture', 'void') and status in ('pending', 'succeeded')), 0),
             coalesce(sum(amount) filter (where kind = 'capture' and status = 'succeeded'), 0),
             coalesce(sum(amount) filter (where kind = 'refund' and status in ('pending', 'succeeded')), 0),
             count(*) filter (where currency <> payment_currency)
        into authorized, taken, captured, refunds, foreign_currency
        from payment_ledger where transaction_id = payment;
      if foreign_currency > 0 then
        raise exception 'payment_ledger: a movement in another currency than its payment (%)', payment_currency using errcode = 'ML001';
      end if;
      if taken > authorized then
        raise exception 'payment_ledger: captures and voids (%) exceed the authorization (%)', taken, authorized using errcode = 'ML001';
      end if;
      if refunds > captured then
        raise exception 'payment_ledger: refunds (%) exceed what was captured (%)', refunds, captured using errcode = 'ML001';
      end if;
    end $$`.execute(db);
  // Inserts are checked once per statement and payment (a reservation writes two rows of one payment).
  await sql`
    create function payment_ledger_inserted() returns trigger language plpgsql volatile as $$
    declare
      payment uuid;
    begin
      for payment in select distinct transaction_id from new_rows order by 1 loop
        perform payment_ledger_check(payment);
      end loop;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger payment_ledger_inserted after insert on payment_ledger
    referencing new table as new_rows for each statement execute function payment_ledger_inserted()`.execute(db);
  // Of the status moves only one to `failed` can break a sum (a pending authorization that failed
  // under a pending capture): pending → succeeded keeps every pending + succeeded sum and only grows
  // what was captured. So the settlement of every charge pays for no check.
  await sql`
    create function payment_ledger_failed() returns trigger language plpgsql volatile as $$
    begin
      perform payment_ledger_check(new.transaction_id);
      return null;
    end $$`.execute(db);
  await sql`
    create trigger payment_ledger_failed after update of status on payment_ledger
    for each row when (new.status = 'failed' and old.status <> 'failed') execute function payment_ledger_failed()`.execute(
    db,
  );

  await migrateTransactions(db);

  await db.schema.dropIndex('payment_transactions_unsettled').execute();
  await db.schema
    .createIndex('payment_transactions_unsettled')
    .on('payment_transactions')
    .columns(['next_attempt_at'])
    .where(sql.ref('status'), '=', 'processing')
    .execute();
  await db.schema.alterTable('payment_transactions').dropColumn('amount_refunded').execute();

  // `if not exists`: the returns' migration (008) adds them too, for a database that ran it first.
  await sql`alter table order_items add column if not exists quantity_cancelled integer not null default 0`.execute(db);
  await sql`alter table order_items add column if not exists quantity_returned integer not null default 0`.execute(db);
  await db.schema
    .alterTable('order_items')
    .addCheckConstraint(
      'order_items_units',
      sql`quantity_cancelled >= 0 and quantity_returned >= 0 and quantity_cancelled + quantity_returned <= quantity`,
    )
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
  await sql`update payment_transactions set status = 'succeeded' where status in ('refund_pending', 'refunded')`.execute(
    db,
  );
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
