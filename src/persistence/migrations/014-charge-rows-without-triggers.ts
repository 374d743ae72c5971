import { sql, type Kysely } from 'kysely';

/**
 * No trigger on the create path (docs/adr/0023-charge-rows-without-triggers.md).
 *
 * Migration 011 applied every ledger row to its payment's totals row with a row trigger, and a
 * statement trigger ran after every ledger statement: a create paid for two row triggers in its
 * reservation (the charge's pending authorization and capture), two more in its settlement (both
 * moved to succeeded) and two statement triggers — about as much PostgreSQL work as the rest of the
 * ledger's rows. Now:
 *
 * - **The charge's own rows are counted where they are.** A charge writes at most one authorization
 *   (its id is the transaction's) and one capture (its id derived from the transaction's): the
 *   primary key lets a payment have no second of either. The table of sums keeps only the other
 *   movements (`payment_movement_totals`); `payment_totals`, the view every reader reads, adds the
 *   charge's two rows to it, found by their primary keys. A charge row's move from pending to
 *   succeeded then changes no stored sum and needs no trigger, and its totals cannot drift.
 * - **The database still proves each charge row** without running code for it: two generated
 *   columns name the payment of a charge-shaped row, and foreign keys from them require the
 *   payment's totals row in the same currency, and for a capture the amount the reservation said
 *   the charge captures (`charge_capture`, null when the payment is only authorized at creation).
 *   So a charge capture cannot be slipped in beside the authorization, nor in another amount or
 *   currency; an authorization can only add to what may be taken.
 * - **A charge row moved to failed** is the one move that can break an invariant (an authorization
 *   failed under a capture): a trigger locks the payment's totals row and checks the whole ledger.
 * - **Every other row** applies itself to `payment_movement_totals` with 011's row triggers, which
 *   now count the charge's rows in their test and, when a row's sums come out beyond an invariant,
 *   check the payment's whole ledger at once: an AFTER row trigger runs after its statement wrote
 *   all its rows, so that check sees the statement's end state. 011's statement trigger goes.
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

const list = (f: (c: string, kind: string, status: string) => string, sep = ', ') =>
  TOTALS.map(([c, k, s]) => f(c, k, s)).join(sep);

/** A charge-shaped row (`r`): one of the payment's two rows whose ids derive from the payment's. */
const CHARGE = (r: string) => `(${r}.charge_authorization_of is not null or ${r}.charge_capture_of is not null)`;
const NOT_CHARGE = (r: string) => `(${r}.charge_authorization_of is null and ${r}.charge_capture_of is null)`;

/**
 * The charge's rows of payment `tx` as four sums (`charge_authorized`, `charge_pending_authorization`,
 * `charge_captured`, `charge_pending_capture`): two primary-key lookups.
 */
const chargeSums = (tx: string) => `
  select coalesce(sum(c.amount) filter (where c.kind = 'authorization' and c.status = 'succeeded'), 0) as charge_authorized,
         coalesce(sum(c.amount) filter (where c.kind = 'authorization' and c.status = 'pending'), 0) as charge_pending_authorization,
         coalesce(sum(c.amount) filter (where c.kind = 'capture' and c.status = 'succeeded'), 0) as charge_captured,
         coalesce(sum(c.amount) filter (where c.kind = 'capture' and c.status = 'pending'), 0) as charge_pending_capture
  from payment_ledger c
  where c.id in (${tx}, md5(${tx}::text || ':capture')::uuid) and c.transaction_id = ${tx} and ${CHARGE('c')}`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`drop trigger payment_ledger_checked on payment_ledger`).execute(db);
  await sql.raw(`drop function payment_ledger_flagged()`).execute(db);

  await sql.raw(`alter table payment_totals rename to payment_movement_totals`).execute(db);
  await sql.raw(`alter index payment_totals_pkey rename to payment_movement_totals_pkey`).execute(db);
  await sql.raw(`alter table payment_movement_totals add column charge_capture bigint`).execute(db);
  await sql
    .raw(
      `alter table payment_ledger
        add column charge_authorization_of uuid generated always as
          (case when kind = 'authorization' and id = transaction_id then transaction_id end) stored,
        add column charge_capture_of uuid generated always as
          (case when kind = 'capture' and id = md5(transaction_id::text || ':capture')::uuid then transaction_id end) stored`,
    )
    .execute(db);

  // Today's payments: the charge's capture amount, and the sums of the other rows only.
  await sql.raw(`alter table payment_movement_totals disable trigger payment_totals_guard`).execute(db);
  await sql
    .raw(
      `update payment_movement_totals t set charge_capture = c.amount
       from payment_ledger c where c.charge_capture_of = t.transaction_id`,
    )
    .execute(db);
  await sql
    .raw(
      `update payment_movement_totals t set (${list((c) => c)}, authorization_expires_at) = (
         select ${list((c, k, s) => `coalesce(sum(l.amount) filter (where l.kind = '${k}' and l.status = '${s}'), 0)`)},
                max(l.expires_at) filter (where l.kind = 'authorization' and l.status = 'succeeded')
         from payment_ledger l where l.transaction_id = t.transaction_id and ${NOT_CHARGE('l')})`,
    )
    .execute(db);
  await sql.raw(`alter table payment_movement_totals enable trigger payment_totals_guard`).execute(db);

  // The proofs a charge row carries: its payment's totals row, in its currency, and for a capture
  // the amount its reservation said the charge captures.
  await sql
    .raw(`create unique index payment_movement_totals_currency on payment_movement_totals (transaction_id, currency)`)
    .execute(db);
  await sql
    .raw(
      `create unique index payment_movement_totals_charge_capture on payment_movement_totals (transaction_id, charge_capture, currency)`,
    )
    .execute(db);
  await sql
    .raw(
      `alter table payment_ledger
        add constraint payment_ledger_charge_authorization foreign key (charge_authorization_of, currency)
          references payment_movement_totals (transaction_id, currency),
        add constraint payment_ledger_charge_capture foreign key (charge_capture_of, amount, currency)
          references payment_movement_totals (transaction_id, charge_capture, currency)`,
    )
    .execute(db);

  // What every reader reads: the other movements' sums plus the charge's two rows.
  await sql
    .raw(
      `create view payment_totals as
       select t.transaction_id, t.currency,
              t.authorized + case when a.status = 'succeeded' then a.amount else 0 end as authorized,
              t.captured + case when c.status = 'succeeded' then c.amount else 0 end as captured,
              t.refunded, t.voided,
              t.pending_authorizations + case when a.status = 'pending' then a.amount else 0 end as pending_authorizations,
              t.pending_captures + case when c.status = 'pending' then c.amount else 0 end as pending_captures,
              t.pending_voids, t.pending_refunds,
              greatest(t.authorization_expires_at, case when a.status = 'succeeded' then a.expires_at end) as authorization_expires_at
       from payment_movement_totals t
       left join payment_ledger a
         on a.id = t.transaction_id and a.transaction_id = t.transaction_id and a.charge_authorization_of is not null
       left join payment_ledger c
         on c.id = md5(t.transaction_id::text || ':capture')::uuid and c.transaction_id = t.transaction_id and c.charge_capture_of is not null`,
    )
    .execute(db);

  // 011's row triggers, for the other rows only; their test counts the charge's rows, and a row
  // beyond an invariant has the payment's whole ledger checked at once (it sees the statement's end).
  await sql.raw(`drop trigger payment_ledger_inserted on payment_ledger`).execute(db);
  await sql.raw(`drop trigger payment_ledger_updated on payment_ledger`).execute(db);
  await sql.raw(`drop function payment_ledger_inserted()`).execute(db);
  await sql.raw(`drop function payment_ledger_updated()`).execute(db);
  const outside = `t.captured + ch.charge_captured + t.pending_captures + ch.charge_pending_capture + t.voided + t.pending_voids
      > t.authorized + ch.charge_authorized + t.pending_authorizations + ch.charge_pending_authorization
    or t.refunded + t.pending_refunds > t.captured + ch.charge_captured
    or least(${list((c) => `t.${c}`)}) < 0`;
  const applying = (name: string, deltas: string, expiry: string, match: string) => `
    create function ${name}() returns trigger language plpgsql volatile as $$
    declare
      outside boolean;
    begin
      update payment_movement_totals t set ${list((c) => `${c} = t.${c} + d.${c}`)}, authorization_expires_at = ${expiry}
      from (select ${deltas}) d, (${chargeSums('new.transaction_id')}) ch
      where t.transaction_id = new.transaction_id ${match}
      returning ${outside} into outside;
      if not found then
        -- No such payment, or another currency: 007's check says which.
        perform payment_ledger_check(new.transaction_id);
        raise exception 'payment_ledger: payment % has no totals row', new.transaction_id using errcode = 'ML001';
      end if;
      if outside then
        perform payment_ledger_check(new.transaction_id);
      end if;
      return null;
    end $$`;
  const into = (row: string, k: string, st: string) =>
    `case when ${row}.kind = '${k}' and ${row}.status = '${st}' then ${row}.amount else 0 end`;
  const latest = `when new.kind = 'authorization' and new.status = 'succeeded' then greatest(t.authorization_expires_at, new.expires_at)`;
  await sql
    .raw(
      applying(
        'payment_ledger_inserted',
        list((c, k, st) => `${into('new', k, st)} as ${c}`),
        `case ${latest} else t.authorization_expires_at end`,
        'and t.currency = new.currency',
      ),
    )
    .execute(db);
  await sql
    .raw(
      `create trigger payment_ledger_inserted after insert on payment_ledger
       for each row when ${NOT_CHARGE('new')} execute function payment_ledger_inserted()`,
    )
    .execute(db);
  await sql
    .raw(
      applying(
        'payment_ledger_updated',
        list((c, k, st) => `${into('new', k, st)} - ${into('old', k, st)} as ${c}`),
        `case
          when old.kind = 'authorization' and old.status = 'succeeded' and old.expires_at is not null
               and (new.status <> 'succeeded' or new.expires_at is distinct from old.expires_at)
            then (select max(l.expires_at) from payment_ledger l
                  where l.transaction_id = t.transaction_id and l.kind = 'authorization' and l.status = 'succeeded' and ${NOT_CHARGE('l')})
          ${latest}
          else t.authorization_expires_at end`,
        '',
      ),
    )
    .execute(db);
  await sql
    .raw(
      `create trigger payment_ledger_updated after update of status, expires_at on payment_ledger
       for each row when (${NOT_CHARGE('new')} and (new.status <> old.status or new.expires_at is distinct from old.expires_at))
       execute function payment_ledger_updated()`,
    )
    .execute(db);

  // A charge row that fails: checked against the whole ledger, under the payment's totals row lock
  // (where writers of the payment's other movements queue).
  await sql
    .raw(
      `create function payment_ledger_charge_failed() returns trigger language plpgsql volatile as $$
       begin
         perform 1 from payment_movement_totals where transaction_id = new.transaction_id for no key update;
         perform payment_ledger_check(new.transaction_id);
         return null;
       end $$`,
    )
    .execute(db);
  await sql
    .raw(
      `create trigger payment_ledger_charge_failed after update of status on payment_ledger
       for each row when (${CHARGE('new')} and new.status = 'failed' and old.status <> 'failed')
       execute function payment_ledger_charge_failed()`,
    )
    .execute(db);

  // 011's guard against writing the sums directly stays on the table (renamed with it); its error
  // names the view's readers' word for them.
  await sql
    .raw(
      `create or replace function payment_totals_written_directly() returns trigger language plpgsql as $$
       begin
         raise exception 'payment_movement_totals are the ledger''s sums: write the ledger' using errcode = 'ML002';
       end $$`,
    )
    .execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
