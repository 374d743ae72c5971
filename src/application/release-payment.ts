import type { Order } from '../domain/order.js';
import type { Movement } from '../persistence/ledger.js';
import type { Deps } from './deps.js';
import { refundPayment } from './refund-payment.js';
import { voidPayment } from './void-payment.js';

/**
 * Gives back what a payment holds, by the movement already recorded for it: a refund of captured
 * money, or a void of an authorization nothing was captured from. Returns the order as it reads once
 * the provider confirmed, or undefined while the movement is still pending (the reconciler retries it).
 * `refunded`: the order as it will read once a refund is made, when the caller knows it (refundPayment).
 */
export async function releasePayment(
  deps: Deps,
  m: Movement,
  refunded?: Order,
): Promise<{ settled: boolean; order: Order | undefined }> {
  if (m.kind === 'refund') {
    const r = await refundPayment(deps, m, refunded);
    return r.status === 'succeeded' ? { settled: true, order: r.order } : { settled: false, order: undefined };
  }
  if (m.kind === 'void') {
    const r = await voidPayment(deps, m);
    return r.status === 'succeeded' ? { settled: true, order: r.order } : { settled: false, order: undefined };
  }
  throw new Error(`a ${m.kind} does not give money back`);
}
