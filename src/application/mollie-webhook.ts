import { PaymentProviderError } from '../payments/provider.js';
import { errors } from '../domain/errors.js';
import { hurryPendingMovements } from '../persistence/ledger.js';
import { findOrder, lockOrder } from '../persistence/order-repository.js';
import { findTransactionByReference, lockTransaction } from '../persistence/transaction-repository.js';
import type { Deps } from './deps.js';
import { learnDisputes, learnRefunds } from './provider-money.js';
import { settleAwaitingPayment } from './settle-awaiting-payment.js';

export type MollieWebhookOutcome = 'applied' | 'ignored';

/**
 * Mollie's webhook carries only a payment id and no signature: it is a hint that something changed,
 * never a statement. So nothing in it is believed: the payment is fetched from Mollie and the
 * service acts on what Mollie says — the order that waits for it settled by the one settle step, its
 * refunds and chargebacks written into the ledger, its pending capture or release asked again now.
 * An id the service never created is answered and ignored, so a stranger posting ids learns
 * nothing and changes nothing. Mollie calls again when its payment changes again, so the same call
 * twice is harmless: each step moves only what is still open.
 */
export async function handleMollieWebhook(deps: Deps, paymentId: string): Promise<MollieWebhookOutcome> {
  const t = await findTransactionByReference(deps.db, 'mollie', paymentId);
  if (!t) return 'ignored';
  if (t.status === 'processing' && t.action_expires_at !== null) {
    try {
      await settleAwaitingPayment(deps, t.order_id, { kind: 'webhook' });
    } catch (err) {
      // Mollie down while it calls us (found by the soak: a 500): Mollie calls again, as for the refunds below.
      if (!(err instanceof PaymentProviderError)) throw err;
      deps.logger.warn({ err, paymentId }, 'mollie could not be asked about its webhook; it calls again');
      throw errors.serviceUnavailable('Mollie could not be asked about this payment; call again later.');
    }
    return 'applied';
  }
  if (t.status !== 'succeeded') return 'ignored';
  const provider = deps.payments.get('mollie');
  const query = { reference: paymentId, currency: t.currency };
  let truth;
  try {
    truth = { refunds: await provider.refunds(query), disputes: await provider.disputes(query) };
  } catch (err) {
    deps.logger.warn({ err, paymentId }, 'mollie could not be asked about its webhook; it calls again');
    throw errors.serviceUnavailable('Mollie could not be asked about this payment; call again later.');
  }
  const now = deps.clock();
  await deps.db.transaction().execute(async (trx) => {
    const order = await lockOrder(trx, t.order_id);
    if (!order) await lockTransaction(trx, t.id);
    await learnRefunds(trx, t, truth.refunds, now);
    await learnDisputes(trx, t, truth.disputes, now);
    // A capture or release Mollie finishes later: asked again now rather than at its next retry.
    await hurryPendingMovements(trx, t.id, 'capture');
    await hurryPendingMovements(trx, t.id, 'void');
  });
  return (await findOrder(deps.db, t.order_id)) ? 'applied' : 'ignored';
}
