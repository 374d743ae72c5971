import { api } from './api';
import { useAction } from './action';
import { useDraft } from './drafts';
import type { OrderData } from './order-view';
import { Button, ProblemBox } from './ui';

const NEXT: Record<string, string | undefined> = { pending: 'processing', processing: 'shipped', shipped: 'delivered' };
const value = (e: Event) => (e.target as HTMLInputElement).value;

function StatusForm({ data, onChanged }: { data: OrderData; onChanged: () => Promise<void> }) {
  const next = NEXT[data.order.status];
  const id = data.order.id;
  const [carrier, setCarrier] = useDraft(`${id}:carrier`, '');
  const [number, setNumber] = useDraft(`${id}:tracking-number`, '');
  const [note, setNote] = useDraft(`${id}:status-note`, '');
  const act = useAction(async (key) => {
    const body: Record<string, unknown> = { status: next };
    if (carrier || number) body.tracking = { carrier, number };
    if (note) body.note = note;
    await api('POST', `/api/orders/${data.order.id}/status`, body, { 'idempotency-key': key });
    setNote('');
    setCarrier('');
    setNumber('');
    await onChanged();
  });
  if (!next) return <p>No further status change: the order is {data.order.status}.</p>;
  return (
    <form onSubmit={(e) => (e.preventDefault(), void act.start())} onInput={act.reset}>
      <h4>Move to {next}</h4>
      <div class="row">
        <div class="field">
          <label for="carrier">Carrier</label>
          <input id="carrier" value={carrier} onInput={(e) => setCarrier(value(e))} />
        </div>
        <div class="field">
          <label for="tracking-number">Tracking number</label>
          <input id="tracking-number" value={number} onInput={(e) => setNumber(value(e))} />
        </div>
        <div class="field">
          <label for="status-note">Note</label>
          <input id="status-note" value={note} onInput={(e) => setNote(value(e))} />
        </div>
      </div>
      <Button busy={act.busy}>Mark as {next}</Button>
      <ProblemBox problem={act.problem} />
    </form>
  );
}

function CancelForm({ data, onChanged }: { data: OrderData; onChanged: () => Promise<void> }) {
  const { order } = data;
  const [reason, setReason] = useDraft(`${order.id}:cancel-reason`, '');
  const [qty, setQty] = useDraft<Record<string, string>>(`${order.id}:cancel-units`, {});
  const act = useAction(async (key) => {
    const items = Object.entries(qty)
      .filter(([, q]) => q.trim() !== '' && Number(q) > 0)
      .map(([product_id, q]) => ({ product_id, quantity: Number(q) }));
    const body: Record<string, unknown> = {};
    if (reason) body.reason = reason;
    if (items.length) body.items = items;
    await api('POST', `/api/orders/${order.id}/cancel`, body, { 'idempotency-key': key });
    setQty({});
    setReason('');
    await onChanged();
  });
  if (order.status === 'awaiting_payment') return <CancelWaitingForm data={data} onChanged={onChanged} />;
  if (order.status !== 'pending') return <p>Only a pending order can be cancelled.</p>;
  return (
    <form onSubmit={(e) => (e.preventDefault(), void act.start())} onInput={act.reset}>
      <h4>Cancel</h4>
      <p id="cancel-hint">Leave every quantity empty to cancel the whole order, or give the units to cancel.</p>
      <div class="row">
        {order.items.map((i) => (
          <div class="field" key={i.product_id}>
            <label for={`cancel-${i.product_id}`}>Units of {i.name} to cancel</label>
            <input
              id={`cancel-${i.product_id}`}
              type="number"
              min={1}
              max={i.quantity - (i.quantity_cancelled ?? 0)}
              value={qty[i.product_id] ?? ''}
              aria-describedby="cancel-hint"
              onInput={(e) => setQty({ ...qty, [i.product_id]: value(e) })}
            />
          </div>
        ))}
        <div class="field">
          <label for="cancel-reason">Reason</label>
          <input id="cancel-reason" value={reason} onInput={(e) => setReason(value(e))} />
        </div>
      </div>
      <Button busy={act.busy} class="danger">
        {Object.values(qty).some((q) => q.trim() !== '') ? 'Cancel these units' : 'Cancel the whole order'}
      </Button>
      <ProblemBox problem={act.problem} />
    </form>
  );
}

/** An order that waits for its customer's payment is cancelled whole: nothing was taken yet, its stock goes back. */
function CancelWaitingForm({ data, onChanged }: { data: OrderData; onChanged: () => Promise<void> }) {
  const [reason, setReason] = useDraft(`${data.order.id}:cancel-reason`, '');
  const act = useAction(async (key) => {
    await api('POST', `/api/orders/${data.order.id}/cancel`, reason ? { reason } : {}, { 'idempotency-key': key });
    setReason('');
    await onChanged();
  });
  return (
    <form onSubmit={(e) => (e.preventDefault(), void act.start())} onInput={act.reset}>
      <h4>Cancel</h4>
      <p id="cancel-waiting-hint">
        The customer has not completed the payment: cancelling cancels it at the provider and releases the stock.
      </p>
      <div class="row">
        <div class="field">
          <label for="cancel-reason">Reason</label>
          <input
            id="cancel-reason"
            value={reason}
            aria-describedby="cancel-waiting-hint"
            onInput={(e) => setReason(value(e))}
          />
        </div>
      </div>
      <Button busy={act.busy} class="danger">
        Cancel the waiting order
      </Button>
      <ProblemBox problem={act.problem} />
    </form>
  );
}

function RefundForm({ data, onChanged }: { data: OrderData; onChanged: () => Promise<void> }) {
  const [amount, setAmount] = useDraft(`${data.order.id}:refund-amount`, '');
  const [reason, setReason] = useDraft(`${data.order.id}:refund-reason`, '');
  const act = useAction(async (key) => {
    const body: Record<string, unknown> = { amount: Number(amount) };
    if (reason) body.reason = reason;
    await api('POST', `/api/orders/${data.order.id}/refunds`, body, { 'idempotency-key': key });
    setAmount('');
    setReason('');
    await onChanged();
  });
  return (
    <form onSubmit={(e) => (e.preventDefault(), void act.start())} onInput={act.reset}>
      <h4>Refund</h4>
      <div class="row">
        <div class="field">
          <label for="refund-amount">Amount in minor units ({data.order.currency})</label>
          <input
            id="refund-amount"
            type="number"
            min={1}
            step={1}
            required
            value={amount}
            onInput={(e) => setAmount(value(e))}
          />
        </div>
        <div class="field">
          <label for="refund-reason">Reason</label>
          <input id="refund-reason" value={reason} onInput={(e) => setReason(value(e))} />
        </div>
      </div>
      <Button busy={act.busy}>Refund</Button>
      <ProblemBox problem={act.problem} />
    </form>
  );
}

export function OrderActions(props: { data: OrderData; onChanged: () => Promise<void> }) {
  return (
    <section aria-labelledby="actions-h" class="card">
      <h3 id="actions-h">Actions</h3>
      <StatusForm {...props} />
      <CancelForm {...props} />
      <RefundForm {...props} />
    </section>
  );
}
