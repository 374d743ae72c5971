import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyServerOptions } from 'fastify';
import type { Kysely } from 'kysely';
import type { Faults } from './application/deps.js';
import type { Deps } from './application/deps.js';
import type { Config } from './config.js';
import authPlugin, { createTokenVerifier, type TokenVerifier } from './http/plugins/auth.js';
import consolePlugin from './http/plugins/console.js';
import devIdpPlugin from './http/plugins/dev-idp.js';
import { loadDevIdpKeys } from './dev-idp/keys.js';
import { apiResource } from './dev-idp/provider.js';
import docsPlugin from './http/plugins/docs.js';
import drainPlugin from './http/plugins/drain.js';
import errorsPlugin from './http/plugins/errors.js';
import metricsPlugin from './http/plugins/metrics.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import rateLimitPlugin from './http/plugins/rate-limit.js';
import securityPlugin from './http/plugins/security.js';
import { clientErrorHandler, frameworkErrors } from './http/client-errors.js';
import { genReqId } from './http/request-id.js';
import { serverOptions } from './http/server-options.js';
import opsRoutes from './http/routes/ops/index.js';
import orderRoutes from './http/routes/orders/index.js';
import productRoutes from './http/routes/products/index.js';
import refundRoutes from './http/routes/refunds/index.js';
import returnRoutes from './http/routes/returns/index.js';
import webhookRoutes from './http/routes/webhooks/index.js';
import sandboxAuthenticateRoutes from './http/routes/sandbox/authenticate.js';
import outboxAdminRoutes from './http/routes/admin/outbox.js';
import searchOrdersRoute from './http/routes/admin/search-orders.js';
import { createValidatorCompiler } from './http/validation.js';
import { createPaymentProcessor, type PaymentProcessor } from './payments/processor.js';
import { createWebhookVerifiers } from './payments/webhooks/index.js';
import type { Database } from './persistence/tables.js';
import { registerOutboxMetrics } from './workers/outbox-metrics.js';
import { registerPaymentMetrics } from './workers/payment-metrics.js';

export interface AppOptions {
  config: Readonly<Config>;
  db: Kysely<Database>;
  /** Replacements for what lies outside the machine (tests). */
  payments?: PaymentProcessor;
  verifier?: TokenVerifier;
  clock?: () => Date;
  faults?: Faults;
  metrics?: Metrics;
  logger?: FastifyServerOptions['logger'];
  https?: FastifyServerOptions['https' & keyof FastifyServerOptions];
}

/** The one place where everything is wired together. */
export async function buildApp(opts: AppOptions) {
  const { config } = opts;
  const app = Fastify({
    logger: opts.logger ?? { level: config.logLevel, redact: ['req.headers.authorization'] },
    genReqId,
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    ...serverOptions(config), // TLS/HTTP2, timeouts, header limits
    return503OnClosing: true,
    // What the HTTP parser or the router refuse answers as problem+json too (http/client-errors.ts).
    clientErrorHandler: clientErrorHandler(config.http.maxHeaderSize),
    frameworkErrors,
    forceCloseConnections: 'idle',
  }).withTypeProvider<TypeBoxTypeProvider>();

  const metrics = opts.metrics ?? createMetrics();
  const outboxMetrics = registerOutboxMetrics(metrics.registry, { db: opts.db });
  registerPaymentMetrics(metrics.registry, { db: opts.db, warnHours: config.payments.authorizationWarnHours });
  const deps: Deps = {
    db: opts.db,
    payments: opts.payments ?? (await createPaymentProcessor(config)),
    clock: opts.clock ?? (() => new Date()),
    logger: app.log,
    metrics,
    faults: opts.faults,
    reconcileAfterMs: config.workers.reconcileAfterMs,
    reconciler: config.workers.reconciler,
    capture: config.payments.capture,
    authorizationWarnHours: config.payments.authorizationWarnHours,
    actionTimeoutMs: config.payments.actionTimeoutSeconds * 1000,
    returnWindowDays: config.returns.windowDays,
  };

  app.setValidatorCompiler(createValidatorCompiler());
  // Only JSON bodies are accepted; anything else is 415.
  app.removeContentTypeParser('text/plain');
  // An empty JSON body is no body (a client that always sends the header may cancel with nothing);
  // routes whose schema needs a body still answer 422.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    return parseJson(request, body as string, done);
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    done(null, payload);
  });

  await app.register(errorsPlugin);
  await app.register(metricsPlugin, { metrics });
  await app.register(securityPlugin, { corsOrigins: config.corsOrigins });
  await app.register(drainPlugin);
  // The development provider (docs/adr/0019): its keys are made before the verifier that trusts them.
  const devIdp = config.devIdp
    ? { config: { ...config, devIdp: config.devIdp }, keys: loadDevIdpKeys(config.devIdp.keysFile) }
    : null;
  const verifier =
    opts.verifier ??
    createTokenVerifier(
      config.jwt,
      devIdp && { issuer: devIdp.config.devIdp.issuer, audience: apiResource(config), jwks: devIdp.keys.public },
    );
  await app.register(rateLimitPlugin, {
    ...config.rateLimit,
    redisUrl: config.redisUrl,
    redisPrefix: `${config.redisKeyPrefix}rl:`,
    verifier,
    registry: metrics.registry,
  });
  await app.register(authPlugin, { verifier });
  await app.register(docsPlugin);
  await app.register(consolePlugin, { oidc: config.consoleOidc, publicBaseUrl: config.publicBaseUrl });
  if (devIdp) await app.register(devIdpPlugin, devIdp);
  await app.register(opsRoutes, { deps });
  if (deps.payments.enabled().includes('sandbox')) await app.register(sandboxAuthenticateRoutes, { deps });
  await app.register(
    async (api) => {
      await api.register(orderRoutes, { deps });
      await api.register(returnRoutes, { deps });
      await api.register(refundRoutes, { deps });
      await api.register(productRoutes, { deps });
      await api.register(webhookRoutes, {
        deps,
        verifiers: await createWebhookVerifiers(config),
        adyenHmacKey: config.adyen?.hmacKey ?? null,
        mollie: config.mollie !== null,
      });
      await api.register(async (admin) => {
        admin.addHook('onRequest', admin.authenticate);
        admin.addHook('preHandler', admin.requireAdmin);
        await admin.register(outboxAdminRoutes, { deps });
        await admin.register(searchOrdersRoute, { deps });
      });
    },
    { prefix: '/api' },
  );

  return Object.assign(app, { deps, outboxMetrics });
}

export type OrderApp = Awaited<ReturnType<typeof buildApp>>;
