import type { Kysely } from 'kysely';
import type { Database } from '../../src/persistence/tables.js';

/** A payment's totals as its row keeps them (migration 010), in the shape `readLedgerSums` gives the ledger's sums. */
export async function ledgerTotals(db: Kysely<Database>, transactionId: string) {
  const r = await db
    .selectFrom('payment_transactions')
    .select([
      'ledger_authorized',
      'ledger_captured',
      'ledger_refunded',
      'ledger_voided',
      'ledger_pending_authorizations',
      'ledger_pending_captures',
      'ledger_pending_voids',
      'ledger_pending_refunds',
      'ledger_authorization_expires_at',
    ])
    .where('id', '=', transactionId)
    .executeTakeFirstOrThrow();
  return {
    authorized: Number(r.ledger_authorized),
    captured: Number(r.ledger_captured),
    refunded: Number(r.ledger_refunded),
    voided: Number(r.ledger_voided),
    pendingAuthorizations: Number(r.ledger_pending_authorizations),
    pendingCaptures: Number(r.ledger_pending_captures),
    pendingVoids: Number(r.ledger_pending_voids),
    pendingRefunds: Number(r.ledger_pending_refunds),
    authorizationExpiresAt: r.ledger_authorization_expires_at === null ? null : new Date(r.ledger_authorization_expires_at).toISOString(),
  };
}
