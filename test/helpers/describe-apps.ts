import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { ProviderOptions } from '../../src/payments/options.js';
import { startEmulators, type Emulators } from '../emulators/index.js';
import { putProduct, type TestApp } from './app.js';
import type { DatabaseKind } from './db.js';
import { createOrder, startApp, uid } from './http.js';
import { paymentBody, providerView, startPaymentsApp, type RealProvider } from './payments.js';

/**
 * The app a describe block runs against: started in the describe's beforeAll, closed in its
 * afterAll, one per database under describe.each(DATABASES). What these return stands for what
 * beforeAll starts: tests and helpers use it as the thing itself, from inside a test or a later hook
 * (before the beforeAll has run, reading it throws).
 */
export function describeApp(kind: DatabaseKind, env: Record<string, string> = {}): TestApp {
  let t: TestApp | undefined;
  beforeAll(async () => {
    t = await startApp(kind, env);
  });
  afterAll(async () => {
    await t?.close();
  });
  return standIn(() => t, 'app');
}

/**
 * The same with the three providers pointed at the emulators (`sdk`: their SDK options). With
 * `resetAfterEach`, the faults and refund outcomes a test set on an emulator are undone after it.
 */
export function describePaymentsApp(
  kind: DatabaseKind,
  opts: { sdk?: ProviderOptions; resetAfterEach?: boolean; env?: Record<string, string> } = {},
): { t: TestApp; emu: Emulators } {
  let emu: Emulators | undefined;
  let t: TestApp | undefined;
  beforeAll(async () => {
    emu = await startEmulators();
    t = await startPaymentsApp(kind, emu, { sdk: opts.sdk, env: opts.env });
  });
  if (opts.resetAfterEach) {
    afterEach(() => {
      if (!emu) return;
      for (const e of [emu.stripe, emu.square, emu.paypal, emu.adyen, emu.mollie]) e.resetFaults();
      emu.stripe.refundStatus = 'succeeded';
      emu.adyen.refundStatus = 'succeeded';
      emu.mollie.refundStatus = 'succeeded';
      emu.square.refundStatus = 'COMPLETED';
      emu.paypal.refundStatus = 'COMPLETED';
    });
  }
  afterAll(async () => {
    await t?.close();
    await emu?.close();
  });
  return { t: standIn(() => t, 'app'), emu: standIn(() => emu, 'emulators') };
}

/** A fresh product (5 in stock) and buyer, and one unit of it ordered and paid through `id`: the buyer's token and the order (201). */
export async function paidOrderThrough(t: TestApp, emu: Emulators, id: RealProvider, price: number) {
  const productId = uid('sku');
  await putProduct(t, productId, { price, stock: 5 });
  const token = await t.token(uid('buyer'));
  const res = await createOrder(
    t,
    token,
    paymentBody(id, providerView(emu, id).source(price), [{ product_id: productId, quantity: 1 }]),
  );
  expect(res.statusCode, res.body).toBe(201);
  return { token, order: res.json() };
}

/** Reads every property from what `current` returns at the time of the read. */
function standIn<T extends object>(current: () => T | undefined, what: string): T {
  const target = () => {
    const value = current();
    if (!value)
      throw new Error(`the describe's ${what} is not started: read it inside a test or a hook after its beforeAll`);
    return value;
  };
  return new Proxy({} as T, {
    get: (_, key) => Reflect.get(target(), key),
    has: (_, key) => Reflect.has(target(), key),
  });
}
