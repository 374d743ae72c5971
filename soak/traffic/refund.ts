import { randomUUID } from 'node:crypto';
import { pickOrder, untilAnswered, type TrafficKind } from './shop.js';

/**
 * Support refunds part of what an order's payment captured (a damaged box), with an
 * Idempotency-Key and retried with it until answered. Another refund racing it (a cancel, a
 * dashboard refund) may leave less than asked: 422 refund_exceeds_captured is an answer too.
 */
export const refund: TrafficKind = {
  name: 'refund',
  weight: 2,
  async run(shop, rnd) {
    const known = pickOrder(shop, rnd, rnd.pick(['pending', 'shipped', 'delivered']));
    if (!known) return;
    const now = await shop.client.call('read', 'admin', 'GET', `/api/orders/${known.id}`);
    if (now.status !== 200) return;
    const p = now.body.payment as { amount_captured: number; amount_refunded: number };
    const left = p.amount_captured - p.amount_refunded;
    if (left <= 0) return;
    const amount = rnd.int(1, Math.min(left, 800));
    const key = { 'idempotency-key': randomUUID() };
    const answer = await untilAnswered(
      () =>
        shop.client.call('refund', 'admin', 'POST', `/api/orders/${known.id}/refunds`, {
          body: { amount, reason: 'soak: damaged box' },
          headers: key,
        }),
      90_000,
    );
    if (answer.status === 201)
      shop.client.ack({ type: 'refund', order_id: known.id, ledger_id: answer.body.id as string, amount });
  },
};
