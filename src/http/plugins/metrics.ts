import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
    ordersCreated: new Counter({ name: 'orders_created_total', help: 'Orders created', labelNames: ['provider', 'currency'], registers: [registry] }),
    payments: new Counter({ name: 'payments_total', help: 'Charge attempts by outcome', labelNames: ['provider', 'outcome'], registers: [registry] }),
    refunds: new Counter({ name: 'refunds_total', help: 'Refund attempts by outcome', labelNames: ['provider', 'outcome'], registers: [registry] }),
  };
}

export default fp(
  async function metricsPlugin(app: FastifyInstance, opts: { metrics: Metrics }) {
    const { registry } = opts.metrics;
    const requests = new Counter({ name: 'http_requests_total', help: 'HTTP requests', labelNames: ['method', 'route', 'status_code'], registers: [registry] });
    const duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });

    app.addHook('onResponse', async (request, reply) => {
      // The route template, never the raw URL, so ids do not explode the label set.
      const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) };
      requests.inc(labels);
      duration.observe(labels, reply.elapsedTime / 1000);
    });

    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      reply.type(registry.contentType);
      return registry.metrics();
    });
  },
  { name: 'metrics' },
);
