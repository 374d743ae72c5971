import type { DbSnapshot } from './database.js';
import { groupBy, line, sum, type AuditLine } from './line.js';
import { settleHorizonMs, type Ack, type Deadlines } from './sources.js';

/** What the load generator was told succeeded, and is not in the database. */
export function acknowledged(db: DbSnapshot, acks: Ack[]): AuditLine[] {
  const orders = new Map(db.orders.map((o) => [o.id, o]));
  const missingOrders = acks
    .filter((a) => a.type === 'order' && !orders.has(String(a.id)))
    .map((a) => `order ${String(a.id)}`);

  const items = groupBy(db.items, (i) => i.order_id);
  const ledger = new Map(db.ledger.map((l) => [l.id, l]));
  const returns = new Map(db.returns.map((r) => [r.id, r]));
  const unitCancels = groupBy(
    acks.filter((a) => a.type === 'cancel' && a.units === 1),
    (a) => String(a.order_id),
  );
  const changes: string[] = [];
  for (const a of acks) {
    const order = orders.get(String(a.order_id));
    if (a.type === 'cancel' && a.units === 'all' && order?.status !== 'cancelled')
      changes.push(`cancel of ${String(a.order_id)}: ${order?.status ?? 'no order'}`);
    if (a.type === 'ship' && !['shipped', 'delivered'].includes(order?.status ?? ''))
      changes.push(`ship of ${String(a.order_id)}: ${order?.status ?? 'no order'}`);
    if (a.type === 'refund') {
      const row = ledger.get(String(a.ledger_id));
      if (row?.kind !== 'refund' || row.amount !== a.amount)
        changes.push(
          `refund ${String(a.ledger_id)} of ${String(a.order_id)}: ${row ? `${row.kind} ${row.amount}` : 'no ledger row'}`,
        );
    }
    if (a.type === 'return') {
      const r = returns.get(String(a.return_id));
      if (!r || (a.decision !== 'requested' && r.status !== a.decision))
        changes.push(`return ${String(a.return_id)}: ${r?.status ?? 'none'}, told ${String(a.decision)}`);
    }
  }
  for (const [orderId, cancels] of unitCancels) {
    const cancelled = sum(items.get(orderId) ?? [], (i) => i.quantity_cancelled);
    if (cancelled < cancels.length)
      changes.push(`${cancels.length} unit cancels of ${orderId} acknowledged, ${cancelled} units cancelled`);
  }
  return [
    line('acknowledged orders missing', missingOrders),
    line('acknowledged changes missing (cancel, ship, refund, return)', changes),
  ];
}

/** initial − sold + cancelled + restocked returns = now, per product of the run. */
export function stock(db: DbSnapshot, acks: Ack[]): AuditLine {
  const initial = new Map(acks.filter((a) => a.type === 'product').map((a) => [String(a.id), Number(a.stock)]));
  const received = new Map(db.returns.filter((r) => r.status === 'received' && r.restock).map((r) => [r.id, r]));
  const failures: string[] = [];
  for (const p of db.products) {
    const start = initial.get(p.id);
    if (start === undefined || p.stock === null) continue;
    const lines = db.items.filter((i) => i.product_id === p.id);
    const sold = sum(lines, (i) => i.quantity);
    const cancelled = sum(lines, (i) => i.quantity_cancelled);
    const restocked = sum(
      db.returnItems.filter((ri) => ri.product_id === p.id && received.has(ri.return_id)),
      (ri) => ri.quantity,
    );
    const expected = start - sold + cancelled + restocked;
    if (expected !== p.stock)
      failures.push(`${p.id}: ${start} − ${sold} + ${cancelled} + ${restocked} = ${expected}, stock is ${p.stock}`);
  }
  return line('stock not adding up (initial − sold + cancelled + restocked = now)', failures);
}

/**
 * After the drain nothing may still be open: every charge settled, every movement and message
 * through, no order waiting for its customer. What is open past its deadline (`settleHorizonMs` of the
 * instances' own settings, from its creation, on the database's clock) is stuck; what is open and
 * still within it is counted on a line of its own — the drain ended before the audit could judge it —
 * so that nothing open is ever let through. A dead message is stuck at any age.
 */
export function stuck(db: DbSnapshot, deadlines: Deadlines): AuditLine[] {
  const horizon = settleHorizonMs(deadlines);
  const past: string[] = [];
  const within: string[] = [];
  const judge = (createdAt: Date, what: string, dead = false) => {
    const age = db.now.getTime() - createdAt.getTime();
    (dead || age > horizon ? past : within).push(`${what} (${Math.round(age / 1000)} s old)`);
  };
  for (const t of db.transactions.filter((x) => x.status === 'processing')) judge(t.created_at, openCharge(db, t));
  for (const l of db.ledger.filter((x) => x.status === 'pending'))
    judge(l.created_at, `${l.kind} ${l.id} of ${l.order_id} pending`);
  for (const m of db.outbox.filter((x) => x.status !== 'delivered'))
    judge(m.created_at, `${m.kind} ${m.topic} ${m.id} ${m.status}`, m.status === 'dead');
  for (const o of db.orders.filter((x) => x.status === 'awaiting_payment'))
    judge(o.created_at, `order ${o.id} still awaiting payment`);
  const s = Math.round(horizon / 1000);
  return [
    line(`orders, charges, movements or messages stuck non-final past their deadline (${s} s)`, past),
    line(`still open within their deadline (${s} s) when the drain ended: not judged`, within),
  ];
}

/** What the reconciler knew of an open charge: enough to tell a lease left by a killed pass from a charge it keeps asking about. */
function openCharge(db: DbSnapshot, t: DbSnapshot['transactions'][number]): string {
  const order = db.orders.find((o) => o.id === t.order_id)?.status ?? 'no order';
  const at = (d: Date | null) => d?.toISOString().slice(11, 23) ?? '-';
  return (
    `charge ${t.id} (${t.provider}, order ${order}${t.abandoned ? ', abandoned' : ''}) processing: ` +
    `created ${at(t.created_at)}, updated ${at(t.updated_at)}, action expires ${at(t.action_expires_at)}, ` +
    `${t.attempts} attempts, next ${at(t.next_attempt_at)}, leased until ${at(t.leased_until)}, ` +
    `last: ${t.failure_reason ?? '-'}`
  );
}
