import { useEffect, useState } from 'preact/hooks';
import { api, Problem } from './api';
import { useDraft } from './drafts';
import type { Order, Page } from './types';
import { Button, money, ProblemBox, TableHead, when } from './ui';

const STATUSES = ['', 'awaiting_payment', 'pending', 'processing', 'shipped', 'delivered', 'cancelled'];
const FIELDS = ['q', 'status', 'user_id', 'email', 'created_from', 'created_to'] as const;
type Filters = Record<(typeof FIELDS)[number], string>;
const EMPTY: Filters = { q: '', status: '', user_id: '', email: '', created_from: '', created_to: '' };

/** Remembered for the tab, so that going back from an order shows the same results. */
let last: { pages: Page<Order>[] } = { pages: [] };

function query(f: Filters, cursor: string | null): string {
  const p = new URLSearchParams({ limit: '20' });
  for (const k of FIELDS) {
    const v = f[k].trim();
    if (!v) continue;
    // datetime-local inputs are the browser's local time; the API wants RFC 3339.
    p.set(k, k.startsWith('created_') ? new Date(v).toISOString() : v);
  }
  if (cursor) p.set('cursor', cursor);
  return p.toString();
}

export function SearchView() {
  const [f, setF] = useDraft<Filters>('search-filters', EMPTY);
  const [pages, setPages] = useState<Page<Order>[]>(last.pages);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const set = (k: keyof Filters) => (e: Event) => setF({ ...f, [k]: (e.target as HTMLInputElement).value });

  const load = async (cursor: string | null) => {
    if (busy) return;
    setBusy(true);
    setProblem(null);
    try {
      const page = await api<Page<Order>>('GET', `/api/admin/orders?${query(f, cursor)}`);
      const next = cursor ? [...pages, page] : [page];
      setPages(next);
      last = { pages: next };
    } catch (err) {
      setProblem(err as Problem);
    } finally {
      setBusy(false);
    }
  };
  // The console opens on work: the newest orders (with the filters the tab last had) at once.
  useEffect(() => {
    if (last.pages.length === 0) void load(null);
  }, []);
  const orders = pages.flatMap((p) => p.items);
  const cursor = pages[pages.length - 1]?.next_cursor ?? null;
  const input = (
    k: keyof Filters,
    label: string,
    type: 'text' | 'search' | 'email' | 'datetime-local' = 'text',
    hint?: string,
  ) => (
    <div class="field">
      <label for={`f-${k}`}>{label}</label>
      <input
        id={`f-${k}`}
        type={type as 'text'}
        value={f[k]}
        onInput={set(k)}
        aria-describedby={hint ? `h-${k}` : undefined}
      />
      {hint && <small id={`h-${k}`}>{hint}</small>}
    </div>
  );
  return (
    <section aria-labelledby="search-h">
      <h2 id="search-h">Search orders</h2>
      <form
        class="card filters"
        onSubmit={(e) => {
          e.preventDefault();
          void load(null);
        }}
      >
        {input('q', 'Order id, short id, email or user id', 'search', 'e.g. the 8 characters from an email')}
        <div class="field">
          <label for="f-status">Status</label>
          <select id="f-status" value={f.status} onChange={set('status')}>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s || 'any'}
              </option>
            ))}
          </select>
        </div>
        {input('email', 'Email (exact)', 'email')}
        {input('user_id', 'User id')}
        {input('created_from', 'Created from (local time)', 'datetime-local')}
        {input('created_to', 'Created before (local time)', 'datetime-local')}
        <div class="actions">
          <Button busy={busy}>Search</Button>
        </div>
      </form>
      <ProblemBox problem={problem} />
      {pages.length > 0 && (
        <div class="card">
          <p aria-live="polite">
            {orders.length === 0
              ? 'No order matches.'
              : `${orders.length} order${orders.length === 1 ? '' : 's'}${cursor ? ' so far' : ''}.`}
          </p>
          {orders.length > 0 && (
            <table>
              <caption class="visually-hidden">Orders found</caption>
              <TableHead columns={['Order', 'Created', 'Customer', 'Status', 'Total']} />
              <tbody>
                {orders.map((o) => (
                  <tr key={o.id}>
                    <td>
                      <a href={`#/orders/${o.id}`}>
                        <code>{o.id.slice(0, 8)}</code>
                        <span class="visually-hidden"> order {o.id}</span>
                      </a>
                    </td>
                    <td>{when(o.created_at)}</td>
                    <td>
                      {o.email ?? '—'} <small>({o.user_id})</small>
                    </td>
                    <td>
                      <span class={`status s-${o.status}`}>{o.status}</span>
                    </td>
                    <td>{money(o.total, o.currency)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {cursor && (
            <Button type="button" busy={busy} onClick={() => void load(cursor)}>
              More orders
            </Button>
          )}
        </div>
      )}
    </section>
  );
}
