import type { Kysely } from 'kysely';
import { Gauge, type Registry } from 'prom-client';
import { countExpiringAuthorizations } from '../persistence/authorization-expiry.js';
import type { Database } from '../persistence/tables.js';

/**
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
}
