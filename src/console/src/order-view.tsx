import { useEffect, useState } from 'preact/hooks';
import { api, Problem } from './api';
import { OrderActions } from './order-actions';
import { ReturnsPanel } from './returns-panel';
import type { HistoryEntry, LedgerEntry, Order, Return } from './types';
import { money, ProblemBox, TableHead, when } from './ui';

export interface OrderData {
  order: Order;
  history: HistoryEntry[];
  /** The ledger when its route answers; else the problem it answered (the order's payment is shown). */
  ledger: LedgerEntry[] | Problem;
  returns: Return[] | Problem;
}

const orElse = <T,>(p: Promise<{ items: T[] }>) =>
  p.then(
    (r) => r.items,
    (e: unknown) => (e instanceof Problem ? e : new Problem(0, 'Error', String(e), 'client_error')),
  );

async function loadAll(id: string): Promise<OrderData> {
  const base = `/api/orders/${encodeURIComponent(id)}`;
  const [order, history, ledger, returns] = await Promise.all([
    api<Order>('GET', base),
    api<{ items: HistoryEntry[] }>('GET', `${base}/history`),
    orElse(api<{ items: LedgerEntry[] }>('GET', `${base}/payments`)),
    orElse(api<{ items: Return[] }>('GET', `${base}/returns`)),
  ]);
  return { order, history: history.items, ledger, returns };
}

export function OrderView({ id }: { id: string }) {
  const [data, setData] = useState<OrderData | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const reload = async () => {
    try {
      setData(await loadAll(id));
      setProblem(null);
    } catch (err) {
      setProblem(err as Problem);
    }
  };
  useEffect(() => {
    setData(null);
    void reload();
  }, [id]);
  if (problem) return <ProblemBox problem={problem} />;
  if (!data) return <p aria-busy="true">Loading order…</p>;
  const { order } = data;
  return (
    <article aria-labelledby="order-h">
      <p>
        <a href="#/">← Back to search</a>
      </p>
      <h2 id="order-h">
        Order <code>{order.id}</code>{' '}
        <span class={`status s-${order.status}`} data-testid="order-status">
          {order.status}
        </span>
      </h2>
      <dl class="card summary">
        <dt>Customer</dt>
        <dd>
          {order.email ?? '—'} ({order.user_id})
        </dd>
        <dt>Created</dt>
        <dd>{when(order.created_at)}</dd>
        <dt>Total</dt>
        <dd>
          {money(order.total, order.currency)}
          {order.current_total !== undefined && order.current_total !== order.total && (
            <> (now {money(order.current_total, order.currency)})</>
          )}
        </dd>
        <dt>Tracking</dt>
        <dd data-testid="tracking">{order.tracking ? `${order.tracking.carrier} ${order.tracking.number}` : '—'}</dd>
      </dl>

      <section aria-labelledby="items-h" class="card">
        <h3 id="items-h">Items</h3>
        <table>
          <TableHead columns={['Product', 'Quantity', 'Cancelled', 'Returned', 'Unit price', 'Line total']} />
          <tbody>
            {order.items.map((i) => (
              <tr key={i.product_id}>
                <td>
                  {i.name} <small>({i.product_id})</small>
                </td>
                <td>{i.quantity}</td>
                <td>{i.quantity_cancelled ?? 0}</td>
                <td>{i.quantity_returned ?? 0}</td>
                <td>{money(i.unit_price, order.currency)}</td>
                <td>{money(i.line_total, order.currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section aria-labelledby="payment-h" class="card">
        <h3 id="payment-h">Payment</h3>
        <p>
          {order.payment.provider} · <strong>{order.payment.status}</strong> ·{' '}
          {money(order.payment.amount, order.payment.currency)}
          {typeof order.payment.amount_refunded === 'number' && (
            <> · refunded {money(order.payment.amount_refunded, order.payment.currency)}</>
          )}
        </p>
        {order.payment.next_action && (
          <p data-testid="next-action">
            Waiting for the customer to complete the payment until{' '}
            <strong>{when(order.payment.next_action.expires_at)}</strong>; it is cancelled then and its stock released.
          </p>
        )}
        {Array.isArray(data.ledger) ? (
          <table data-testid="ledger">
            <caption>Ledger</caption>
            <TableHead columns={['When', 'Kind', 'Amount', 'Status', 'By', 'Reason']} />
            <tbody>
              {data.ledger.map((e) => (
                <tr key={e.id}>
                  <td>{when(e.created_at)}</td>
                  <td>{e.kind}</td>
                  <td>{money(e.amount, e.currency)}</td>
                  <td>{e.status}</td>
                  <td>{e.actor}</td>
                  <td>{e.reason ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <>
            <p>The payment ledger is not available:</p>
            <ProblemBox problem={data.ledger} />
          </>
        )}
      </section>

      <OrderActions data={data} onChanged={reload} />

      <section aria-labelledby="history-h" class="card">
        <h3 id="history-h">History</h3>
        <ol data-testid="history">
          {data.history.map((h, n) => (
            <li key={n}>
              <strong>{h.status}</strong> · {when(h.at)} · by {h.actor}
              {h.note ? ` · ${h.note}` : ''}
            </li>
          ))}
        </ol>
      </section>

      <ReturnsPanel data={data} onChanged={reload} />
    </article>
  );
}
