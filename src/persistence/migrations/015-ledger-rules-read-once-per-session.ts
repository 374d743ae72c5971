import { sql, type Kysely } from 'kysely';

/**
 * The ledger's rules, in forms PostgreSQL does not re-read for every statement
 * (docs/adr/0030-ledger-rules-read-once-per-session.md).
 *
 * Each statement that writes a table re-reads the stored text of that table's CHECK constraints,
 * trigger WHEN conditions and generated columns (stringToNode) and compiles it again, however few
 * rows it writes: a prepared statement's plan does not hold them. A function's body, by contrast, is
 * compiled once per session. Counted with callgrind on create's statements, the reading was about a
 * fifth of PostgreSQL's instructions per order. So, with the same rules:
 *
 * - `payment_ledger_append_only` runs without its WHEN: the function already refuses exactly what the
 *   WHEN let through to it.
 * - `payment_totals_start_at_zero` keeps only `pg_trigger_depth() = 0` as its WHEN; a function
 *   checks the eight sums.
 * - The row checks (amount, kind, the statuses each kind may have) are one CHECK calling
 *   `payment_ledger_row_valid`, which also proves the two charge columns: they were generated
 *   columns (recomputed, and re-read, on every insert and update); now the reservation writes them
 *   and the check refuses, with ML001, a row whose columns say other than its id and kind do. So a
 *   charge-shaped row is a charge row exactly, and the foreign keys of 014 still vouch for it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`drop trigger payment_ledger_append_only on payment_ledger`).execute(db);
  await sql
    .raw(
      `create trigger payment_ledger_append_only before update on payment_ledger
       for each row execute function payment_ledger_append_only()`,
    )
    .execute(db);

  await sql
    .raw(
      `create function payment_totals_started_at_zero() returns trigger language plpgsql as $$
       begin
         if new.authorized <> 0 or new.captured <> 0 or new.refunded <> 0 or new.voided <> 0
            or new.pending_authorizations <> 0 or new.pending_captures <> 0 or new.pending_voids <> 0 or new.pending_refunds <> 0 then
           raise exception 'payment_movement_totals are the ledger''s sums: write the ledger' using errcode = 'ML002';
         end if;
         return new;
       end $$`,
    )
    .execute(db);
  await sql.raw(`drop trigger payment_totals_start_at_zero on payment_movement_totals`).execute(db);
  await sql
    .raw(
      `create trigger payment_totals_start_at_zero before insert on payment_movement_totals
       for each row when (pg_trigger_depth() = 0) execute function payment_totals_started_at_zero()`,
    )
    .execute(db);

  await sql
    .raw(
      `alter table payment_ledger
         alter column charge_authorization_of drop expression,
         alter column charge_capture_of drop expression`,
    )
    .execute(db);
  await sql
    .raw(
      `create function payment_ledger_row_valid(l payment_ledger) returns boolean language plpgsql immutable as $$
       begin
         if l.charge_authorization_of is distinct from
              (case when l.kind = 'authorization' and l.id = l.transaction_id then l.transaction_id end)
            or l.charge_capture_of is distinct from
              (case when l.kind = 'capture' and l.id = md5(l.transaction_id::text || ':capture')::uuid then l.transaction_id end) then
           raise exception 'payment_ledger: % % is a charge row exactly when its id derives from its payment''s, and says so', l.kind, l.id
             using errcode = 'ML001';
         end if;
         return l.amount > 0
           and ((l.kind in ('authorization', 'capture', 'void', 'refund') and l.status in ('pending', 'succeeded', 'failed'))
             or (l.kind = 'dispute' and l.status in ('open', 'won', 'lost')));
       end $$`,
    )
    .execute(db);
  // Adding the check reads every ledger row once, under this migration's lock: a large ledger may
  // take longer than the service's statement timeout, which is for requests, not for this.
  await sql.raw(`set local statement_timeout = 0`).execute(db);
  await sql
    .raw(
      `alter table payment_ledger
         drop constraint payment_ledger_amount_check,
         drop constraint payment_ledger_kind_check,
         drop constraint payment_ledger_status,
         add constraint payment_ledger_row_valid check (payment_ledger_row_valid(payment_ledger))`,
    )
    .execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
