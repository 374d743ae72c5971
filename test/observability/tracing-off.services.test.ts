import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SECRET } from '../helpers/app.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

/**
 * Tracing off (no OTLP endpoint, the default) loads none of OpenTelemetry: the real service runs
 * with a preloaded hook that reports every module resolved from an OpenTelemetry package. The one
 * exception is @opentelemetry/api, which prom-client (the /metrics registry) requires itself,
 * tracing or not; without an SDK registered it is its no-op. The same service with an endpoint
 * set shows the hook does see the SDK being loaded.
 */
const REPORT = ['--import', './test/observability/support/report-otel-loads.mjs'];
const PREFIX = 'opentelemetry module loaded: ';

describe.each([
  ['off', {}],
  ['on', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' }],
] as const)('OpenTelemetry modules loaded with tracing %s', (state, env) => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess({ DATABASE_URL: 'memory://', JWT_SECRET: TEST_SECRET, ...env }, 150_000, REPORT);
    // Requests through the app: routing, auth, /metrics; the embedded database and the workers started with it.
    expect((await fetch(`${server.url}/api/products`)).status).toBe(401); // through routing and auth
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
    await server.stop();
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
  });

  const loaded = () =>
    server
      .output()
      .split('\n')
      .filter((l) => l.startsWith(PREFIX))
      .map((l) => {
        const [url, parent] = l.slice(PREFIX.length).split(' from ');
        return { url: url!, parent: parent ?? '' };
      });

  if (state === 'off') {
    it('none but the API prom-client requires', () => {
      const unexpected = loaded().filter(
        (m) =>
          !(
            /\/@opentelemetry\/api\//.test(m.url) &&
            /\/node_modules\/(prom-client|@opentelemetry\/api)\//.test(m.parent)
          ),
      );
      expect(unexpected).toEqual([]);
    });
  } else {
    it('the SDK, the instrumentations and the import hook', () => {
      const urls = loaded().map((m) => m.url);
      for (const pkg of [
        '@opentelemetry/sdk-node/',
        '@opentelemetry/instrumentation-pg/',
        '@fastify/otel/',
        'import-in-the-middle/',
      ]) {
        expect(
          urls.some((u) => u.includes(`/node_modules/${pkg}`)),
          pkg,
        ).toBe(true);
      }
    });
  }
});
