import type pg from 'pg';

/** The tables the checks read, whole (a soak makes thousands of rows, not millions), by plain SQL. */
export interface DbSnapshot {
  /** The database's clock when it was read: ages are counted on it, as the reconciler counts them. */
  now: Date;
  orders: {
    id: string;
    user_id: string;
    status: string;
    transaction_id: string;
    email: string | null;
    created_at: Date;
  }[];
  items: {
    order_id: string;
    product_id: string;
    quantity: number;
    quantity_cancelled: number;
    quantity_returned: number;
  }[];
  products: { id: string; stock: number | null }[];
  transactions: {
    id: string;
    order_id: string;
    provider: string;
    provider_reference: string | null;
    status: string;
    abandoned: boolean;
    attempts: number;
    failure_reason: string | null;
    created_at: Date;
    updated_at: Date;
    next_attempt_at: Date;
    leased_until: Date | null;
    action_expires_at: Date | null;
  }[];
  ledger: {
    id: string;
    transaction_id: string;
    order_id: string;
    kind: string;
    amount: number;
    status: string;
    provider_reference: string | null;
    created_at: Date;
  }[];
  /** In order of writing, per order: notes (a refund, a capture refused) repeat the status they were written in. */
  history: { order_id: string; status: string }[];
  returns: { id: string; order_id: string; status: string; restock: boolean | null }[];
  returnItems: { return_id: string; product_id: string; quantity: number }[];
  outbox: { id: string; kind: string; topic: string; status: string; created_at: Date }[];
}

export async function readDatabase(client: pg.Client): Promise<DbSnapshot> {
  const q = async <T>(text: string) => (await client.query(text)).rows as T[];
  return {
    now: (await q<{ now: Date }>('select now() as now'))[0]!.now,
    orders: await q('select id, user_id, status, transaction_id, email, created_at from orders'),
    items: await q('select order_id, product_id, quantity, quantity_cancelled, quantity_returned from order_items'),
    products: await q('select id, stock from products'),
    transactions: await q(
      `select id, order_id, provider, provider_reference, status, abandoned, attempts, failure_reason, created_at,
              updated_at, next_attempt_at, leased_until, action_expires_at
       from payment_transactions`,
    ),
    ledger: await q(
      'select id, transaction_id, order_id, kind, amount::int as amount, status, provider_reference, created_at from payment_ledger',
    ),
    history: await q('select order_id, status from order_status_history order by order_id, id'),
    returns: await q('select id, order_id, status, restock from returns'),
    returnItems: await q('select return_id, product_id, quantity from return_items'),
    outbox: await q('select id, kind, topic, status, created_at from outbox'),
  };
}
