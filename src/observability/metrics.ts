import { Counter, Registry, collectDefaultMetrics } from 'prom-client';

/** The app's metrics: one Registry per app, so tests can build many apps in one process. */
export interface Metrics {
  registry: Registry;
  ordersCreated: Counter<'provider' | 'currency'>;
  payments: Counter<'provider' | 'outcome'>;
  refunds: Counter<'provider' | 'outcome'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    ordersCreated: new Counter({
      name: 'orders_created_total',
      help: 'Orders created',
      labelNames: ['provider', 'currency'],
      registers: [registry],
    }),
    payments: new Counter({
      name: 'payments_total',
      help: 'Charge attempts by outcome',
      labelNames: ['provider', 'outcome'],
      registers: [registry],
    }),
    refunds: new Counter({
      name: 'refunds_total',
      help: 'Refund attempts by outcome',
      labelNames: ['provider', 'outcome'],
      registers: [registry],
    }),
  };
}
