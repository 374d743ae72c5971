import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { sendProblem } from '../problem.js';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Starts draining before close (docs/adr/0008-proxy-retries.md). Safe requests (GET, HEAD) get
     * 503 + Retry-After, which a balancer retries on another instance and counts as a failure of this
     * one: nginx (max_fails=1) then stops sending anything here, POSTs included. Other requests are
     * still served, each with `Connection: close`, so pooled connections are dropped after their
     * current request. When close() comes, no balancer is still choosing us, so nothing is sent down
     * a connection just as we cut it. Liveness and metrics stay up.
     */
    drain: () => void;
    readonly draining: boolean;
  }
}

export default fp(
  async function drainPlugin(app: FastifyInstance) {
    let draining = false;
    app.decorate('drain', () => {
      draining = true;
    });
    app.decorate('draining', {
      getter: () => draining,
    });

    app.addHook('onRequest', async (request, reply) => {
      if (!draining || (request.method !== 'GET' && request.method !== 'HEAD')) return;
      if (request.routeOptions.url === '/healthz' || request.routeOptions.url === '/metrics') return;
      reply.header('retry-after', '1');
      return sendProblem(request, reply, 'service_unavailable', 'This instance is shutting down; retry.');
    });
    app.addHook('onSend', (request, reply, payload, done) => {
      // HTTP/2 has no Connection header (its GOAWAY comes with close()).
      if (draining && request.raw.httpVersionMajor === 1) reply.header('connection', 'close');
      done(null, payload);
    });
  },
  { name: 'drain' },
);
