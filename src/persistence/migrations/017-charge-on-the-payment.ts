import { sql, type Kysely } from 'kysely';

/**
 * The charge is recorded on its payment, not as two more rows (docs/adr/0032-charge-on-the-payment.md).
 *
 * The charge's authorization and capture were two ledger rows, inserted `pending` beside the
 * payment and moved with it — always with it, to the same status, in the same statement — and a
 * totals row beside them. The payment row is written before the provider call too, and already says
 * all they said: its amount is the authorization, its status theirs (`processing` is pending). So:
 *
 * - **the payment carries the charge**: `charge_capture` (the amount the charge captures, null when it
 *   only authorizes), `authorization_expires_at` and `authorization_expiry_warned_at` (were the
 *   authorization row's `expires_at` and `expiry_warned_at`);
 * - **`payment_movements`** (the ledger table, renamed) holds the movements after the charge —
 *   captures at shipment, voids, refunds, disputes — and refuses an authorization or a row whose id
 *   is the charge's;
 * - **`payment_ledger` is a view**: those movements and the charge's two rows as the payment says
 *   them, with the ids, kinds, amounts and statuses they always had, so every reader of the whole
 *   ledger (the payments list, the invariants' check, audits) reads what it read;
 * - **the payment row keeps what the charge recorded**: its amount, currency and charge columns
 *   never change, its status moves only from `processing`, and it is never deleted (ML002) — the
 *   append-only rule the charge's rows had;
 * - **the totals row is written with the first later movement** (most orders have none), by the
 *   ledger's triggers; the readers' sums add the charge from the payment row;
 * - **a payment that fails** under a later movement is refused, checked under the totals row's lock
 *   where the writers of those movements queue (as its rows were, migration 014).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const run = (text: string) => sql.raw(text).execute(db);
  // One pass over the ledger and the payments: admin work, not bound by the service's timeout.
  await run(`set local statement_timeout = 0`);

  await run(`alter table payment_transactions
    add column charge_capture bigint,
    add column authorization_expires_at timestamptz,
    add column authorization_expiry_warned_at timestamptz,
    add column charge_authorization_id uuid`);

  // The charge's rows moved with their payment; one that did not is a ledger this cannot carry over.
  // An authorization is the charge's: its id is the payment's, or (migration 007, a payment refunded
  // before the ledger, whose refund kept the payment's id) derived from it.
  await run(`do $$
    declare
      odd record;
    begin
      select l.id, l.kind, l.status, p.status as payment_status into odd
      from payment_ledger l join payment_transactions p on p.id = l.transaction_id
      where (l.kind = 'authorization' or l.charge_capture_of is not null)
        and (l.status <> case p.status when 'processing' then 'pending' else p.status end
             or l.currency <> p.currency or l.amount <> p.amount
             or (l.kind = 'authorization' and l.id not in (p.id, md5(p.id::text || ':authorization')::uuid)))
      limit 1;
      if found then
        raise exception 'payment_ledger: % % is % while its payment is %: not the charge''s row this migration can move',
          odd.kind, odd.id, odd.status, odd.payment_status;
      end if;
    end $$`);
  await run(`update payment_transactions p set charge_capture = c.amount
    from payment_ledger c where c.charge_capture_of = p.id`);
  await run(`update payment_transactions p
    set authorization_expires_at = a.expires_at, authorization_expiry_warned_at = a.expiry_warned_at,
        charge_authorization_id = nullif(a.id, p.id)
    from payment_ledger a
    where a.transaction_id = p.id and a.kind = 'authorization'
      and (a.expires_at is not null or a.expiry_warned_at is not null or a.id <> p.id)`);

  await run(`drop view payment_totals`);
  await run(`alter table payment_ledger rename to payment_movements`);
  await run(`alter table payment_movements
    drop constraint payment_ledger_charge_authorization,
    drop constraint payment_ledger_charge_capture,
    drop constraint payment_ledger_row_valid`);
  await run(`drop trigger payment_ledger_charge_failed on payment_movements`);
  await run(`drop trigger payment_ledger_inserted on payment_movements`);
  await run(`drop trigger payment_ledger_updated on payment_movements`);
  await run(`drop function payment_ledger_charge_failed()`);
  await run(`alter table payment_movements disable trigger payment_ledger_no_delete`);
  await run(`delete from payment_movements where kind = 'authorization' or charge_capture_of is not null`);
  await run(`alter table payment_movements enable trigger payment_ledger_no_delete`);
  await run(`alter table payment_movements drop column charge_authorization_of, drop column charge_capture_of`);
  await run(`drop index payment_ledger_authorization_expiry`);

  // A movement after the charge: never an authorization, never the id of one of the charge's rows.
  await run(`create or replace function payment_ledger_row_valid(l payment_movements) returns boolean language plpgsql immutable as $$
    begin
      -- (a refund keyed by its payment's id is migration 007's, of a payment refunded before the ledger)
      if l.kind = 'authorization' or (l.id = l.transaction_id and l.kind <> 'refund')
         or l.id = md5(l.transaction_id::text || ':capture')::uuid then
        raise exception 'payment_ledger: % % would be the charge''s, which its payment records', l.kind, l.id
          using errcode = 'ML001';
      end if;
      return l.amount > 0
        and ((l.kind in ('capture', 'void', 'refund') and l.status in ('pending', 'succeeded', 'failed'))
          or (l.kind = 'dispute' and l.status in ('open', 'won', 'lost')));
    end $$`);
  await run(`alter table payment_movements
    add constraint payment_ledger_row_valid check (payment_ledger_row_valid(payment_movements))`);
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
      if new.status <> old.status and not (
           (old.status = 'pending' and new.status in ('succeeded', 'failed'))
        or (old.status = 'open' and new.status in ('won', 'lost'))
        -- a refund the provider reported succeeded can still fail later (Stripe: refund.failed)
        or (old.kind = 'refund' and old.status = 'succeeded' and new.status = 'failed')) then
        raise exception 'payment_ledger: % % cannot move from % to %', old.kind, old.id, old.status, new.status using errcode = 'ML002';
      end if;
      -- The due index reads no status: a settled movement leaves it by this (migration 016).
      if new.status <> 'pending' and new.next_attempt_at <> 'infinity' then
        new.next_attempt_at := 'infinity';
      end if;
      return new;
    end $$`);

  // The whole ledger, as every reader of it read it: the movements, and the charge's two rows as
  // the payment records them (their ids as before; first by seq).
  const charge = (
    id: string,
    seq: number,
    kind: string,
    amount: string,
    expires: string,
    warned: string,
    where: string,
  ) => `
    select ${id}, ${seq}::bigint, p.id, p.order_id, '${kind}'::text, ${amount}, p.currency,
           case p.status when 'processing' then 'pending' else p.status end,
           case when p.status = 'succeeded' then p.provider_reference end, null::text, p.customer_id,
           ${expires}, ${warned}, null::jsonb, 0, 'infinity'::timestamptz, null::text, p.created_at, p.updated_at
    from payment_transactions p where ${where}`;
  await run(`create view payment_ledger as
    select id, seq, transaction_id, order_id, kind, amount, currency, status, provider_reference, reason, actor,
           expires_at, expiry_warned_at, context, attempts, next_attempt_at, last_error, created_at, updated_at
    from payment_movements
    union all ${charge('coalesce(p.charge_authorization_id, p.id)', -1, 'authorization', 'p.amount', `case when p.status = 'succeeded' then p.authorization_expires_at end`, 'p.authorization_expiry_warned_at', 'p.amount > 0')}
    union all ${charge(`md5(p.id::text || ':capture')::uuid`, 0, 'capture', 'p.charge_capture', 'null::timestamptz', 'null::timestamptz', 'p.charge_capture is not null')}`);

  // The payment keeps what its charge recorded.
  await run(`alter table payment_transactions add constraint payment_transactions_charge_capture
    check (charge_capture is null or (charge_capture = amount and amount > 0))`);
  // One trigger, no WHEN: PostgreSQL reads a WHEN's stored text back into a tree for every statement
  // (ADR 0030), while the function is compiled once per session. A charge that fails is checked
  // here, before its row changes, against the movements after it (the charge then counts nothing),
  // under the totals row's lock where their writers queue: a movement written after this commits
  // reads the payment failed.
  await run(`create function payment_charge_kept() returns trigger language plpgsql as $$
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
          perform payment_totals_row(new.id);
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
  await run(`create trigger payment_charge_kept before update or delete on payment_transactions
    for each row execute function payment_charge_kept()`);
  await run(`create index payment_transactions_authorization_expiry on payment_transactions (authorization_expires_at)
    where authorization_expires_at is not null`);

  // The totals: the later movements' sums only, their row written by the first of them.
  await run(`alter table payment_movement_totals drop column charge_capture`);
  // Migration 007's authorizations of payments refunded before the ledger were counted there: no more.
  await run(`alter table payment_movement_totals disable trigger payment_totals_guard`);
  await run(`update payment_movement_totals t set authorized = 0, pending_authorizations = 0, authorization_expires_at = null
    where authorized <> 0 or pending_authorizations <> 0 or authorization_expires_at is not null`);
  await run(`alter table payment_movement_totals enable trigger payment_totals_guard`);
  await run(`drop index payment_movement_totals_currency`);
  await run(`create function payment_totals_row(payment uuid) returns void language plpgsql volatile as $$
    begin
      -- Waits for a racing first movement's insert; then the row exists and is locked here.
      insert into payment_movement_totals (transaction_id, currency)
      select p.id, p.currency from payment_transactions p where p.id = payment
      on conflict (transaction_id) do nothing;
      perform 1 from payment_movement_totals where transaction_id = payment for no key update;
    end $$`);
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
  // Locked first, then the payment read (a statement of its own, so a snapshot taken after the lock):
  // a payment that failed meanwhile is seen failed (its trigger takes the same lock), so the test
  // below never counts a charge that is gone.
  const applying = (name: string, deltas: string, match: string) => `
    create or replace function ${name}() returns trigger language plpgsql volatile as $$
    declare
      outside boolean;
    begin
      perform payment_totals_row(new.transaction_id);
      update payment_movement_totals t set ${list((c) => `${c} = t.${c} + d.${c}`)}
      from (select ${deltas}) d, (
        select case when p.status = 'succeeded' then p.amount else 0 end as authorized,
               case when p.status = 'processing' then p.amount else 0 end as pending_authorization,
               case when p.status = 'succeeded' then coalesce(p.charge_capture, 0) else 0 end as captured,
               case when p.status = 'processing' then coalesce(p.charge_capture, 0) else 0 end as pending_capture
        from payment_transactions p where p.id = new.transaction_id) ch
      where t.transaction_id = new.transaction_id ${match}
      returning t.captured + ch.captured + t.pending_captures + ch.pending_capture + t.voided + t.pending_voids
                  > t.authorized + ch.authorized + t.pending_authorizations + ch.pending_authorization
             or t.refunded + t.pending_refunds > t.captured + ch.captured
             or least(${list((c) => `t.${c}`)}) < 0
        into outside;
      if not found then
        -- No such payment, or another currency: the check says which.
        perform payment_ledger_check(new.transaction_id);
        raise exception 'payment_ledger: payment % has no totals row', new.transaction_id using errcode = 'ML001';
      end if;
      if outside then
        perform payment_ledger_check(new.transaction_id);
      end if;
      return null;
    end $$`;
  await run(
    applying(
      'payment_ledger_inserted',
      list((c, k, st) => `${into('new', k, st)} as ${c}`),
      'and t.currency = new.currency',
    ),
  );
  await run(
    applying(
      'payment_ledger_updated',
      list((c, k, st) => `${into('new', k, st)} - ${into('old', k, st)} as ${c}`),
      '',
    ),
  );
  await run(`create trigger payment_ledger_inserted after insert on payment_movements
    for each row execute function payment_ledger_inserted()`);
  await run(`create trigger payment_ledger_updated after update of status on payment_movements
    for each row when (new.status <> old.status) execute function payment_ledger_updated()`);

  // What the application reads as a payment's sums: the movements' and the charge's.
  await run(`create view payment_totals as
    select p.id as transaction_id, p.currency,
           coalesce(t.authorized, 0) + case when p.status = 'succeeded' then p.amount else 0 end as authorized,
           coalesce(t.captured, 0) + case when p.status = 'succeeded' then coalesce(p.charge_capture, 0) else 0 end as captured,
           coalesce(t.refunded, 0) as refunded, coalesce(t.voided, 0) as voided,
           coalesce(t.pending_authorizations, 0) + case when p.status = 'processing' then p.amount else 0 end as pending_authorizations,
           coalesce(t.pending_captures, 0) + case when p.status = 'processing' then coalesce(p.charge_capture, 0) else 0 end as pending_captures,
           coalesce(t.pending_voids, 0) as pending_voids, coalesce(t.pending_refunds, 0) as pending_refunds,
           case when p.status = 'succeeded' then p.authorization_expires_at end as authorization_expires_at
    from payment_transactions p left join payment_movement_totals t on t.transaction_id = p.id`);
  // The charge's rows carried their sums nowhere but themselves; a totals row that holds only zeros
  // (a payment with no later movement) is left: the triggers would write it again anyway.
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
