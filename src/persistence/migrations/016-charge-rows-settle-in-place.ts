import { sql, type Kysely } from 'kysely';

/**
 * The charge's two ledger rows settle in place: a HOT update, which writes no index entry
 * (docs/adr/0031-charge-rows-settle-in-place.md).
 *
 * PostgreSQL updates a row without touching its indexes only when no indexed column changes —
 * and a column an index's WHERE reads counts as indexed. Settling the charge changed `status`
 * (read by the due and expiry indexes' predicates) and `provider_reference` (the key of
 * `payment_ledger_provider_movement`), so each create wrote three index entries for each of the
 * charge's rows. Now:
 *
 * - the due index leaves settled movements out by `next_attempt_at`, not `status`: a movement that
 *   leaves `pending` is never due again, and `payment_ledger_append_only` says so by setting its
 *   `next_attempt_at` to infinity (rows settled before this migration get the same);
 * - the expiry index holds every authorization with an expiry; its one query also asks for
 *   `succeeded`;
 * - the charge's rows take no reference of their own when the charge settles (the settlement and
 *   `moveCharge` stop writing it, and `payment_ledger_append_only` refuses it): the payment carries
 *   it, unique per provider (`payment_transactions_provider_ref`), and the ledger's reads lend it to
 *   the charge's succeeded rows — the value those rows held until now, which they keep;
 * - the ledger's pages keep a fifth free, so the settled row finds room beside the pending one.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // One pass over the ledger (the update, the two indexes): admin work, not bound by the service's timeout.
  await sql.raw(`set local statement_timeout = 0`).execute(db);
  await sql
    .raw(
      `create or replace function payment_ledger_append_only() returns trigger language plpgsql as $$
    begin
      if tg_op = 'DELETE' then
        raise exception 'payment_ledger is append-only' using errcode = 'ML002';
      end if;
      if new.id <> old.id or new.transaction_id <> old.transaction_id or new.order_id <> old.order_id
         or new.kind <> old.kind or new.amount <> old.amount or new.currency <> old.currency
         or new.actor <> old.actor or new.created_at <> old.created_at
         or (old.provider_reference is not null and new.provider_reference is distinct from old.provider_reference)
         -- the charge's reference is its payment's (payment_transactions, unique per provider)
         or (old.provider_reference is null and new.provider_reference is not null
             and (old.charge_authorization_of is not null or old.charge_capture_of is not null)) then
        raise exception 'a payment_ledger row keeps what it recorded' using errcode = 'ML002';
      end if;
      if new.status <> old.status and not (
           (old.status = 'pending' and new.status in ('succeeded', 'failed'))
        or (old.status = 'open' and new.status in ('won', 'lost'))
        -- a refund the provider reported succeeded can still fail later (Stripe: refund.failed)
        or (old.kind = 'refund' and old.status = 'succeeded' and new.status = 'failed')) then
        raise exception 'payment_ledger: % % cannot move from % to %', old.kind, old.id, old.status, new.status using errcode = 'ML002';
      end if;
      -- The due index (below) reads no status: a settled movement leaves it by this.
      if new.status <> 'pending' and new.next_attempt_at <> 'infinity' then
        new.next_attempt_at := 'infinity';
      end if;
      return new;
    end $$`,
    )
    .execute(db);
  await sql
    .raw(
      `update payment_ledger set next_attempt_at = 'infinity' where status <> 'pending' and next_attempt_at < 'infinity'`,
    )
    .execute(db);

  await sql.raw(`drop index payment_ledger_due`).execute(db);
  await sql
    .raw(
      `create index payment_ledger_due on payment_ledger (next_attempt_at)
       where kind in ('capture', 'void', 'refund') and next_attempt_at < 'infinity'`,
    )
    .execute(db);
  await sql.raw(`drop index payment_ledger_authorization_expiry`).execute(db);
  await sql
    .raw(
      `create index payment_ledger_authorization_expiry on payment_ledger (expires_at)
       where kind = 'authorization' and expires_at is not null`,
    )
    .execute(db);
  await sql.raw(`alter table payment_ledger set (fillfactor = 80)`).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
