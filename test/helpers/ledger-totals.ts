import type { Kysely } from 'kysely';
import type { Database } from '../../src/persistence/tables.js';

/** A payment's totals as its totals row keeps them (migration 011), in the shape `readLedgerSums` gives the ledger's sums. */
export async function ledgerTotals(db: Kysely<Database>, transactionId: string) {
  const r = await db
    .selectFrom('payment_totals')
    .select([
      'authorized',
      'captured',
      'refunded',
      'voided',
      'pending_authorizations',
      'pending_captures',
      'pending_voids',
      'pending_refunds',
      'authorization_expires_at',
    ])
    .where('transaction_id', '=', transactionId)
    .executeTakeFirstOrThrow();
  return {
    authorized: Number(r.authorized),
    captured: Number(r.captured),
    refunded: Number(r.refunded),
    voided: Number(r.voided),
    pendingAuthorizations: Number(r.pending_authorizations),
    pendingCaptures: Number(r.pending_captures),
    pendingVoids: Number(r.pending_voids),
    pendingRefunds: Number(r.pending_refunds),
    authorizationExpiresAt:
      r.authorization_expires_at === null ? null : new Date(r.authorization_expires_at).toISOString(),
  };
}
