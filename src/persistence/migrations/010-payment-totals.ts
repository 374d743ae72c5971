import { sql, type Kysely } from 'kysely';

/**
 * A payment's ledger totals, kept on its row (docs/adr/0015-payment-ledger-totals.md): what an
 * order's payment reads (status, amounts, expiry) without summing its ledger for every order of a
 * list page.
 *
 * The ledger stays the source of truth. The totals are written only by `payment_ledger_check`,
 * which already ran under the payment's row lock for every insert (migration 007); it now also runs
 * once per statement for the payments whose rows changed status or expiry, sums the payment's ledger
 * afresh (no increments that could drift) and stores the sums where they differ. Writers of one
 * payment queue on that lock and each sums with a fresh snapshot taken once it was granted (VOLATILE,
 * READ COMMITTED), so whoever commits last stored the sums of everything committed.
 */
const TOTALS = [
  ['ledger_authorized', 'authorization', 'succeeded'],
  ['ledger_captured', 'capture', 'succeeded'],
  ['ledger_refunded', 'refund', 'succeeded'],
  ['ledger_voided', 'void', 'succeeded'],
  ['ledger_pending_authorizations', 'authorization', 'pending'],
  ['ledger_pending_captures', 'capture', 'pending'],
  ['ledger_pending_voids', 'void', 'pending'],
  ['ledger_pending_refunds', 'refund', 'pending'],
] as const;
const EXPIRY = 'ledger_authorization_expires_at';

const stored = sql.raw([...TOTALS.map(([c]) => c), EXPIRY].join(', '));
/** The totals as sums over the payment's rows of `payment_ledger as l`, in the order of `stored`. */
const sums = sql.raw(
  [
    ...TOTALS.map(
      ([, kind, status]) => `coalesce(sum(l.amount) filter (where l.kind = '${kind}' and l.status = '${status}'), 0)`,
    ),
    `max(l.expires_at) filter (where l.kind = 'authorization' and l.status = 'succeeded')`,
  ].join(', '),
);
const variables = sql.raw([...TOTALS.map(([c]) => `s_${c}`), `s_${EXPIRY}`].join(', '));
const t = Object.fromEntries([...TOTALS.map(([c]) => c), EXPIRY].map((c) => [c, `s_${c}`]));

export async function up(db: Kysely<unknown>): Promise<void> {
  const added = [
    ...TOTALS.map(([c]) => `add column ${c} bigint not null default 0`),
    `add column ${EXPIRY} timestamptz`,
  ];
  await sql`alter table payment_transactions ${sql.raw(added.join(', '))}`.execute(db);

  // Migration 007's checks, over the same sums (pending + succeeded); then the sums are stored.
  await sql`
    create or replace function payment_ledger_check(payment uuid) returns void language plpgsql volatile as $$
    declare
      payment_currency char(3);
      ${sql.raw(TOTALS.map(([c]) => `s_${c} bigint;`).join(' '))}
      s_${sql.raw(EXPIRY)} timestamptz;
      foreign_currency bigint;
    begin
      -- The lock first; currency is never null, so null means no such payment.
      payment_currency := (select currency from payment_transactions where id = payment for update);
      if payment_currency is null then
        raise exception 'payment_ledger: no payment %', payment using errcode = 'ML001';
      end if;
      select ${sums}, count(*) filter (where l.currency <> payment_currency)
        into ${variables}, foreign_currency
        from payment_ledger l where l.transaction_id = payment;
      if foreign_currency > 0 then
        raise exception 'payment_ledger: a movement in another currency than its payment (%)', payment_currency using errcode = 'ML001';
      end if;
      if ${sql.raw(`${t.ledger_captured} + ${t.ledger_pending_captures} + ${t.ledger_voided} + ${t.ledger_pending_voids} > ${t.ledger_authorized} + ${t.ledger_pending_authorizations}`)} then
        raise exception 'payment_ledger: captures and voids (%) exceed the authorization (%)',
          ${sql.raw(`${t.ledger_captured} + ${t.ledger_pending_captures} + ${t.ledger_voided} + ${t.ledger_pending_voids}, ${t.ledger_authorized} + ${t.ledger_pending_authorizations}`)} using errcode = 'ML001';
      end if;
      if ${sql.raw(`${t.ledger_refunded} + ${t.ledger_pending_refunds} > ${t.ledger_captured}`)} then
        raise exception 'payment_ledger: refunds (%) exceed what was captured (%)',
          ${sql.raw(`${t.ledger_refunded} + ${t.ledger_pending_refunds}, ${t.ledger_captured}`)} using errcode = 'ML001';
      end if;
      update payment_transactions set (${stored}) = (${variables})
        where id = payment and (${stored}) is distinct from (${variables});
    end $$`.execute(db);

  // Every move of a status (pending → succeeded too, now: it changes what the payment reads) and
  // every change of an authorization's expiry: once per statement and payment, in payment order
  // (the charge's settlement moves two rows of one payment; locks taken in one order cannot deadlock).
  await sql`drop trigger payment_ledger_failed on payment_ledger`.execute(db);
  await sql`drop function payment_ledger_failed()`.execute(db);
  await sql`
    create function payment_ledger_updated() returns trigger language plpgsql volatile as $$
    begin
      perform payment_ledger_check(moved.payment) from (
        select distinct n.transaction_id as payment from new_rows n join old_rows o on o.id = n.id
        where n.status <> o.status or n.expires_at is distinct from o.expires_at order by 1) moved;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger payment_ledger_updated after update on payment_ledger
    referencing old table as old_rows new table as new_rows for each statement execute function payment_ledger_updated()`.execute(
    db,
  );

  // Today's payments: their totals from their ledger.
  await sql`
    update payment_transactions p set (${stored}) = (select ${sums} from payment_ledger l where l.transaction_id = p.id)
    where exists (select from payment_ledger l where l.transaction_id = p.id)`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
