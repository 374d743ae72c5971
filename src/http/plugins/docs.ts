import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** OpenAPI 3.1 generated from the route schemas, served raw and as an interactive page. */
export default fp(
  async function docsPlugin(app: FastifyInstance) {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Order API',
          version: '1.0.0',
          description:
            'Create, read, list, cancel and track orders. Money is an integer in the minor unit of `currency`. ' +
            'Errors are RFC 9457 problem details with a stable `code`.',
        },
        components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
        tags: [
          { name: 'orders' }, { name: 'tracking' }, { name: 'returns' }, { name: 'payments' }, { name: 'catalog' }, { name: 'webhooks' }, { name: 'operations' }, { name: 'admin' },
        ],
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { persistAuthorization: true } });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'docs' },
);
