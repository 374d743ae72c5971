/**
 * A payment and its ledger: the one table of legal moves, and the payment's status and amounts
 * derived from its movements (never a counter kept beside them). The database enforces the same
 * moves and the invariants (migration 007); this is where the application asks first.
 */
export const PROVIDERS = ['stripe', 'paypal', 'square', 'adyen', 'mollie', 'sandbox'] as const;
export type ProviderId = (typeof PROVIDERS)[number];

/** Who did what a provider reported (a refund at its dashboard, a dispute, a failure) in the ledger and history. */
export const providerActor = (provider: ProviderId) => `provider:${provider}`;
/** A ledger row the provider made, which we only learned of. */
export const byProvider = (actor: string) => actor.startsWith('provider:');

/** `immediate`: the charge at creation captures; `shipment`: it only authorizes, the move to `shipped` captures. */
export const CAPTURE_MODES = ['immediate', 'shipment'] as const;
export type CaptureMode = (typeof CAPTURE_MODES)[number];

/** How a payment's charge (its first call to the provider) ended. Later money is in the ledger. */
export type TransactionStatus = 'processing' | 'succeeded' | 'failed';

const CHARGE_MOVES: Record<TransactionStatus, readonly TransactionStatus[]> = {
  processing: ['succeeded', 'failed'],
  succeeded: [],
  failed: [],
};

export const LEDGER_KINDS = ['authorization', 'capture', 'void', 'refund', 'dispute'] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

const MOVEMENT_STATUSES = ['pending', 'succeeded', 'failed'] as const;
const DISPUTE_STATUSES = ['open', 'won', 'lost'] as const;
export const LEDGER_STATUSES = [...MOVEMENT_STATUSES, ...DISPUTE_STATUSES] as const;
export type LedgerStatus = (typeof LEDGER_STATUSES)[number];

/** The legal moves of a ledger row. A refund the provider confirmed can still fail later (Stripe `refund.failed`). */
const ENTRY_MOVES: Record<LedgerStatus, readonly LedgerStatus[]> = {
  pending: ['succeeded', 'failed'],
  succeeded: [],
  failed: [],
  open: ['won', 'lost'],
  won: [],
  lost: [],
};

function canMoveCharge(from: TransactionStatus, to: TransactionStatus): boolean {
  return CHARGE_MOVES[from].includes(to);
}

function canMoveEntry(kind: LedgerKind, from: LedgerStatus, to: LedgerStatus): boolean {
  if (kind === 'refund' && from === 'succeeded' && to === 'failed') return true;
  return ENTRY_MOVES[from].includes(to);
}

/**
 * Where a provider's word on a refund moves our row of it, or null: a refund it confirmed succeeds;
 * one that failed after it had succeeded fails (Stripe `refund.failed`); one of ours it refused while
 * we wait stays `pending`, parked by our own refund path for a person to decide (`refund_pending`),
 * while one we only learned from the provider (`learned`) fails with it.
 */
export function refundMoveOnProviderWord(
  row: { status: LedgerStatus; learned: boolean },
  word: 'pending' | 'succeeded' | 'failed',
): LedgerStatus | null {
  if (word === 'succeeded') return row.status === 'pending' ? 'succeeded' : null;
  if (word === 'failed')
    return row.status === 'succeeded' || (row.status === 'pending' && row.learned) ? 'failed' : null;
  return null;
}

/** Every write of a charge's or a ledger row's status asks here first; an illegal move is a bug. */
export function assertChargeMove(from: TransactionStatus, to: TransactionStatus): void {
  if (!canMoveCharge(from, to)) throw new Error(`a charge cannot move from ${from} to ${to}`);
}

export function assertEntryMove(kind: LedgerKind, from: LedgerStatus, to: LedgerStatus): void {
  if (!canMoveEntry(kind, from, to)) throw new Error(`a ${kind} cannot move from ${from} to ${to}`);
}

/** One movement of money, as `GET /api/orders/{id}/payments` shows it. */
export interface LedgerEntry {
  id: string;
  kind: LedgerKind;
  amount: number;
  currency: string;
  status: LedgerStatus;
  provider_reference: string | null;
  reason: string | null;
  actor: string;
  created_at: string;
  updated_at: string;
}

export const PAYMENT_STATUSES = [
  'requires_action',
  'processing',
  'authorized',
  'succeeded',
  'refund_pending',
  'partially_refunded',
  'refunded',
  'voided',
  'failed',
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/** The sums a payment's status is derived from, as the order query reads them. */
export interface LedgerSums {
  authorized: number;
  captured: number;
  refunded: number;
  voided: number;
  /** Amounts of each kind still `pending`. */
  pendingAuthorizations: number;
  pendingCaptures: number;
  pendingVoids: number;
  pendingRefunds: number;
  /** When the succeeded authorization lapses, if it has one. */
  authorizationExpiresAt: string | null;
}

/**
 * What the customer must do for a payment that waits for them (`requires_action`): go to `url`, or
 * hand `client_secret` / `provider_data` to the provider's own browser library.
 */
export interface NextAction {
  type: 'redirect';
  url: string | null;
  expires_at: string;
  client_secret: string | null;
  provider_data: Record<string, unknown> | null;
}

export interface PaymentAmounts {
  status: PaymentStatus;
  amount_authorized: number;
  amount_captured: number;
  amount_refunded: number;
  authorization_expires_at: string | null;
}

/**
 * The payment as the ledger says. A payment with no movements at all (a zero total) reads as its
 * charge ended. A pending void or capture is money in flight: `processing` until the provider answers.
 */
export function derivePayment(s: LedgerSums, charge: TransactionStatus, waitsForCustomer = false): PaymentAmounts {
  const open = s.captured === 0 && s.voided === 0 && s.pendingVoids === 0;
  return {
    // Nothing has moved yet while the customer has still to act; the ledger's pending rows say no more.
    status: waitsForCustomer && charge === 'processing' ? 'requires_action' : deriveStatus(s, charge),
    amount_authorized: s.authorized,
    amount_captured: s.captured,
    amount_refunded: s.refunded,
    authorization_expires_at: s.authorized > 0 && open ? s.authorizationExpiresAt : null,
  };
}

function deriveStatus(s: LedgerSums, charge: TransactionStatus): PaymentStatus {
  if (s.pendingRefunds > 0) return 'refund_pending';
  if (s.captured > 0) {
    if (s.refunded >= s.captured) return 'refunded';
    return s.refunded > 0 ? 'partially_refunded' : 'succeeded';
  }
  if (s.pendingAuthorizations > 0 || s.pendingCaptures > 0 || s.pendingVoids > 0) return 'processing';
  if (s.authorized > 0) return s.voided > 0 ? 'voided' : 'authorized';
  if (charge === 'succeeded') return 'succeeded'; // nothing to move: a zero total
  return charge;
}

/**
 * What a payment reads once the movement that gives all its money back is recorded and not yet made
 * (a cancel): a pending refund of what was captured is `refund_pending`; a pending void of an
 * authorization nothing was captured from is `processing` — deriveStatus's own rules for them.
 */
export function statusWhileReleased(
  p: Pick<PaymentAmounts, 'status' | 'amount_authorized' | 'amount_captured' | 'amount_refunded'>,
): PaymentStatus {
  if (p.amount_captured > p.amount_refunded) return 'refund_pending';
  if (p.amount_authorized > 0 && p.amount_captured === 0) return 'processing';
  return p.status;
}

/** What is left to refund (pending refunds count as taken). */
export const refundable = (s: LedgerSums) => s.captured - s.refunded - s.pendingRefunds;
