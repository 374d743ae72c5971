import { SquareClient, SquareEnvironment, type Square } from 'square';
import type { Config } from '../config.js';
import { captureKey, chargeKey, refundKey } from './idempotency.js';
import { sdkTimeouts, type ProviderOptions } from './options.js';
import {
  PaymentDeclinedError,
  PaymentProviderError,
  RefundFailedError,
  type PaymentProvider,
  type ProviderDispute,
  type ProviderRefund,
  type RefundResult,
  type RetrieveResult,
} from './provider.js';
import { errorCode, isNotFound, squareCall, throwIfErrors } from './square-errors.js';

/**
 * Square through its official SDK: `payments.create` with the buyer's source
 * id, `refunds.refundPayment`. Amounts are BigInt in this SDK (integers on the
 * wire). Every create carries our deterministic idempotency_key (Square caps it
 * at 45 characters), and the payment carries `reference_id` = our transaction
 * id, which is how a payment is found again when we never learnt its id.
 *
 * Manual capture is Square's delayed capture: `autocomplete: false` authorizes
 * (APPROVED until `delayed_until`), `payments.complete` captures, `cancel`
 * voids. CompletePayment always takes the payment's whole `amount_money`, so
 * capturing less is first `payments.update` with the lower amount (Square's
 * documented way; its idempotency key comes from our capture id), then
 * complete. Neither complete nor cancel takes an idempotency key, and neither
 * needs one: each moves the payment out of APPROVED once, and a retry that
 * finds it already moved reads the payment and answers from its state.
 */
export type SquareSettings = NonNullable<Config['square']>;

const KEY_LIMIT = 45;

export function createSquareClient(settings: SquareSettings, options: ProviderOptions = {}): SquareClient {
  const { timeoutMs, maxRetries } = sdkTimeouts(options);
  return new SquareClient({
    token: settings.accessToken,
    baseUrl: settings.apiBase ?? (options.production ? SquareEnvironment.Production : SquareEnvironment.Sandbox),
    timeoutInSeconds: timeoutMs / 1000,
    // The SDK retries 408/429/5xx only (not timeouts), with its own backoff.
    maxRetries,
  });
}

export function createSquareProvider(settings: SquareSettings, options: ProviderOptions = {}): PaymentProvider {
  const square = createSquareClient(settings, options);
  const money = (amount: number, currency: string): Square.Money => ({
    amount: BigInt(amount),
    currency: currency as Square.Currency,
  });

  return {
    id: 'square',

    async charge({ transactionId, amount, currency, source, description, capture }) {
      const manual = capture === 'manual';
      const res = await squareCall(() =>
        square.payments.create({
          idempotencyKey: chargeKey(transactionId, KEY_LIMIT),
          sourceId: source,
          amountMoney: money(amount, currency),
          locationId: settings.locationId,
          referenceId: transactionId,
          autocomplete: !manual,
          note: description.slice(0, 500),
        }),
      );
      throwIfErrors(res.errors); // a 200 that carries `errors` is a failure, not a payment
      const payment = res.payment;
      if (!payment?.id) throw new PaymentProviderError('square: create payment answered without a payment');
      if (payment.status === 'COMPLETED')
        return { reference: payment.id, captured: true, authorizationExpiresAt: null };
      if (payment.status === 'APPROVED' && manual)
        return { reference: payment.id, captured: false, authorizationExpiresAt: dateOrNull(payment.delayedUntil) };
      if (payment.status === 'FAILED' || payment.status === 'CANCELED') {
        throw new PaymentDeclinedError('Your card was declined.', cardErrorCode(payment) ?? 'generic_decline');
      }
      // APPROVED / PENDING: money may still move; the reconciler asks again later.
      throw new PaymentProviderError(`square: payment ${payment.id} is ${payment.status ?? 'unknown'}`);
    },

    async capture({ captureId, reference, amount, currency }) {
      const payment = await getPayment(reference);
      if (payment.status === 'APPROVED') {
        if (payment.amountMoney?.amount !== BigInt(amount)) {
          await squareCall(async () => {
            const res = await square.payments.update({
              paymentId: reference,
              idempotencyKey: captureKey(captureId, KEY_LIMIT),
              payment: { amountMoney: money(amount, currency) },
            });
            throwIfErrors(res.errors);
          }).catch((err: unknown) => {
            if (errorCode(err) === 'AMOUNT_TOO_HIGH')
              throw new PaymentDeclinedError('The capture is more than was authorized.', 'amount_too_large');
            throw err;
          });
        }
        const completed = await squareCall(async () => {
          const res = await square.payments.complete({ paymentId: reference });
          throwIfErrors(res.errors);
          return res.payment;
        }).catch(async (err: unknown) => {
          // Refused: it moved on meanwhile (expired, or completed by our own earlier attempt).
          if (err instanceof PaymentProviderError && errorCode(err) !== undefined) return getPayment(reference);
          throw err;
        });
        return captured(completed ?? (await getPayment(reference)));
      }
      return captured(payment);
    },

    async void({ reference }) {
      const payment = await getPayment(reference);
      if (payment.status === 'CANCELED') return; // released already: by us earlier, or by its delay action
      if (payment.status !== 'APPROVED') {
        throw new PaymentDeclinedError(
          `The payment is ${payment.status ?? 'unknown'}; it cannot be voided.`,
          payment.status === 'COMPLETED' ? 'already_captured' : 'payment_not_approved',
        );
      }
      const after = await squareCall(async () => {
        const res = await square.payments.cancel({ paymentId: reference });
        throwIfErrors(res.errors);
        return res.payment;
      }).catch(async (err: unknown) => {
        if (err instanceof PaymentProviderError && errorCode(err) !== undefined) return getPayment(reference);
        throw err;
      });
      const status = (after ?? (await getPayment(reference))).status;
      if (status !== 'CANCELED')
        throw new PaymentDeclinedError(
          `The payment is ${status ?? 'unknown'}; it cannot be voided.`,
          status === 'COMPLETED' ? 'already_captured' : 'payment_not_approved',
        );
    },

    async refunds({ reference }) {
      const payment = await getPayment(reference);
      const found: Square.PaymentRefund[] = [];
      for (const refundId of payment.refundIds ?? []) {
        const refund = await squareCall(async () => (await square.refunds.get({ refundId })).refund);
        if (refund) found.push(refund);
      }
      return found.sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '')).map(providerRefund);
    },

    async disputes({ reference }) {
      // ListDisputes has no payment filter: walk the location's disputes and keep this payment's.
      return squareCall(async () => {
        const found: ProviderDispute[] = [];
        const page = await square.disputes.list({ locationId: settings.locationId });
        for await (const d of page) {
          if (d.disputedPayment?.paymentId !== reference || !d.id) continue;
          found.push({
            reference: d.id,
            amount: Number(d.amountMoney?.amount ?? 0),
            currency: d.amountMoney?.currency ?? '',
            status: disputeStatus(d.state),
          });
        }
        return found;
      });
    },

    async refund({ refundId, reference, amount, currency }) {
      // Square keeps no field of ours on a refund, so the reason carries our refund id: a refund
      // asked for again (even after the idempotency key is forgotten) finds the one already made.
      const reason = `Order refund ${refundId}`;
      const existing = await findRefund(square, reference, reason);
      const refund =
        existing ??
        (await squareCall(async () => {
          const res = await square.refunds.refundPayment({
            idempotencyKey: refundKey(refundId, KEY_LIMIT),
            paymentId: reference,
            amountMoney: money(amount, currency),
            reason,
          });
          throwIfErrors(res.errors);
          return res.refund;
        }));
      if (!refund) throw new PaymentProviderError('square: refund answered without a refund');
      return refundResult(refund);
    },

    async retrieve({ transactionId, reference, amount }) {
      if (reference) {
        const payment = await squareCall(
          async () => (await square.payments.get({ paymentId: reference })).payment,
        ).catch((err: unknown) => {
          if (isNotFound(err)) return undefined;
          throw err;
        });
        return payment ? retrieveResult(payment) : { status: 'not_found' };
      }
      // No id: list this location's payments of exactly this total and match our reference_id.
      // Listing only reads, so asking can never charge.
      const matches = await squareCall(async () => {
        const found: Square.Payment[] = [];
        const page = await square.payments.list({
          locationId: settings.locationId,
          total: BigInt(amount),
          sortOrder: 'DESC',
          limit: 100,
        });
        for await (const p of page) if (p.referenceId === transactionId) found.push(p);
        return found;
      });
      const best =
        matches.find((p) => p.status === 'COMPLETED') ??
        matches.find((p) => p.status === 'APPROVED' || p.status === 'PENDING') ??
        matches[0];
      return best ? retrieveResult(best) : { status: 'not_found' };
    },
  };

  async function getPayment(paymentId: string): Promise<Square.Payment> {
    const payment = await squareCall(async () => {
      const res = await square.payments.get({ paymentId });
      throwIfErrors(res.errors);
      return res.payment;
    });
    if (!payment) throw new PaymentProviderError(`square: payment ${paymentId} answered without a payment`);
    return payment;
  }
}

/** What a capture attempt found the payment to be. */
function captured(payment: Square.Payment): { reference: string } {
  if (payment.status === 'COMPLETED') return { reference: payment.id! };
  if (payment.status === 'CANCELED') {
    throw lapsed(payment)
      ? new PaymentDeclinedError('The authorization expired before it was captured.', 'authorization_expired')
      : new PaymentDeclinedError('The authorization was voided.', 'authorization_voided');
  }
  if (payment.status === 'FAILED')
    throw new PaymentDeclinedError('The payment failed.', cardErrorCode(payment) ?? 'generic_decline');
  throw new PaymentProviderError(`square: payment ${payment.id} is ${payment.status ?? 'unknown'} after completing it`);
}

/** A delayed payment canceled at or after `delayed_until` was canceled by its delay action, not by us. */
function lapsed(payment: Square.Payment): boolean {
  return payment.delayedUntil !== undefined && Date.parse(payment.delayedUntil) <= Date.now();
}

function dateOrNull(value: string | undefined | null): Date | null {
  return value ? new Date(value) : null;
}

function disputeStatus(state: Square.DisputeState | undefined): ProviderDispute['status'] {
  if (state === 'WON' || state === 'INQUIRY_CLOSED') return 'won';
  if (state === 'LOST' || state === 'ACCEPTED') return 'lost';
  return 'open';
}

/** Our refunds carry our id in their reason (`Order refund <id>`); a dashboard refund's reason is whatever was typed. */
const OUR_REASON = /^Order refund (.+)$/;

function providerRefund(r: Square.PaymentRefund): ProviderRefund {
  const status =
    r.status === 'COMPLETED' ? 'succeeded' : r.status === 'REJECTED' || r.status === 'FAILED' ? 'failed' : 'pending';
  return {
    reference: r.id,
    amount: Number(r.amountMoney.amount ?? 0),
    currency: r.amountMoney.currency ?? '',
    status,
    refundId: OUR_REASON.exec(r.reason ?? '')?.[1] ?? null,
  };
}

async function findRefund(
  square: SquareClient,
  paymentId: string,
  reason: string,
): Promise<Square.PaymentRefund | undefined> {
  return squareCall(async () => {
    const { payment } = await square.payments.get({ paymentId });
    for (const refundId of payment?.refundIds ?? []) {
      const { refund } = await square.refunds.get({ refundId });
      if (refund?.reason === reason) return refund;
    }
    return undefined;
  });
}

function retrieveResult(payment: Square.Payment): RetrieveResult {
  switch (payment.status) {
    case 'COMPLETED':
      return { status: 'succeeded', reference: payment.id! };
    case 'APPROVED':
      return { status: 'authorized', reference: payment.id!, authorizationExpiresAt: dateOrNull(payment.delayedUntil) };
    case 'CANCELED':
      // An authorization released (by us or by its delay action); a card that failed is a failure.
      if (payment.cardDetails?.status === 'VOIDED')
        return { status: 'voided', reference: payment.id!, expired: lapsed(payment) };
    // falls through
    case 'FAILED': {
      const declineCode = cardErrorCode(payment);
      return declineCode ? { status: 'failed', declineCode } : { status: 'failed' };
    }
    default:
      return { status: 'processing' };
  }
}

function refundResult(refund: Square.PaymentRefund): RefundResult {
  if (refund.status === 'COMPLETED') return { status: 'succeeded', reference: refund.id };
  if (refund.status === 'REJECTED' || refund.status === 'FAILED') {
    throw new RefundFailedError(`square: refund ${refund.id} ${refund.status}`, refund.id);
  }
  return { status: 'pending', reference: refund.id };
}

function cardErrorCode(payment: Square.Payment): string | undefined {
  const code = payment.cardDetails?.errors?.[0]?.code;
  return code ? code.toLowerCase() : undefined;
}
