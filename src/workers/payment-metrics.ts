import type { Kysely } from 'kysely';
import { Gauge, type Registry } from 'prom-client';
import { countExpiringAuthorizations } from '../persistence/authorization-expiry.js';
import { countAwaitingPayment } from '../persistence/order-repository.js';
import type { Database } from '../persistence/tables.js';

/**
 * `orders_awaiting_payment`: orders that wait for their customer (the partial index of migration 012).
 * `payment_authorizations_expiring`: open orders whose payment is only authorized and lapses within
 * AUTHORIZATION_WARN_HOURS. Read from the shared tables at scrape time, so every instance reports
 * the same number (aggregate with max, not sum).
 */
export function registerPaymentMetrics(registry: Registry, deps: { db: Kysely<Database>; warnHours: number }): void {
  let last = 0;
  new Gauge({
    name: 'payment_authorizations_expiring',
    help: 'Open orders whose payment authorization expires within AUTHORIZATION_WARN_HOURS and is not captured',
    registers: [registry],
    async collect() {
      // A database outage must not break /metrics: the gauge keeps its last value.
      last = await countExpiringAuthorizations(deps.db, deps.warnHours * 3_600_000).catch(() => last);
      this.set(last);
    },
  });
  let awaiting = 0;
  new Gauge({
    name: 'orders_awaiting_payment',
    help: 'Orders waiting for their customer to complete the payment (3-D Secure, a redirect, an approval)',
    registers: [registry],
    async collect() {
      awaiting = await countAwaitingPayment(deps.db).catch(() => awaiting);
      this.set(awaiting);
    },
  });
}
