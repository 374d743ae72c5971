import type { DbSnapshot } from './database.js';
import { groupBy, line, type AuditLine } from './line.js';
import type { Message } from './sources.js';

/**
 * Every committed change announced: after dropping duplicates by id, each message the database
 * queued arrived, and each change the database records (an order, a cancel, a status step, a
 * refund, a return) has the event and the email the contract promises for it — counted from the
 * domain tables, so a change whose message was never queued is missed too.
 */
function unique(messages: Message[]): Message[] {
  return [...new Map(messages.map((m) => [m.id, m])).values()];
}

interface Expected {
  type: string;
  count: (orderId: string) => number;
}

function shortfalls(db: DbSnapshot, received: Message[], expected: Expected[]): string[] {
  const byOrder = groupBy(received, (m) => m.order_id);
  const failures: string[] = [];
  for (const o of db.orders) {
    const got = byOrder.get(o.id) ?? [];
    for (const e of expected) {
      const want = e.count(o.id);
      const have = got.filter((m) => m.type === e.type).length;
      if (have < want) failures.push(`${e.type} for order ${o.id}: ${have} of ${want}`);
    }
  }
  return failures;
}

export function messages(db: DbSnapshot, events: Message[], emails: Message[]): AuditLine[] {
  const ev = unique(events);
  const em = unique(emails);
  const orders = new Map(db.orders.map((o) => [o.id, o]));
  const history = groupBy(db.history, (h) => h.order_id);
  // A step is an entry whose status differs from the one before it; the others are notes.
  const steps = (id: string, status: string) =>
    (history.get(id) ?? []).filter((h, i, all) => h.status === status && all[i - 1]?.status !== status).length;
  const refunds = groupBy(
    db.ledger.filter((l) => l.kind === 'refund' && l.status === 'succeeded'),
    (l) => l.order_id,
  );
  const returns = groupBy(db.returns, (r) => r.order_id);
  const returnsIn = (id: string, status?: string) =>
    (returns.get(id) ?? []).filter((r) => !status || r.status === status).length;
  // Placed: it reached `pending` (an order that waited for its customer may never have). One never
  // placed gets no order.created and no email, only order.cancelled when it ends.
  const placed = (id: string) => (steps(id, 'pending') > 0 ? 1 : 0);
  const cancelled = (id: string) => (orders.get(id)?.status === 'cancelled' ? 1 : 0);
  const hasEmail = (id: string) => (orders.get(id)?.email ? 1 : 0);

  const eventIds = new Set(ev.map((m) => m.id));
  const emailIds = new Set(em.map((m) => m.id));
  const queuedLost = db.outbox
    .filter((m) => (m.kind === 'event' ? !eventIds.has(m.id) : !emailIds.has(m.id)))
    .map((m) => `${m.kind} ${m.topic} ${m.id} (${m.status})`);

  const refundIds = new Set(ev.filter((m) => m.type === 'payment.refunded').map((m) => m.refund_id));
  const refundEvents = db.ledger
    .filter((l) => l.kind === 'refund' && l.status === 'succeeded' && orders.has(l.order_id) && !refundIds.has(l.id))
    .map((l) => `payment.refunded for refund ${l.id}`);

  const eventsMissing = [
    ...shortfalls(db, ev, [
      { type: 'order.created', count: placed },
      { type: 'order.cancelled', count: cancelled },
      {
        type: 'order.status_changed',
        count: (id) => steps(id, 'processing') + steps(id, 'shipped') + steps(id, 'delivered'),
      },
      { type: 'order.return_requested', count: (id) => returnsIn(id) },
      { type: 'order.return_received', count: (id) => returnsIn(id, 'received') },
      { type: 'order.return_rejected', count: (id) => returnsIn(id, 'rejected') },
    ]),
    ...refundEvents,
  ];
  const emailsMissing = shortfalls(db, em, [
    { type: 'order_confirmation', count: (id) => placed(id) * hasEmail(id) },
    { type: 'order_cancelled', count: (id) => cancelled(id) * placed(id) * hasEmail(id) },
    { type: 'order_shipped', count: (id) => steps(id, 'shipped') * hasEmail(id) },
    { type: 'order_delivered', count: (id) => steps(id, 'delivered') * hasEmail(id) },
    { type: 'refund_issued', count: (id) => (refunds.get(id)?.length ?? 0) * hasEmail(id) },
    { type: 'return_requested', count: (id) => returnsIn(id) * hasEmail(id) },
  ]);
  return [
    line('queued messages not delivered (outbox rows never received)', queuedLost),
    line('events missing for a committed change', eventsMissing),
    line('emails missing for a committed change', emailsMissing),
  ];
}
