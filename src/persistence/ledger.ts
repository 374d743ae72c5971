import { sql, type RawBuilder } from 'kysely';
import {
  assertEntryMove,
  type LedgerEntry,
  type LedgerKind,
  type LedgerStatus,
  type LedgerSums,
  type ProviderId,
} from '../domain/payment.js';
import { ledgerSums, toLedgerSums } from './order-repository.js';
import { toAmount, toIso } from './rows.js';
import { fromNow } from './sql-fragments.js';
import type { Db, LedgerRow } from './tables.js';

/**
 * The payment ledger's write API (migration 007, docs/adr/0012-payment-ledger.md). A movement is
 * recorded `pending` in the same transaction as its cause and *before* the provider is called; its
 * id is the provider's idempotency key, so whoever retries it (the request, the reconciler) moves
 * the money once. The provider's answer settles that row; it never creates a second one.
 *
 * The database refuses any write that breaks refunds ≤ captured ≤ authorized, records a provider's
 * movement twice, or rewrites a row: see `ledgerViolation` for telling those refusals apart.
 */

/** A movement after the charge, with what is needed to make it at the provider. */
export interface Movement extends LedgerEntry {
  transaction_id: string;
  order_id: string;
  provider: ProviderId;
  /** The payment the provider knows this movement by: the capture for a refund, the authorization for a capture or void. */
  payment_reference: string | null;
  attempts: number;
  expires_at: string | null;
  /** What finishes when it settles (a capture: the order's move to `shipped`). */
  context: unknown;
}

export interface NewMovement {
  id: string;
  transactionId: string;
  orderId: string;
  kind: Extract<LedgerKind, 'capture' | 'void' | 'refund' | 'dispute'>;
  amount: number;
  currency: string;
  actor: string;
  reason: string | null;
  /** Known when the provider made it (a dashboard refund): recorded with its reference. */
  status?: LedgerStatus;
  providerReference?: string | null;
  context?: unknown;
  /**
   * When the reconciler may first retry it, from the database's clock: the request has this long to
   * finish it. Null for a movement the provider made (learned by webhook): nobody makes it again.
   */
  retryInMs: number | null;
  now: Date;
}

const toEntry = (r: LedgerRow): LedgerEntry => ({
  id: r.id,
  kind: r.kind as LedgerKind,
  amount: toAmount(r.amount),
  currency: r.currency,
  status: r.status as LedgerStatus,
  provider_reference: r.provider_reference,
  reason: r.reason,
  actor: r.actor,
  created_at: toIso(r.created_at),
  updated_at: toIso(r.updated_at),
});

/** Why the database refused a ledger write, or null when the error is something else. */
export function ledgerViolation(err: unknown): 'invariant' | 'append_only' | 'duplicate_movement' | null {
  const e = err as { code?: unknown; constraint?: unknown } | null;
  if (e?.code === 'ML001') return 'invariant';
  if (e?.code === 'ML002') return 'append_only';
  if (e?.code === '23505' && e.constraint === 'payment_ledger_provider_movement') return 'duplicate_movement';
  return null;
}

/** The row a new movement is stored as; `nextAttemptAt` is when the reconciler may retry it. */
function ledgerRow(m: NewMovement, nextAttemptAt: RawBuilder<Date>) {
  return {
    id: m.id,
    transaction_id: m.transactionId,
    order_id: m.orderId,
    kind: m.kind,
    amount: m.amount,
    currency: m.currency,
    status: m.status ?? (m.kind === 'dispute' ? 'open' : 'pending'),
    provider_reference: m.providerReference ?? null,
    reason: m.reason,
    actor: m.actor,
    context: m.context === undefined ? null : JSON.stringify(m.context),
    next_attempt_at: nextAttemptAt,
    created_at: m.now,
    updated_at: m.now,
  };
}

/**
 * Records a movement in the caller's transaction (`pending` unless given), and returns it ready to
 * be made (`refundPayment`, `releasePayment`) once that transaction committed. Throws the
 * database's refusal when it would break an invariant (`ledgerViolation(err) === 'invariant'`) or
 * record a provider's movement twice (`'duplicate_movement'`).
 */
export async function recordMovement(trx: Db, m: NewMovement): Promise<Movement> {
  await trx
    .insertInto('payment_movements')
    .values(ledgerRow(m, m.retryInMs === null ? sql<Date>`'infinity'::timestamptz` : fromNow(m.retryInMs)))
    .execute();
  const recorded = await findMovement(trx, m.id);
  if (!recorded) throw new Error(`ledger row ${m.id} vanished`);
  return recorded;
}

/**
 * Records a movement the provider made (a dashboard refund, a dispute), learned from its answer:
 * `known` when that provider movement is already in the ledger, `refused` when it would break an
 * invariant (then nothing was written and the caller's transaction goes on: a savepoint).
 */
export async function recordLearnedMovement(trx: Db, m: NewMovement): Promise<'recorded' | 'known' | 'refused'> {
  await sql`savepoint learned_movement`.execute(trx);
  try {
    const row = await trx
      .insertInto('payment_movements')
      .values(ledgerRow(m, sql<Date>`'infinity'::timestamptz`))
      .onConflict((oc) =>
        oc.columns(['kind', 'provider_reference']).where('provider_reference', 'is not', null).doNothing(),
      )
      .returning('id')
      .executeTakeFirst();
    await sql`release savepoint learned_movement`.execute(trx);
    return row ? 'recorded' : 'known';
  } catch (err) {
    if (ledgerViolation(err) !== 'invariant') throw err;
    await sql`rollback to savepoint learned_movement`.execute(trx);
    return 'refused';
  }
}

/**
 * Moves a row on only from the status the caller expects (checked against the domain's table first);
 * false when someone else already moved it. `providerReference` is set only where none was.
 */
export async function settleMovement(
  trx: Db,
  id: string,
  kind: LedgerKind,
  from: LedgerStatus,
  to: LedgerStatus,
  fields: { providerReference?: string | null; expiresAt?: Date | null } = {},
  now = new Date(),
): Promise<boolean> {
  assertEntryMove(kind, from, to);
  const r = await trx
    .updateTable('payment_movements')
    .set({
      status: to,
      updated_at: now,
      last_error: null,
      ...(fields.providerReference && {
        provider_reference: sql<string>`coalesce(provider_reference, ${fields.providerReference}::text)`,
      }),
      ...(fields.expiresAt !== undefined && { expires_at: fields.expiresAt }),
    })
    .where('id', '=', id)
    .where('kind', '=', kind)
    .where('status', '=', from)
    .executeTakeFirst();
  return r.numUpdatedRows > 0n;
}

/**
 * The reference a movement `l` is made against: the capture's for a refund, else the authorization's
 * — a later capture's own, or else (the caller's coalesce) the payment's, which is the charge's.
 *
 * Only the payment's own movements are read. The kind is compared with "is true", the same test in a
 * form the unique index on (kind, provider_reference) cannot answer: without statistics on the ledger
 * (a new table, until autovacuum analyzes it) the plan ANDed that index in, reading every capture ever
 * recorded on each cancel (64 index pages per cancel with 3,500 captures, 0.9 ms).
 */
export const paymentReference = (l: RawBuilder<unknown>) => sql<string | null>`(
  select p.provider_reference from payment_movements p
  where p.transaction_id = ${l}.transaction_id and p.status = 'succeeded' and p.provider_reference is not null
    and (p.kind = case when ${l}.kind = 'refund' then 'capture' else 'authorization' end) is true
  order by p.seq desc limit 1)`;

const movementQuery = (db: Db) =>
  db
    .selectFrom('payment_movements as l')
    .innerJoin('payment_transactions as t', 't.id', 'l.transaction_id')
    .selectAll('l')
    .select([
      't.provider',
      sql<string | null>`coalesce(${paymentReference(sql`l`)}, t.provider_reference)`.as('payment_reference'),
    ]);

export type MovementRow = LedgerRow & { provider: string; payment_reference: string | null };

export const toMovement = (r: MovementRow): Movement => ({
  ...toEntry(r),
  transaction_id: r.transaction_id,
  order_id: r.order_id,
  provider: r.provider as ProviderId,
  payment_reference: r.payment_reference,
  attempts: r.attempts,
  expires_at: r.expires_at ? toIso(r.expires_at) : null,
  context: r.context,
});

export async function findMovement(db: Db, id: string): Promise<Movement | undefined> {
  const row = await movementQuery(db).where('l.id', '=', id).executeTakeFirst();
  return row && toMovement(row as MovementRow);
}

/** Reads the row and locks it until the transaction ends: its settlement and what follows happen once. */
export async function lockMovement(trx: Db, id: string): Promise<Movement | undefined> {
  const row = await movementQuery(trx).where('l.id', '=', id).forUpdate('l').executeTakeFirst();
  return row && toMovement(row as MovementRow);
}

export async function findMovementByReference(
  db: Db,
  kind: LedgerKind,
  reference: string,
): Promise<Movement | undefined> {
  const row = await movementQuery(db)
    .where('l.kind', '=', kind)
    .where('l.provider_reference', '=', reference)
    .executeTakeFirst();
  return row && toMovement(row as MovementRow);
}

/** The payment's pending movements of a kind, oldest first. */
export async function pendingMovements(db: Db, transactionId: string, kind: LedgerKind): Promise<Movement[]> {
  return (await movementsOf(db, transactionId, kind)).filter((m) => m.status === 'pending');
}

/** The payment's movements of a kind, oldest first. */
export async function movementsOf(db: Db, transactionId: string, kind: LedgerKind): Promise<Movement[]> {
  const rows = await movementQuery(db)
    .where('l.transaction_id', '=', transactionId)
    .where('l.kind', '=', kind)
    .orderBy('l.seq')
    .execute();
  return rows.map((r) => toMovement(r as MovementRow));
}

/** Puts off the next attempt by `delayMs` (the caller's backoff), noting why. */
export async function scheduleMovementRetry(db: Db, id: string, delayMs: number, error: string | null): Promise<void> {
  await db
    .updateTable('payment_movements')
    .set({ next_attempt_at: fromNow(delayMs), attempts: sql`attempts + 1`, last_error: error })
    .where('id', '=', id)
    .execute();
}

/** A provider's hint (a webhook) that a pending movement may have settled: look now. */
export async function hurryPendingMovements(db: Db, transactionId: string, kind: LedgerKind): Promise<number> {
  const r = await db
    .updateTable('payment_movements')
    .set({ next_attempt_at: sql<Date>`now()` })
    .where('transaction_id', '=', transactionId)
    .where('kind', '=', kind)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/**
 * Claims due movements after the charge (captures, voids, refunds still `pending`) for the
 * reconciler. SKIP LOCKED lets instances share the work; the lease keeps others off meanwhile.
 * The charge itself is the reconciler's other queue (`claimUnsettled`).
 */
export async function claimDueMovements(trx: Db, limit: number, leaseMs: number): Promise<Movement[]> {
  const rows = await movementQuery(trx)
    .where('l.status', '=', 'pending')
    .where('l.kind', 'in', ['capture', 'void', 'refund'])
    .where('l.next_attempt_at', '<=', sql<Date>`now()`)
    // The queue's index leaves out the settled movements, never due again (migration 016).
    .where('l.next_attempt_at', '<', sql<Date>`'infinity'::timestamptz`)
    .where('t.status', '<>', 'processing')
    .orderBy('l.next_attempt_at')
    .limit(limit)
    .forUpdate('l')
    .skipLocked()
    .execute();
  if (rows.length > 0) {
    await trx
      .updateTable('payment_movements')
      .set({ next_attempt_at: fromNow(leaseMs) })
      .where(
        'id',
        'in',
        rows.map((r) => r.id),
      )
      .execute();
  }
  return rows.map((r) => toMovement(r as MovementRow));
}

/** The order's ledger, oldest first: the charge's authorization and capture, then the movements after it. */
export async function listLedger(db: Db, transactionId: string): Promise<LedgerEntry[]> {
  const rows = await db
    .selectFrom('payment_ledger as l')
    .selectAll('l')
    .where('l.transaction_id', '=', transactionId)
    .orderBy('l.seq')
    .execute();
  return rows.map(toEntry);
}

export async function readLedgerSums(db: Db, transactionId: string): Promise<LedgerSums> {
  return toLedgerSums(await ledgerSums(db, sql`${transactionId}::uuid`).executeTakeFirstOrThrow());
}
