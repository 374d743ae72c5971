import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import helmet, { type HelmetOptions } from 'helmet';

interface SecurityOptions {
  /** CORS_ORIGINS: exact origins allowed to call the API from a browser; empty = no CORS at all. */
  corsOrigins: readonly string[];
}

/** One year, the preload lists' minimum; sent only on requests that arrived over TLS. */
const HSTS = 'max-age=31536000; includeSubDomains';

/**
 * Security headers (helmet) and CORS. Registered before the rate limiter so that a 429 still
 * carries the CORS headers a browser needs to read it.
 */
export default fp(
  async function securityPlugin(app: FastifyInstance, opts: SecurityOptions) {
    const headers = helmetHeaders({
      // The /docs page (Swagger UI) loads only same-origin scripts and stylesheets (no inline
      // script), so helmet's strict default policy fits; it does set inline style attributes, which
      // the default style-src already allows. upgrade-insecure-requests would send a plain-HTTP
      // deployment's browser to https:// for every asset and break the page, so it is dropped.
      contentSecurityPolicy: {
        directives: { 'upgrade-insecure-requests': null },
      },
      // Set below, per request: HSTS over plain HTTP is meaningless (RFC 6797 §7.2) and would lock
      // browsers out of a service that is only reachable over HTTP.
      strictTransportSecurity: false,
    });

    app.addHook('onRequest', (request, reply, done) => {
      reply.headers(headers);
      // `protocol` is `https` on a TLS socket, or from X-Forwarded-Proto when TRUST_PROXY trusts the
      // TLS-terminating balancer in front of us.
      if (request.protocol === 'https') reply.header('strict-transport-security', HSTS);
      done();
    });

    if (opts.corsOrigins.length > 0) {
      await app.register(cors, {
        origin: opts.corsOrigins.includes('*') ? '*' : [...opts.corsOrigins],
        methods: ['GET', 'HEAD', 'POST', 'PUT'],
        allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-request-id'],
        exposedHeaders: [
          'location',
          'retry-after',
          'ratelimit',
          'ratelimit-policy',
          'x-request-id',
          'idempotent-replayed',
        ],
        // Bearer tokens, not cookies: browsers never need to send credentials cross-origin.
        credentials: false,
        maxAge: 600,
      });
    }
  },
  { name: 'security' },
);

/**
 * The headers helmet sets for these options. With no per-request CSP nonces they are the same for
 * every response, so helmet runs once here rather than once per request, where it rebuilt its
 * middlewares and re-serialized the CSP each time (2-4% of a GET's CPU, bench/, docs/adr/0009).
 */
function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader: (name: string, value: string | number | readonly string[]) => {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader: (name: string) => {
      delete headers[name.toLowerCase()];
    },
  };
  let done = false;
  helmet(options)({} as IncomingMessage, res as unknown as ServerResponse, (err?: unknown) => {
    if (err) throw err;
    done = true;
  });
  // helmet's middlewares are synchronous for static options; anything else would be a surprise here.
  if (!done) throw new Error('helmet did not finish synchronously');
  return headers;
}
