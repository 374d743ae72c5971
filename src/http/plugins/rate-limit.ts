import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Redis } from 'ioredis';
import { Counter, type Registry } from 'prom-client';
import { sendProblem } from '../problem.js';
import type { TokenVerifier } from './auth.js';

/**
 * Per-user (per-address without a valid token) request budgets, shared by every instance through
 * Redis when REDIS_URL is set. docs/adr/0006-rate-limit-key-and-placement.md explains why the key is the
 * *verified* `sub` and why the check runs before authentication; the headers follow
 * draft-ietf-httpapi-ratelimit-headers (RateLimit-Policy / RateLimit).
 */
interface RateLimitOptions {
  perMinute: number;
  createPerMinute: number;
  redisUrl: string | null;
  redisPrefix: string;
  verifier: TokenVerifier;
  registry: Registry;
}

const WINDOW_SECONDS = 60;
/** Probes and scrapes must keep working for a client that is throttled (or a busy balancer). */
const UNLIMITED_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);
const CREATE_ROUTES = new Set(['/api/orders', '/api/orders/create']);

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;
interface Policy {
  name: 'default' | 'create';
  quota: number;
  check: Limiter;
}
interface Outcome {
  policy: Policy;
  remaining: number;
  resetSeconds: number;
  exceeded: boolean;
}

export default fp(
  async function rateLimitPlugin(app: FastifyInstance, opts: RateLimitOptions) {
    const storeErrors = new Counter({
      name: 'rate_limit_store_errors_total',
      help: 'Rate-limit checks that failed open because the counter store (Redis) did not answer',
      registers: [opts.registry],
    });
    const refused = new Counter({
      name: 'rate_limited_requests_total',
      help: 'Requests refused with 429, by policy',
      labelNames: ['policy'],
      registers: [opts.registry],
    });

    const redis = opts.redisUrl ? await connectRedis(opts.redisUrl, app.log) : null;
    if (redis) app.addHook('onClose', async () => redis.disconnect());

    // The key of the request being checked: computed once, read by both limiters' keyGenerator.
    const keys = new WeakMap<FastifyRequest, string>();
    const limiter = async (name: Policy['name'], quota: number): Promise<Policy> => {
      let check: Limiter | undefined;
      // Each policy is its own encapsulated instance of @fastify/rate-limit: its own quota and its own
      // key namespace in Redis; `global: false` because we call it from the hook below.
      await app.register(async (scope) => {
        await scope.register(rateLimit, {
          global: false,
          max: quota,
          timeWindow: WINDOW_SECONDS * 1000,
          keyGenerator: (request) => keys.get(request) ?? `ip:${normalizeIP(request.ip)}`,
          // We catch store errors ourselves (skipOnError would swallow them unseen): logged and counted.
          skipOnError: false,
          cache: 10_000,
          ...(redis ? { redis, nameSpace: `${opts.redisPrefix}${name}:` } : {}),
        });
        check = scope.createRateLimit();
      });
      return { name, quota, check: check! };
    };
    const general = await limiter('default', opts.perMinute);
    const create = await limiter('create', opts.createPerMinute);

    let lastWarning = 0;
    let unlogged = 0;
    const failOpen = (request: FastifyRequest, err: unknown) => {
      storeErrors.inc();
      // A dead Redis fails every request; one line every 10 s says so without flooding the log.
      if (Date.now() - lastWarning < 10_000) return void unlogged++;
      request.log.warn({ err, unlogged }, 'rate-limit store unavailable: serving without limits');
      lastWarning = Date.now();
      unlogged = 0;
    };

    app.addHook('onRequest', async (request, reply) => {
      const route = request.routeOptions.url;
      if (route !== undefined && UNLIMITED_ROUTES.has(route)) return;
      const policies =
        request.method === 'POST' && route !== undefined && CREATE_ROUTES.has(route) ? [general, create] : [general];
      keys.set(request, await identify(request, opts.verifier));

      const outcomes: Outcome[] = [];
      for (const policy of policies) {
        let result;
        try {
          result = await policy.check(request);
        } catch (err) {
          return failOpen(request, err);
        }
        if (result.isAllowed) continue; // no allow-list is configured, so this does not happen
        const exceeded = result.isExceeded;
        outcomes.push({ policy, remaining: result.remaining, resetSeconds: result.ttlInSeconds, exceeded });
        // A refused request does not spend the next policy's budget.
        if (exceeded) break;
      }
      setHeaders(reply, outcomes);

      const over = outcomes.find((o) => o.exceeded);
      if (!over) return;
      refused.inc({ policy: over.policy.name });
      const retryAfter = Math.max(1, over.resetSeconds);
      reply.header('retry-after', String(retryAfter));
      const what = over.policy.name === 'create' ? 'order creations' : 'requests';
      return sendProblem(
        request,
        reply,
        'rate_limited',
        `More than ${over.policy.quota} ${what} a minute; retry in ${retryAfter} s.`,
      );
    });
  },
  { name: 'rate-limit' },
);

/**
 * The budget's owner: the `sub` of a token that *verifies* (the same verifier the auth hook uses), else
 * the client address. Never an unverified claim: a forged `sub` would let a client spread itself over
 * many budgets or drain someone else's.
 */
async function identify(request: FastifyRequest, verifier: TokenVerifier): Promise<string> {
  const token = /^Bearer +(\S{1,8192})$/i.exec(request.headers.authorization ?? '')?.[1];
  if (token) {
    try {
      return `u:${(await verifier(token)).sub}`;
    } catch {
      // Invalid, expired or unverifiable: counted against the address; the auth hook answers 401/503.
    }
  }
  // request.ip honours TRUST_PROXY (X-Forwarded-For from the balancer); IPv6 grouped by /64.
  return `ip:${normalizeIP(request.ip)}`;
}

/** draft-ietf-httpapi-ratelimit-headers-11: `"name";q=quota;w=window` and `"name";r=remaining;t=reset`. */
function setHeaders(reply: FastifyReply, outcomes: Outcome[]) {
  if (outcomes.length === 0) return;
  reply.header(
    'ratelimit-policy',
    outcomes.map((o) => `"${o.policy.name}";q=${o.policy.quota};w=${WINDOW_SECONDS}`).join(', '),
  );
  reply.header('ratelimit', outcomes.map((o) => `"${o.policy.name}";r=${o.remaining};t=${o.resetSeconds}`).join(', '));
}

/**
 * A Redis client that never makes a request wait on a dead server: no offline queue (a command while
 * disconnected fails at once), short connect and command timeouts, reconnection in the background.
 */
async function connectRedis(url: string, log: FastifyBaseLogger): Promise<Redis> {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    connectTimeout: 1000,
    commandTimeout: 500,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  let down = false;
  redis.on('error', (err) => {
    if (!down) log.warn({ err }, 'rate-limit store (Redis) unreachable; failing open until it is back');
    down = true;
  });
  redis.on('ready', () => {
    if (down) log.info('rate-limit store (Redis) reachable again');
    down = false;
  });
  // Wait briefly for the first connection, so a fresh instance counts from its first request; a Redis
  // that is down at boot must not stop the service from starting.
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      redis.off('error', done);
      resolve();
    };
    const timer = setTimeout(done, 1500);
    redis.once('ready', done);
    redis.once('error', done);
  });
  return redis;
}
