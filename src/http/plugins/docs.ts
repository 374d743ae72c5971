import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

// What a client needs to know about input that no single schema says (docs/adr/0011).
const TEXT_AND_NUMBERS =
  '**Text.** A string anywhere in a body, a query or a path that holds U+0000 (NUL) or an unpaired UTF-16 ' +
  'surrogate (such as the JSON escape `\\ud800`) is `422 validation_error` naming the field: PostgreSQL cannot ' +
  'store it, and nothing of the request is applied. Everything else — right-to-left and bidi marks, zero-width ' +
  'characters, combining marks, emoji — is text, stored and returned exactly as sent.\n\n' +
  '**Numbers.** An integer in a query string or path is decimal digits only: `limit=0x10`, `1e1`, `16.0` or ' +
  '` 16` is `422 validation_error`, never 16. In a JSON body `2.0` and `2e0` are the integer 2 (JSON Schema ' +
  'defines integers by value), `1.5` is not an integer.';

const TOKENS =
  'A JWT: HS256 with the service secret, or RS256/ES256/EdDSA from `JWT_JWKS_URL`. `exp` is required unless the ' +
  'service runs with `JWT_REQUIRE_EXP=false`; `sub` (the owner of orders) must be 1–255 characters of storable ' +
  'text (no NUL, no unpaired surrogate), else `401 invalid_token`. An `email` claim that is not an email address ' +
  'is ignored: an order without a body `email` then has none. `roles`: an array of strings (anything else counts ' +
  'as no roles, entries that are not strings are skipped); `admin` among them grants the admin routes.';

/** OpenAPI 3.1 generated from the route schemas, served raw and as an interactive page. */
export default fp(
  async function docsPlugin(app: FastifyInstance) {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Order API',
          version: '1.0.0',
          // No public license: SPDX's own spelling for one not on its list.
          license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
          description:
            'Create, read, list, cancel and track orders. Money is an integer in the minor unit of `currency`. ' +
            'Errors are RFC 9457 problem details with a stable `code`.\n\n' +
            TEXT_AND_NUMBERS,
        },
        components: {
          securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: TOKENS } },
        },
        // Paths are absolute from the service's root (`/api/…`, `/healthz`): the server is wherever this document was read.
        servers: [{ url: '/', description: 'This service' }],
        tags: [
          { name: 'orders', description: "A customer's orders: create (and pay), read, list, cancel, track." },
          {
            name: 'tracking',
            description:
              "An order's status over time: its moves (shipped with a tracking number, delivered) and its history.",
          },
          {
            name: 'returns',
            description: 'Units sent back after delivery: asked for by the customer, received or rejected by support.',
          },
          {
            name: 'payments',
            description: "An order's money: its ledger, the customer's confirmation, refunds by support.",
          },
          { name: 'catalog', description: 'Products and their prices: any user reads them, admins write them.' },
          { name: 'webhooks', description: "Payment providers' events, authenticated by their signature." },
          { name: 'operations', description: 'Liveness and readiness for load balancers and orchestrators.' },
          { name: 'admin', description: "Support's tools: search every order, the outbox's dead messages." },
        ],
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { persistAuthorization: true } });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'docs' },
);
