import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulators, type Emulators } from '../emulators/index.js';
import { buildTestApp, putProduct, type TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/db.js';
import { bearer, createOrder, expectProblem, orderCount, stockOf, uid } from '../helpers/http.js';
import { lapseLease, paymentBody, reconcileNow } from '../helpers/payments.js';

/**
 * A request that reserved (key claimed, stock taken, a `processing` transaction) and then lost the
 * database, or died, before it charged or settled: nobody holds that reservation any more. The
 * client's retry with the same Idempotency-Key takes it over once the first request's lease (its
 * RECONCILE_AFTER_MS) has lapsed, charges with the same transaction id and gets its one order; the
 * Stripe emulator shows a single charge for that transaction, however many retries raced.
 */
// Long enough that no lease lapses by itself while a test runs, however loaded the machine: a test
// lapses the one it means to in SQL (lapseLease).
const LEASE_MS = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(DATABASES)('a retry takes over a stranded reservation on %s', (kind) => {
  let emu: Emulators;
  let t: TestApp;
  /** The instance that loses the database between the reservation and the charge. */
  let stranding: TestApp;
  /** The instance that dies after the charge, before it settles. */
  let crashing: TestApp;
  let gate: Promise<void> = Promise.resolve();
  /** An instance whose requests wait at the charge until `gate` opens: a first request really running. */
  let slow: TestApp;

  beforeAll(async () => {
    emu = await startEmulators();
    t = await buildTestApp(kind, { emulators: emu, env: { RECONCILE_AFTER_MS: String(LEASE_MS) } });
    // Other instances on the same database and the same providers; the first two fail on purpose (5xx).
    const alike = { emulators: emu, env: { RECONCILE_AFTER_MS: String(LEASE_MS) } };
    const shared = { payments: t.app.deps.payments };
    stranding = await buildTestApp(t, {
      ...alike,
      app: {
        ...shared,
        faults: {
          beforeCharge: () => {
            throw new Error('Connection terminated unexpectedly');
          },
        },
      },
      allowInternalErrors: true,
    });
    crashing = await buildTestApp(t, {
      ...alike,
      app: {
        ...shared,
        faults: {
          afterCharge: () => {
            throw new Error('Connection terminated unexpectedly');
          },
        },
      },
      allowInternalErrors: true,
    });
    slow = await buildTestApp(t, { ...alike, app: { ...shared, faults: { beforeCharge: () => gate } } });
  });
  afterAll(async () => {
    await Promise.all([stranding?.close(), crashing?.close(), slow?.close()]);
    await t?.close();
    await emu?.close();
  });

  async function shop() {
    const productId = uid('sku');
    await putProduct(t, productId, { price: 1500, stock: 5 });
    const user = uid('buyer');
    return {
      productId,
      user,
      token: await t.token(user),
      key: uid('key'),
      body: paymentBody('stripe', 'pm_card_visa', [{ product_id: productId, quantity: 2 }]),
    };
  }
  const post = (via: TestApp, s: Awaited<ReturnType<typeof shop>>) =>
    via.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { ...bearer(s.token), 'idempotency-key': s.key },
      payload: s.body,
    });
  const transactionsOf = (user: string) =>
    t.db.selectFrom('payment_transactions').selectAll().where('customer_id', '=', user).execute();
  const chargeCalls = () =>
    emu.stripe.requests.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents').length;

  /** The first request: reserved, then the database is gone for it; the client saw a 5xx. */
  async function strand(app = stranding) {
    const s = await shop();
    const first = await post(app, s);
    expect(first.statusCode).toBeGreaterThanOrEqual(500);
    const [tx, ...more] = await transactionsOf(s.user);
    expect(more).toHaveLength(0);
    expect(tx?.status).toBe('processing');
    expect(await orderCount(t, s.user)).toBe(0);
    expect(await stockOf(t, s.productId)).toBe(3);
    return { ...s, transactionId: tx!.id };
  }

  it('while the lease holds, the retry is 409; after it, the retry gets the order, charged once, and later retries replay it', async () => {
    const s = await strand();
    expect(emu.stripe.chargesFor(s.transactionId)).toBe(0);
    expectProblem(await createOrder(t, s.token, s.body, { 'idempotency-key': s.key }), 409, 'idempotency_in_progress');

    await lapseLease(t, s.transactionId);
    const retry = await createOrder(t, s.token, s.body, { 'idempotency-key': s.key });
    expect(retry.statusCode, retry.body).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    const order = retry.json() as { id: string; payment: { transaction_id: string; status: string } };
    expect(order.payment.transaction_id).toBe(s.transactionId);
    expect(order.payment.status).toBe('succeeded');
    expect(retry.headers.location).toBe(`/api/orders/${order.id}`);
    expect(emu.stripe.chargesFor(s.transactionId)).toBe(1);

    const again = await createOrder(t, s.token, s.body, { 'idempotency-key': s.key });
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(order);
    expect(await orderCount(t, s.user)).toBe(1);
    expect(await transactionsOf(s.user)).toHaveLength(1);
    expect(await stockOf(t, s.productId)).toBe(3);
    expect(emu.stripe.chargesFor(s.transactionId)).toBe(1);
  });

  it('a first request that charged and then died: the retry charges with the same id and the provider answers with that one charge', async () => {
    const s = await strand(crashing);
    expect(emu.stripe.chargesFor(s.transactionId)).toBe(1);
    await lapseLease(t, s.transactionId);
    const retry = await createOrder(t, s.token, s.body, { 'idempotency-key': s.key });
    expect(retry.statusCode, retry.body).toBe(201);
    expect((retry.json() as { payment: { transaction_id: string } }).payment.transaction_id).toBe(s.transactionId);
    expect(emu.stripe.chargesFor(s.transactionId)).toBe(1);
    expect(await orderCount(t, s.user)).toBe(1);
    expect(await stockOf(t, s.productId)).toBe(3);
  });

  it('ten racing retries: one order, one charge, every answer that order or 409', async () => {
    const s = await strand();
    await lapseLease(t, s.transactionId);
    const before = chargeCalls();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => createOrder(t, s.token, s.body, { 'idempotency-key': s.key })),
    );
    const created = answers.filter((a) => a.statusCode === 201);
    for (const a of answers) if (a.statusCode !== 201) expectProblem(a, 409, 'idempotency_in_progress');
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(created.filter((a) => a.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
    expect(new Set(created.map((a) => (a.json() as { id: string }).id)).size).toBe(1);
    expect(chargeCalls() - before).toBe(1);
    expect(emu.stripe.chargesFor(s.transactionId)).toBe(1);
    expect(await orderCount(t, s.user)).toBe(1);
    expect(await stockOf(t, s.productId)).toBe(3);
    const later = await createOrder(t, s.token, s.body, { 'idempotency-key': s.key });
    expect(later.statusCode).toBe(201);
    expect(later.json()).toEqual(created[0]!.json());
  });

  it('a reconciler pass that found nothing at the provider does not keep the retry out', async () => {
    const s = await strand();
    await lapseLease(t, s.transactionId);
    await reconcileNow(t, s.transactionId);
    expect((await transactionsOf(s.user))[0]?.status).toBe('processing');
    const retry = await createOrder(t, s.token, s.body, { 'idempotency-key': s.key });
    expect(retry.statusCode, retry.body).toBe(201);
    expect(emu.stripe.chargesFor(s.transactionId)).toBe(1);
    expect(await orderCount(t, s.user)).toBe(1);
  });

  it('a retry while the first request is really running is still 409, and the first gets its order', async () => {
    const s = await shop();
    let open!: () => void;
    gate = new Promise((r) => (open = r));
    const first = post(slow, s);
    for (let i = 0; i < 100 && (await transactionsOf(s.user)).length === 0; i++) await sleep(20);
    expect(await transactionsOf(s.user)).toHaveLength(1);
    expectProblem(await createOrder(t, s.token, s.body, { 'idempotency-key': s.key }), 409, 'idempotency_in_progress');
    open();
    const done = await first;
    expect(done.statusCode, done.body).toBe(201);
    const replay = await createOrder(t, s.token, s.body, { 'idempotency-key': s.key });
    expect(replay.statusCode).toBe(201);
    expect(replay.json()).toEqual(done.json());
    expect(await orderCount(t, s.user)).toBe(1);
  });
});
