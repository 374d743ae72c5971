import { sql, type Kysely } from 'kysely';

/**
 * The ledger's writers queue on the payment row, and each movement's rules run in one trigger
 * (docs/adr/0033-ledger-queues-on-the-payment.md).
 *
 * Migration 017 left a movement's write paying for: a CHECK calling `payment_ledger_row_valid`; an
 * AFTER trigger that called `payment_totals_row` (insert the totals row if missing, then lock it: two
 * statements), then updated the totals reading the payment (a third); on a status move the
 * BEFORE append-only trigger and the same AFTER trigger again, behind a WHEN. Now:
 *
 * - **the lock is the payment row's** (FOR NO KEY UPDATE, which the foreign keys' KEY SHARE locks do
 *   not wait for): it always exists, so no statement has to create a row to have something to queue
 *   on. A movement's insert takes it while reading the charge's sums (one statement), and a charge
 *   that fails takes it by its own UPDATE; so whichever of the two commits second sees the other, as
 *   with the totals row's lock before. A cancel takes it with the order's, and reads the sums after;
 * - **an insert** is checked by its AFTER trigger: the row's own rules (the CHECK's, now in the
 *   trigger), the lock and the charge's sums, then one upsert of the totals row that returns the sums
 *   the check compares;
 * - **a status move** is applied to the sums by the BEFORE UPDATE trigger that already guarded the
 *   row (one trigger, no WHEN): under the payment's lock too, so every writer of a payment's
 *   movements queues first there, then on its totals row, and never the other way round. A status
 *   move cannot break the rules (its amount moves from pending to settled, or out), so it needs the
 *   sums updated, not checked.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const run = (text: string) => sql.raw(text).execute(db);

  await run(`alter table payment_movements drop constraint payment_ledger_row_valid`);
  await run(`drop function payment_ledger_row_valid(payment_movements)`);
  await run(`drop trigger payment_ledger_updated on payment_movements`);
  await run(`drop function payment_ledger_updated()`);

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
  const list = (f: (c: string, kind: string, status: string) => string) =>
    TOTALS.map(([c, k, s]) => f(c, k, s)).join(', ');
  const into = (row: string, k: string, st: string) =>
    `case when ${row}.kind = '${k}' and ${row}.status = '${st}' then ${row}.amount else 0 end`;

  await run(`create or replace function payment_ledger_inserted() returns trigger language plpgsql volatile as $$
    declare
      charge_authorized bigint;
      charge_pending_authorization bigint;
      charge_captured bigint;
      charge_pending_capture bigint;
      payment_currency char(3);
      outside boolean;
    begin
      -- (a refund keyed by its payment's id is migration 007's, of a payment refunded before the ledger)
      if new.kind = 'authorization' or (new.id = new.transaction_id and new.kind <> 'refund')
         or new.id = md5(new.transaction_id::text || ':capture')::uuid then
        raise exception 'payment_ledger: % % would be the charge''s, which its payment records', new.kind, new.id
          using errcode = 'ML001';
      end if;
      if not (new.amount > 0
              and ((new.kind in ('capture', 'void', 'refund') and new.status in ('pending', 'succeeded', 'failed'))
                or (new.kind = 'dispute' and new.status in ('open', 'won', 'lost')))) then
        raise exception 'payment_ledger: no such movement: a % % of %', new.status, new.kind, new.amount
          using errcode = 'ML001';
      end if;
      -- The lock every writer of this payment's movements queues on; its newest version once granted.
      select case when p.status = 'succeeded' then p.amount else 0 end,
             case when p.status = 'processing' then p.amount else 0 end,
             case when p.status = 'succeeded' then coalesce(p.charge_capture, 0) else 0 end,
             case when p.status = 'processing' then coalesce(p.charge_capture, 0) else 0 end,
             p.currency
        into charge_authorized, charge_pending_authorization, charge_captured, charge_pending_capture, payment_currency
        from payment_transactions p where p.id = new.transaction_id for no key update;
      if payment_currency is distinct from new.currency then
        -- No such payment, or another currency: the check says which.
        perform payment_ledger_check(new.transaction_id);
        raise exception 'payment_ledger: payment % is not in %', new.transaction_id, new.currency using errcode = 'ML001';
      end if;
      insert into payment_movement_totals as t (transaction_id, currency, ${list((c) => c)})
      values (new.transaction_id, new.currency, ${list((_, k, st) => into('new', k, st))})
      on conflict (transaction_id) do update set ${list((c) => `${c} = t.${c} + excluded.${c}`)}
      returning t.captured + charge_captured + t.pending_captures + charge_pending_capture + t.voided + t.pending_voids
                  > t.authorized + charge_authorized + t.pending_authorizations + charge_pending_authorization
             or t.refunded + t.pending_refunds > t.captured + charge_captured
             or least(${list((c) => `t.${c}`)}) < 0
        into outside;
      if outside then
        perform payment_ledger_check(new.transaction_id);
      end if;
      return null;
    end $$`);

  await run(`create or replace function payment_ledger_append_only() returns trigger language plpgsql as $$
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
      if new.status <> old.status then
        if not ((old.status = 'pending' and new.status in ('succeeded', 'failed'))
             or (old.status = 'open' and new.status in ('won', 'lost'))
             -- a refund the provider reported succeeded can still fail later (Stripe: refund.failed)
             or (old.kind = 'refund' and old.status = 'succeeded' and new.status = 'failed')) then
          raise exception 'payment_ledger: % % cannot move from % to %', old.kind, old.id, old.status, new.status
            using errcode = 'ML002';
        end if;
        -- A dispute is in no sum. The payment's lock first, as an insert takes it.
        if new.kind <> 'dispute' then
          update payment_movement_totals t
          set ${list((c, k, st) => `${c} = t.${c} + ${into('new', k, st)} - ${into('old', k, st)}`)}
          from (select 1 from payment_transactions p where p.id = new.transaction_id for no key update of p) p
          where t.transaction_id = new.transaction_id;
          if not found then
            raise exception 'payment_ledger: payment % has no totals row', new.transaction_id using errcode = 'ML001';
          end if;
        end if;
      end if;
      -- The due index reads no status: a settled movement leaves it by this (migration 016).
      if new.status <> 'pending' and new.next_attempt_at <> 'infinity' then
        new.next_attempt_at := 'infinity';
      end if;
      return new;
    end $$`);

  // The charge failing: its UPDATE holds the payment's lock, so the movements read here are every
  // one committed, and one written after reads the payment failed.
  await run(`create or replace function payment_charge_kept() returns trigger language plpgsql as $$
    declare
      taken bigint;
      captured bigint;
      refunds bigint;
    begin
      if tg_op = 'DELETE' then
        raise exception 'a payment records its charge: it is never deleted' using errcode = 'ML002';
      end if;
      if new.id <> old.id or new.amount <> old.amount or new.currency <> old.currency
         or new.charge_capture is distinct from old.charge_capture
         or new.charge_authorization_id is distinct from old.charge_authorization_id then
        raise exception 'a payment keeps the charge it recorded' using errcode = 'ML002';
      end if;
      if new.status <> old.status then
        if old.status <> 'processing' then
          raise exception 'payment %: its charge cannot move from % to %', old.id, old.status, new.status using errcode = 'ML002';
        end if;
        if new.status = 'failed' then
          select coalesce(sum(amount) filter (where kind in ('capture', 'void') and status in ('pending', 'succeeded')), 0),
                 coalesce(sum(amount) filter (where kind = 'capture' and status = 'succeeded'), 0),
                 coalesce(sum(amount) filter (where kind = 'refund' and status in ('pending', 'succeeded')), 0)
            into taken, captured, refunds
            from payment_movements where transaction_id = new.id;
          if taken > 0 or refunds > captured then
            raise exception 'payment_ledger: the charge of payment % cannot fail under the movements after it', new.id
              using errcode = 'ML001';
          end if;
        end if;
      end if;
      return new;
    end $$`);
  await run(`drop function payment_totals_row(uuid)`);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
