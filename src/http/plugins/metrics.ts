import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Histogram } from 'prom-client';
import type { Metrics } from '../../observability/metrics.js';

export default fp(
  async function metricsPlugin(app: FastifyInstance, opts: { metrics: Metrics }) {
    const { registry } = opts.metrics;
    const requests = new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests',
      labelNames: ['method', 'route', 'status_code'],
      registers: [registry],
    });
    const duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });

    // One child per (method, route, status), looked up by a string key: prom-client would otherwise
    // hash the label object twice on every response. Bounded by routes × methods × statuses.
    const series = new Map<string, { count: Counter.Internal; time: Histogram.Internal<string> }>();
    app.addHook('onResponse', (request, reply, done) => {
      // The route template, never the raw URL, so ids do not explode the label set.
      const route = request.routeOptions.url ?? 'unmatched';
      const key = `${request.method} ${reply.statusCode} ${route}`;
      let s = series.get(key);
      if (!s) {
        const labels = { method: request.method, route, status_code: String(reply.statusCode) };
        s = { count: requests.labels(labels), time: duration.labels(labels) };
        series.set(key, s);
      }
      s.count.inc();
      s.time.observe(reply.elapsedTime / 1000);
      done();
    });

    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      reply.type(registry.contentType);
      return registry.metrics();
    });
  },
  { name: 'metrics' },
);
