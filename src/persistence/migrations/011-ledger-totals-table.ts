import { sql, type Kysely, type RawBuilder } from 'kysely';

/**
 * The ledger's guarantees at the old speed (docs/adr/0016-ledger-totals-table.md).
 *
 * Migrations 007 and 010 checked every ledger statement by locking the wide payment row, summing
 * the payment's whole ledger and rewriting that row (its order draft included) with the sums: about
 * as much PostgreSQL work as the rest of an order. Now:
 *
 * - `payment_totals`, one narrow row per payment (HOT-updated, nothing indexed but its key), holds
 *   the sums. Each ledger row applies its amount to it in one UPDATE (a row trigger). The row lock
 *   that UPDATE takes queues racing writers of one payment on any number of connections; a waiting
 *   writer's UPDATE is re-applied to the row its predecessor committed (READ COMMITTED's re-check),
 *   so no increment is lost.
 * - A row whose totals come out beyond the invariants (captures + voids ≤ authorizations, refunds ≤
 *   captures) flags its payment; at the statement's end, flagged payments are checked against their
 *   whole ledger by 007's check, which raises the precise refusal. Only the flag is per row: one
 *   statement may pass through such a state (an authorization and its capture failed together).
 *   The common statement flags nothing and pays for no sum.
 * - The currency and the payment's existence are the UPDATE's own condition (no row: 007's check
 *   says which was wrong).
 * - The totals can only be written by those triggers (a guard refuses any other write of them).
 * - The append-only trigger runs only when a row update is illegal (its WHEN clause tests what the
 *   function tested): the legal moves of a settlement pay for no PL/pgSQL call.
 * - The reconciler's queue index leaves out the charge's own rows (never due: `infinity`), which
 *   the reservation no longer adds to it.
 */
const TOTALS = [
  ['authorized', 'authorization', 'succeeded'],
  ['captured', 'capture', 'succeeded'],
  ['refunded', 'refund', 'succeeded'],
  ['voided', 'void', 'succeeded'],
  ['pending_authorizations', 'authorization', 'pending'],
  ['pending_captures', 'capture', 'pending'],
  ['pending_voids', 'void', 'pending'],
  ['pending_refunds', 'refund', 'pending'],
] as const;
type Total = (typeof TOTALS)[number][0];

const list = (f: (c: Total, kind: string, status: string) => string, sep = ', ') =>
  sql.raw(TOTALS.map(([c, k, s]) => f(c, k, s)).join(sep));
/** Each total as a sum over the rows of `rel` (with `kind`, `status`, `amount`). */
const sumsOver = (rel: string) =>
  list(
    (c, k, s) =>
      `coalesce(sum(${rel}.amount) filter (where ${rel}.kind = '${k}' and ${rel}.status = '${s}'), 0) as ${c}`,
  );
const add = (t: string, d: string) => list((c) => `${c} = ${t}.${c} + ${d}.${c}`);

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table payment_totals (
      transaction_id uuid primary key,
      currency char(3) not null,
      ${list((c) => `${c} bigint not null default 0`)},
      authorization_expires_at timestamptz
    ) with (fillfactor = 50)`.execute(db);

  // 010's triggers and the totals on the wide row go; 007's check stays, for the flagged payments.
  await sql`drop trigger payment_ledger_inserted on payment_ledger`.execute(db);
  await sql`drop trigger payment_ledger_updated on payment_ledger`.execute(db);
  await sql`drop function payment_ledger_inserted()`.execute(db);
  await sql`drop function payment_ledger_updated()`.execute(db);
  await sql`
    create or replace function payment_ledger_check(payment uuid) returns void language plpgsql volatile as $$
    declare
      payment_currency char(3);
      authorized bigint;
      taken bigint;
      captured bigint;
      refunds bigint;
      foreign_currency bigint;
    begin
      -- Called with the payment's totals row locked (its writers queue there); currency is never
      -- null, so null means no such payment.
      payment_currency := (select currency from payment_transactions where id = payment);
      if payment_currency is null then
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

  // Each row applies its amount to its payment's totals in one UPDATE (a row trigger: one plain
  // UPDATE per row costs PostgreSQL far less than a statement trigger's aggregate over its transition
  // table). A row may leave the totals outside the invariants for a moment — a statement that fails
  // an authorization and its capture together moves the authorization first — so a row only flags its
  // payment, and the statement's end checks the flagged payments against their whole ledger (007's
  // check), which raises the precise refusal. No flag, no check: the common statement pays for none.
  const flag = sql.raw(
    `perform set_config('payment_ledger.unchecked', concat_ws(',', nullif(current_setting('payment_ledger.unchecked', true), ''), new.transaction_id::text), true)`,
  );
  const outside = sql.raw(
    `t.captured + t.pending_captures + t.voided + t.pending_voids > t.authorized + t.pending_authorizations or t.refunded + t.pending_refunds > t.captured or least(${TOTALS.map(([c]) => `t.${c}`).join(', ')}) < 0`,
  );
  /** A row trigger function: its row's deltas `d` and expiry added to the totals row it finds by `match`. */
  const applying = (
    name: string,
    deltas: RawBuilder<unknown>,
    expiry: RawBuilder<unknown>,
    match: RawBuilder<unknown>,
  ) => sql`
    create function ${sql.raw(name)}() returns trigger language plpgsql volatile as $$
    declare
      outside boolean;
    begin
      update payment_totals t set ${add('t', 'd')}, authorization_expires_at = ${expiry}
      from (select ${deltas}) d
      where t.transaction_id = new.transaction_id ${match}
      returning ${outside} into outside;
      if not found then
        -- No such payment, or another currency: 007's check says which.
        perform payment_ledger_check(new.transaction_id);
        raise exception 'payment_ledger: payment % has no totals row', new.transaction_id using errcode = 'ML001';
      end if;
      if outside then
        ${flag};
      end if;
      return null;
    end $$`;
  const into = (row: string, k: string, st: string) =>
    `case when ${row}.kind = '${k}' and ${row}.status = '${st}' then ${row}.amount else 0 end`;
  const latest = `when new.kind = 'authorization' and new.status = 'succeeded' then greatest(t.authorization_expires_at, new.expires_at)`;

  await applying(
    'payment_ledger_inserted',
    list((c, k, st) => `${into('new', k, st)} as ${c}`),
    sql.raw(`case ${latest} else t.authorization_expires_at end`),
    sql`and t.currency = new.currency`,
  ).execute(db);
  await sql`
    create trigger payment_ledger_inserted after insert on payment_ledger
    for each row execute function payment_ledger_inserted()`.execute(db);

  // A move takes the row's amount out of the total of the status it leaves and into the one it
  // enters (kind and amount never change: the append-only trigger). The expiry is the latest of the
  // succeeded authorizations': re-read from the ledger only when one of those stops counting.
  await applying(
    'payment_ledger_updated',
    list((c, k, st) => `${into('new', k, st)} - ${into('old', k, st)} as ${c}`),
    sql.raw(`case
          when old.kind = 'authorization' and old.status = 'succeeded' and old.expires_at is not null
               and (new.status <> 'succeeded' or new.expires_at is distinct from old.expires_at)
            then (select max(l.expires_at) from payment_ledger l where l.transaction_id = t.transaction_id and l.kind = 'authorization' and l.status = 'succeeded')
          ${latest}
          else t.authorization_expires_at end`),
    sql``,
  ).execute(db);
  await sql`
    create trigger payment_ledger_updated after update of status, expires_at on payment_ledger
    for each row when (new.status <> old.status or new.expires_at is distinct from old.expires_at)
    execute function payment_ledger_updated()`.execute(db);

  // The statement's end (after its rows' triggers): every flagged payment, its whole ledger summed
  // under its payment's lock. The flag is transaction-local and rolls back with a savepoint.
  await sql`
    create function payment_ledger_flagged() returns trigger language plpgsql volatile as $$
    declare
      flagged text := nullif(current_setting('payment_ledger.unchecked', true), '');
      payment uuid;
    begin
      if flagged is null then
        return null;
      end if;
      perform set_config('payment_ledger.unchecked', '', true);
      for payment in select distinct p::uuid from unnest(string_to_array(flagged, ',')) p order by 1 loop
        perform payment_ledger_check(payment);
      end loop;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger payment_ledger_checked after insert or update of status, expires_at on payment_ledger
    for each statement execute function payment_ledger_flagged()`.execute(db);

  // 007's append-only function, called only when the update is one it refuses (and on every delete).
  await sql`drop trigger payment_ledger_append_only on payment_ledger`.execute(db);
  await sql`
    create trigger payment_ledger_append_only before update on payment_ledger for each row
    when (new.id <> old.id or new.transaction_id <> old.transaction_id or new.order_id <> old.order_id
          or new.kind <> old.kind or new.amount <> old.amount or new.currency <> old.currency
          or new.actor <> old.actor or new.created_at <> old.created_at
          or (old.provider_reference is not null and new.provider_reference is distinct from old.provider_reference)
          or (new.status <> old.status and not (
                (old.status = 'pending' and new.status in ('succeeded', 'failed'))
             or (old.status = 'open' and new.status in ('won', 'lost'))
             or (old.kind = 'refund' and old.status = 'succeeded' and new.status = 'failed'))))
    execute function payment_ledger_append_only()`.execute(db);
  await sql`
    create trigger payment_ledger_no_delete before delete on payment_ledger
    for each row execute function payment_ledger_append_only()`.execute(db);

  // The charge's own rows are never due (`infinity`): out of the reconciler's queue.
  await sql`drop index payment_ledger_due`.execute(db);
  await sql`
    create index payment_ledger_due on payment_ledger (next_attempt_at)
    where status = 'pending' and kind in ('capture', 'void', 'refund') and next_attempt_at < 'infinity'`.execute(db);

  // Today's payments: their totals from their ledger (zeros for a payment without rows).
  await sql`
    insert into payment_totals (transaction_id, currency, ${list((c) => c)}, authorization_expires_at)
    select p.id, p.currency, ${sumsOver('l')},
           max(l.expires_at) filter (where l.kind = 'authorization' and l.status = 'succeeded')
    from payment_transactions p left join payment_ledger l on l.transaction_id = p.id
    group by p.id, p.currency`.execute(db);
  await sql`alter table payment_transactions ${sql.raw([...TOTALS.map(([c]) => `drop column ledger_${c}`), 'drop column ledger_authorization_expires_at'].join(', '))}`.execute(
    db,
  );

  // Only the ledger's triggers write the totals (they run nested: trigger depth 1); a new payment's
  // row starts at zero (the reservation inserts it beside the payment).
  await sql`
    create function payment_totals_written_directly() returns trigger language plpgsql as $$
    begin
      raise exception 'payment_totals are the ledger''s sums: write the ledger' using errcode = 'ML002';
    end $$`.execute(db);
  await sql`
    create trigger payment_totals_guard before update or delete on payment_totals
    for each row when (pg_trigger_depth() = 0) execute function payment_totals_written_directly()`.execute(db);
  await sql`
    create trigger payment_totals_start_at_zero before insert on payment_totals
    for each row when (pg_trigger_depth() = 0 and (${list((c) => `new.${c}`)}) is distinct from (${list(() => '0')}))
    execute function payment_totals_written_directly()`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
