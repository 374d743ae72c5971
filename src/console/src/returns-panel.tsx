import { api } from './api';
import { useAction } from './action';
import { useDraft } from './drafts';
import type { OrderData } from './order-view';
import type { Return } from './types';
import { Button, money, ProblemBox, when } from './ui';

function ReturnRow({
  r,
  orderId,
  currency,
  onChanged,
}: {
  r: Return;
  orderId: string;
  currency: string;
  onChanged: () => Promise<void>;
}) {
  const [restock, setRestock] = useDraft(`${r.id}:restock`, true);
  const [note, setNote] = useDraft(`${r.id}:return-note`, '');
  const base = `/api/orders/${orderId}/returns/${r.id}`;
  const receive = useAction(async (key) => {
    await api('POST', `${base}/receive`, { restock, ...(note ? { note } : {}) }, { 'idempotency-key': key });
    setNote('');
    await onChanged();
  });
  const reject = useAction(async (key) => {
    await api('POST', `${base}/reject`, note ? { note } : {}, { 'idempotency-key': key });
    setNote('');
    await onChanged();
  });
  return (
    <li>
      <strong>{r.status}</strong> · {when(r.created_at)} ·{' '}
      {r.items.map((i) => `${i.quantity} × ${i.product_id}`).join(', ')} · refund {money(r.refund_amount, currency)}
      {r.reason ? ` · “${r.reason}”` : ''}
      {r.status === 'requested' && (
        <div class="row">
          <div class="field">
            <label for={`note-${r.id}`}>Note</label>
            <input id={`note-${r.id}`} value={note} onInput={(e) => setNote((e.target as HTMLInputElement).value)} />
          </div>
          <div class="field check">
            <input
              id={`restock-${r.id}`}
              type="checkbox"
              checked={restock}
              onChange={(e) => setRestock((e.target as HTMLInputElement).checked)}
            />
            <label for={`restock-${r.id}`}>Put the units back in stock</label>
          </div>
          <Button type="button" busy={receive.busy} onClick={() => void receive.start()}>
            Receive
          </Button>
          <Button type="button" busy={reject.busy} class="danger" onClick={() => void reject.start()}>
            Reject
          </Button>
        </div>
      )}
      <ProblemBox problem={receive.problem ?? reject.problem} />
    </li>
  );
}

export function ReturnsPanel({ data, onChanged }: { data: OrderData; onChanged: () => Promise<void> }) {
  return (
    <section aria-labelledby="returns-h" class="card">
      <h3 id="returns-h">Returns</h3>
      {Array.isArray(data.returns) ? (
        data.returns.length === 0 ? (
          <p>No return.</p>
        ) : (
          <ul>
            {data.returns.map((r) => (
              <ReturnRow
                key={r.id}
                r={r}
                orderId={data.order.id}
                currency={data.order.currency}
                onChanged={onChanged}
              />
            ))}
          </ul>
        )
      ) : (
        <>
          <p>Returns are not available:</p>
          <ProblemBox problem={data.returns} />
        </>
      )}
    </section>
  );
}
