import { OrdersController, PaymentsController, type CapturedPayment, type Order, type OrdersCapture, type Refund } from '@paypal/paypal-server-sdk';
import { fromMajorString, toMajorString } from '../domain/money.js';
import { chargeKey, refundKey } from './idempotency.js';
import type { ProviderOptions } from './options.js';
import { createPayPalClient, type PayPalSettings } from './paypal-client.js';
import { isNotFound, paypalCall } from './paypal-errors.js';
import {
  PaymentAmountMismatchError,
  PaymentDeclinedError,
  PaymentProviderError,
  RefundFailedError,
  type PaymentProvider,
  type RefundResult,
  type RetrieveResult,
} from './provider.js';

export type { PayPalSettings } from './paypal-client.js';

/**
 * PayPal through `@paypal/paypal-server-sdk`. The buyer approved a PayPal
 * order in the browser; its id is the payment source. We read it, check that it
 * is for exactly our total in our currency (else 422, nothing captured), and
 * capture it with PayPal-Request-Id `charge-<transaction id>`, so a repeated
 * capture replays the first answer. The reference is the capture id.
 */
export function createPayPalProvider(settings: PayPalSettings, options: ProviderOptions = {}): PaymentProvider {
  const client = createPayPalClient(settings, options);
  const orders = new OrdersController(client);
  const payments = new PaymentsController(client);
  const getOrder = async (id: string): Promise<Order | null> =>
    paypalCall(async () => (await orders.getOrder({ id })).result).catch((err: unknown) => {
      if (isNotFound(err)) return null;
      throw err;
    });

  return {
    id: 'paypal',

    async charge({ transactionId, amount, currency, source, capture: mode }) {
      if (mode === 'manual') throw new PaymentProviderError('paypal: manual capture is not implemented yet');
      const order = await getOrder(source);
      if (!order) throw new PaymentDeclinedError('The PayPal order does not exist.', 'invalid_source');
      assertAmount(order, amount, currency);
      // COMPLETED is tried too: if WE captured it (a retry), PayPal replays our capture for
      // this request id; if anyone else did, it answers ORDER_ALREADY_CAPTURED, a decline.
      if (order.status !== 'APPROVED' && order.status !== 'COMPLETED') {
        throw new PaymentDeclinedError(`The PayPal order is ${order.status ?? 'in an unknown state'}, not approved.`, 'order_not_approved');
      }
      const captured = await paypalCall(
        async () => (await orders.captureOrder({ id: source, paypalRequestId: chargeKey(transactionId), prefer: 'return=representation' })).result,
        { declines: true },
      );
      const capture = captureOf(captured);
      if (!capture?.id) throw new PaymentProviderError(`paypal: order ${source} captured without a capture`);
      if (capture.status === 'COMPLETED') return { reference: capture.id, captured: true, authorizationExpiresAt: null };
      if (capture.status === 'DECLINED' || capture.status === 'FAILED') {
        throw new PaymentDeclinedError('PayPal declined the payment.', capture.statusDetails?.reason?.toLowerCase() ?? 'capture_declined');
      }
      // PENDING (e.g. under review): the money may still arrive; the reconciler asks again later.
      throw new PaymentProviderError(`paypal: capture ${capture.id} is ${capture.status ?? 'unknown'}`);
    },

    async refund({ refundId, reference, amount, currency }) {
      // Request ids live hours, not forever: look for the refund tagged with our id first.
      const existing = await findRefund(reference, refundId);
      const refund =
        existing ??
        (await paypalCall(
          async () =>
            (
              await payments.refundCapturedPayment({
                captureId: reference,
                paypalRequestId: refundKey(refundId),
                prefer: 'return=representation',
                body: { amount: { currencyCode: currency, value: toMajorString(amount, currency) }, customId: refundId },
              })
            ).result,
        ));
      return refundResult(refund);
    },

    // Manual capture arrives with the next change; until then these refuse rather than guess.
    async capture() {
      throw new PaymentProviderError('paypal: capture is not implemented yet');
    },
    async void() {
      throw new PaymentProviderError('paypal: void is not implemented yet');
    },
    async refunds() {
      throw new PaymentProviderError('paypal: refunds() is not implemented yet');
    },
    async disputes() {
      throw new PaymentProviderError('paypal: disputes() is not implemented yet');
    },

    async retrieve({ reference, source }) {
      if (reference) {
        const capture = await paypalCall(async () => (await payments.getCapturedPayment({ captureId: reference })).result).catch((err: unknown) => {
          if (isNotFound(err)) return null;
          throw err;
        });
        return capture ? captureResult(capture) : { status: 'not_found' };
      }
      const order = await getOrder(source);
      const capture = order && captureOf(order);
      // An order still APPROVED (or CREATED) has taken no money: nothing was charged.
      if (!order || !capture) return order?.status === 'VOIDED' ? { status: 'failed' } : { status: 'not_found' };
      return captureResult(capture);
    },
  };

  async function findRefund(captureId: string, refundId: string): Promise<Refund | undefined> {
    const capture = await paypalCall(async () => (await payments.getCapturedPayment({ captureId })).result);
    const orderId = capture.supplementaryData?.relatedIds?.orderId;
    if (!orderId) return undefined;
    const order = await paypalCall(async () => (await orders.getOrder({ id: orderId })).result);
    return order.purchaseUnits?.flatMap((u) => u.payments?.refunds ?? []).find((r) => r.customId === refundId);
  }
}

/** The approved order must be for exactly our amount and currency: one purchase unit, compared in minor units. */
function assertAmount(order: Order, amount: number, currency: string): void {
  const units = order.purchaseUnits ?? [];
  const value = units[0]?.amount;
  let theirs: number | null = null;
  if (units.length === 1 && value?.currencyCode === currency) {
    try {
      theirs = fromMajorString(value.value, currency);
    } catch {
      theirs = null; // more decimals than the currency has: cannot be our amount
    }
  }
  if (theirs !== amount) {
    const shown = units.map((u) => `${u.amount?.value ?? '?'} ${u.amount?.currencyCode ?? '?'}`).join(' + ') || 'nothing';
    throw new PaymentAmountMismatchError(`The PayPal order is for ${shown}; the order total is ${toMajorString(amount, currency)} ${currency}.`);
  }
}

function captureOf(order: Order): OrdersCapture | undefined {
  return order.purchaseUnits?.[0]?.payments?.captures?.[0];
}

function captureResult(capture: OrdersCapture | CapturedPayment): RetrieveResult {
  switch (capture.status) {
    case 'COMPLETED':
    case 'PARTIALLY_REFUNDED':
    case 'REFUNDED': // the charge happened; refunds are tracked separately
      return { status: 'succeeded', reference: capture.id! };
    case 'DECLINED':
    case 'FAILED':
      return { status: 'failed', declineCode: capture.statusDetails?.reason?.toLowerCase() ?? 'capture_declined' };
    default:
      return { status: 'processing' };
  }
}

function refundResult(refund: Refund): RefundResult {
  if (!refund.id) throw new PaymentProviderError('paypal: refund answered without an id');
  if (refund.status === 'COMPLETED') return { status: 'succeeded', reference: refund.id };
  if (refund.status === 'CANCELLED' || refund.status === 'FAILED') throw new RefundFailedError(`paypal: refund ${refund.id} ${refund.status}`, refund.id);
  return { status: 'pending', reference: refund.id };
}
