import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CaptureMode } from './domain/payment.js';
import { readEnvironment, type Environment } from './environment.js';

/**
 * Environment → one typed, frozen Config. Every problem is collected and
 * reported together at boot, so an operator fixes them in one go.
 */
export interface Config {
  env: 'production' | 'development' | 'test';
  port: number;
  host: string;
  dataDir: string;
  /** preparedStatements: DATABASE_PREPARED_STATEMENTS (see src/persistence/db.ts); off for a pooler that cannot keep them. */
  database: { url: string; poolSize: number; statementTimeoutMs: number; preparedStatements: boolean };
  jwt: {
    secret: string | null;
    jwksUrl: string | null;
    issuer: string | null;
    audience: string | null;
    /** true when the secret is the generated development one kept in ./data */
    devSecret: boolean;
    /** How long fetched JWKS keys are trusted: a key removed by the identity provider stops working after this. */
    jwksCacheSeconds: number;
    /** JWT_REQUIRE_EXP: a token without `exp` is refused (a token that never expires cannot be revoked). */
    requireExp: boolean;
    /**
     * JWT_ROLES_CLAIM: the claim holding the roles (`admin` grants admin), `roles` by default. A name the
     * token does not have at its top level is read as a dotted path (Keycloak's `realm_access.roles`).
     */
    rolesClaim: string;
  };
  /**
   * The development OpenID provider at /dev-idp (docs/adr/0019): outside production, when no issuer is
   * configured (DEV_IDP=false turns it off). `keysFile` null: keys kept in memory (memory:// database).
   */
  devIdp: { issuer: string; accessTokenTtlSeconds: number; keysFile: string | null } | null;
  /**
   * The console's sign-in (CONSOLE_OIDC_*): null means token pasting. `audience`: CONSOLE_OIDC_AUDIENCE,
   * sent as the `audience` authorization parameter where the provider wants it to issue a JWT for the API (Auth0).
   */
  consoleOidc: {
    issuer: string;
    clientId: string;
    scopes: string;
    redirectUri: string;
    audience: string | null;
  } | null;
  stripe: { secretKey: string; apiBase: string | null; webhookSecret: string | null } | null;
  paypal: { clientId: string; clientSecret: string; apiBase: string | null; webhookId: string | null } | null;
  square: {
    accessToken: string;
    locationId: string;
    apiBase: string | null;
    webhookSignatureKey: string | null;
    webhookUrl: string | null;
  } | null;
  /** ADYEN_*: Checkout API. `apiBase` replaces the library's host (a local emulator); `liveUrlPrefix` is LIVE's account prefix. */
  adyen: {
    apiKey: string;
    merchantAccount: string;
    hmacKey: string;
    environment: 'TEST' | 'LIVE';
    liveUrlPrefix: string | null;
    apiBase: string | null;
  } | null;
  /** MOLLIE_*: `apiBase` is an https:// URL (the library speaks nothing else), e.g. a local emulator. */
  mollie: { apiKey: string; apiBase: string | null } | null;
  sandboxEnabled: boolean;
  /**
   * PAYMENT_CAPTURE, AUTHORIZATION_WARN_HOURS: when money is captured, and how early a lapsing
   * authorization is flagged; PAYMENT_ACTION_TIMEOUT_SECONDS: how long an order waits for its
   * customer to complete the payment.
   */
  payments: { capture: CaptureMode; authorizationWarnHours: number; actionTimeoutSeconds: number };
  /**
   * PUBLIC_BASE_URL: the service's public address, for the URLs it hands out (the sandbox's page,
   * Mollie's webhookUrl, the console's redirect URI, the development provider's issuer). No trailing slash.
   */
  publicBaseUrl: string;
  email: { url: string | null; smtpUrl: string | null; from: string };
  amqpUrl: string | null;
  redisUrl: string | null;
  /** Prefix of every key written to Redis: the instances of one deployment share it. */
  redisKeyPrefix: string;
  rateLimit: { perMinute: number; createPerMinute: number };
  tls: { certFile: string; keyFile: string } | null;
  http2: boolean;
  trustProxy: boolean | string;
  corsOrigins: string[];
  bodyLimit: number;
  /** Socket and header limits of the listening server (docs/deploy.md explains each). */
  http: {
    connectionTimeoutMs: number;
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
    maxHeaderSize: number;
    maxParamLength: number;
    /** On SIGTERM: how long to drain (GET 503 so the balancer moves away, Connection: close) before closing. */
    drainDelayMs: number;
  };
  logLevel: string;
  /** RETURN_WINDOW_DAYS: how many days after delivery a return may be asked for. */
  returns: { windowDays: number };
  workers: {
    enabled: boolean;
    relayIntervalMs: number;
    reconcileIntervalMs: number;
    /** How long a charge in flight is left to its request before the reconciler settles it. */
    reconcileAfterMs: number;
    /** The reconciler's deadlines (RECONCILE_*): see `ReconcilerTimings`. */
    reconciler: ReconcilerTimings;
    /** Outbox relay tuning (OUTBOX_*); the outbox relay ADR in docs/adr/ explains the defaults. */
    outbox: {
      maxAttempts: number;
      batchSize: number;
      backoffBaseMs: number;
      backoffMaxMs: number;
      deliveryTimeoutMs: number;
      /** Housekeeping deletes delivered rows this many hours after delivery; dead rows are kept. */
      retentionHours: number;
    };
  };
}

/** The payment reconciler's deadlines (RECONCILE_*; the soak shortens them to see them pass). */
export interface ReconcilerTimings {
  /** How long a pass holds the charges and movements it claimed: a killed pass's work waits this long. */
  leaseMs: number;
  /** A charge the provider has never heard of after this long was never made (Stripe's search lags). */
  notFoundGraceMs: number;
  /** A charge a provider that cannot be asked (Adyen) has not told about after this long is cancelled there. */
  unansweredChargeMs: number;
  /** The backoff between looks at one charge or movement (5 s doubling) is capped at this. */
  retryMaxMs: number;
}

/** The console's client id at the development provider. */
export const DEV_IDP_CLIENT_ID = 'order-console';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/**
 * The environment read by its schema (environment.ts: names, types, defaults, bounds), then what
 * spans several variables: production's requirements, keys that go together, files that must
 * exist, the development provider. Every problem is collected and thrown together.
 */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const { values: e, given, problems } = readEnvironment(env);
  const envName: Config['env'] =
    e.NODE_ENV === 'production' ? 'production' : e.NODE_ENV === 'test' ? 'test' : 'development';
  const production = envName === 'production';
  const dataDir = resolve(e.DATA_DIR);
  const databaseUrl = e.DATABASE_URL ?? null;
  if (production && !databaseUrl) problems.push('DATABASE_URL is required when NODE_ENV=production');

  const jwt = jwtSettings(e, production, dataDir, problems);
  const stripe = e.STRIPE_SECRET_KEY
    ? {
        secretKey: e.STRIPE_SECRET_KEY,
        apiBase: e.STRIPE_API_BASE ?? null,
        webhookSecret: e.STRIPE_WEBHOOK_SECRET ?? null,
      }
    : null;
  const paypal = together(e, problems, 'PAYPAL_CLIENT_ID', 'PAYPAL_CLIENT_SECRET')
    ? {
        clientId: e.PAYPAL_CLIENT_ID!,
        clientSecret: e.PAYPAL_CLIENT_SECRET!,
        apiBase: e.PAYPAL_API_BASE ?? null,
        webhookId: e.PAYPAL_WEBHOOK_ID ?? null,
      }
    : null;
  const square = together(e, problems, 'SQUARE_ACCESS_TOKEN', 'SQUARE_LOCATION_ID')
    ? {
        accessToken: e.SQUARE_ACCESS_TOKEN!,
        locationId: e.SQUARE_LOCATION_ID!,
        apiBase: e.SQUARE_API_BASE ?? null,
        webhookSignatureKey: e.SQUARE_WEBHOOK_SIGNATURE_KEY ?? null,
        webhookUrl: e.SQUARE_WEBHOOK_URL ?? null,
      }
    : null;
  const adyen = adyenSettings(e, given, problems);
  const mollie = mollieSettings(e, given, problems);

  const tls = together(e, problems, 'TLS_CERT_FILE', 'TLS_KEY_FILE')
    ? { certFile: e.TLS_CERT_FILE!, keyFile: e.TLS_KEY_FILE! }
    : null;
  for (const name of ['TLS_CERT_FILE', 'TLS_KEY_FILE'] as const) {
    const file = e[name];
    if (file && !existsSync(file)) problems.push(`${name}: no file at ${file}`);
  }
  // HTTP/2 without TLS would be h2c, which neither browsers nor nginx's upstreams speak.
  if (e.HTTP2 && !tls) problems.push('HTTP2=true needs TLS_CERT_FILE and TLS_KEY_FILE');
  if (e.EMAIL_URL && e.SMTP_URL) problems.push('set EMAIL_URL or SMTP_URL, not both');

  const publicBaseUrl = (e.PUBLIC_BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  const { devIdp, consoleOidc } = signIn(e, { production, publicBaseUrl, dataDir, databaseUrl }, problems);

  const config: Config = {
    env: envName,
    port: e.PORT,
    host: e.HOST,
    dataDir,
    database: {
      url: databaseUrl ?? join(dataDir, 'pgdata'),
      poolSize: e.DATABASE_POOL_SIZE,
      statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
      preparedStatements: e.DATABASE_PREPARED_STATEMENTS,
    },
    jwt,
    devIdp,
    consoleOidc,
    stripe,
    paypal,
    square,
    adyen,
    mollie,
    sandboxEnabled: !production,
    payments: {
      capture: e.PAYMENT_CAPTURE,
      authorizationWarnHours: e.AUTHORIZATION_WARN_HOURS,
      actionTimeoutSeconds: e.PAYMENT_ACTION_TIMEOUT_SECONDS,
    },
    publicBaseUrl,
    email: { url: e.EMAIL_URL ?? null, smtpUrl: e.SMTP_URL ?? null, from: e.EMAIL_FROM },
    amqpUrl: e.AMQP_URL ?? null,
    redisUrl: e.REDIS_URL ?? null,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    rateLimit: { perMinute: e.RATE_LIMIT_PER_MINUTE, createPerMinute: e.RATE_LIMIT_CREATE_PER_MINUTE },
    tls,
    http2: e.HTTP2,
    trustProxy: trustProxyOf(e.TRUST_PROXY),
    corsOrigins: e.CORS_ORIGINS.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    bodyLimit: e.BODY_LIMIT_BYTES,
    http: {
      connectionTimeoutMs: e.HTTP_CONNECTION_TIMEOUT_MS,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      maxHeaderSize: e.HTTP_MAX_HEADER_SIZE,
      maxParamLength: e.HTTP_MAX_PARAM_LENGTH,
      drainDelayMs: e.SHUTDOWN_DRAIN_DELAY_MS,
    },
    logLevel: e.LOG_LEVEL ?? (envName === 'test' ? 'silent' : 'info'),
    returns: { windowDays: e.RETURN_WINDOW_DAYS },
    workers: {
      enabled: e.WORKERS_ENABLED,
      relayIntervalMs: e.OUTBOX_POLL_MS,
      reconcileIntervalMs: e.RECONCILE_INTERVAL_MS,
      reconcileAfterMs: e.RECONCILE_AFTER_MS,
      reconciler: {
        leaseMs: e.RECONCILE_LEASE_MS,
        notFoundGraceMs: e.RECONCILE_NOT_FOUND_GRACE_MS,
        unansweredChargeMs: e.RECONCILE_UNANSWERED_CHARGE_MS,
        retryMaxMs: e.RECONCILE_RETRY_MAX_MS,
      },
      outbox: {
        maxAttempts: e.OUTBOX_MAX_ATTEMPTS,
        batchSize: e.OUTBOX_BATCH_SIZE,
        backoffBaseMs: e.OUTBOX_BACKOFF_BASE_MS,
        backoffMaxMs: e.OUTBOX_BACKOFF_MAX_MS,
        deliveryTimeoutMs: e.OUTBOX_DELIVERY_TIMEOUT_MS,
        retentionHours: e.OUTBOX_RETENTION_HOURS,
      },
    },
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

type TextVariable = {
  [K in keyof Environment]-?: Environment[K] extends string | undefined ? K : never;
}[keyof Environment];

/** Both or neither: one of a pair alone is a half configuration, refused at boot. True when both are set. */
function together(e: Environment, problems: string[], a: TextVariable, b: TextVariable): boolean {
  if (!!e[a] !== !!e[b]) problems.push(`${a} and ${b} go together`);
  return !!(e[a] && e[b]);
}

/**
 * A secret, a JWKS URL or an issuer (whose discovery document gives the keys); none of them is
 * refused in production, and outside it means the generated development secret kept in DATA_DIR.
 */
function jwtSettings(e: Environment, production: boolean, dataDir: string, problems: string[]): Config['jwt'] {
  let secret = e.JWT_SECRET ?? null;
  const jwksUrl = e.JWT_JWKS_URL ?? null;
  const issuer = e.JWT_ISSUER ?? null;
  let devSecret = false;
  // JWT_ISSUER alone: the keys come from the issuer's discovery document (its jwks_uri).
  if (issuer && !secret && !jwksUrl && !isUrl(issuer))
    problems.push(`JWT_ISSUER must be the issuer's URL when its discovery document gives the keys (got "${issuer}")`);
  if (!secret && !jwksUrl && !issuer) {
    if (production)
      problems.push(
        'JWT_SECRET or JWT_JWKS_URL (or JWT_ISSUER, for its discovery document) is required when NODE_ENV=production',
      );
    else {
      secret = devJwtSecret(dataDir);
      devSecret = true;
    }
  }
  return {
    secret,
    jwksUrl,
    issuer,
    audience: e.JWT_AUDIENCE ?? null,
    devSecret,
    jwksCacheSeconds: e.JWT_JWKS_CACHE_SECONDS,
    requireExp: e.JWT_REQUIRE_EXP,
    rolesClaim: e.JWT_ROLES_CLAIM,
  };
}

/** The development provider: never in production, never beside a real issuer (docs/adr/0019); and the console's sign-in. */
function signIn(
  e: Environment,
  at: { production: boolean; publicBaseUrl: string; dataDir: string; databaseUrl: string | null },
  problems: string[],
): Pick<Config, 'devIdp' | 'consoleOidc'> {
  together(e, problems, 'CONSOLE_OIDC_ISSUER', 'CONSOLE_OIDC_CLIENT_ID');
  const issuerConfigured = !!(e.JWT_ISSUER || e.JWT_JWKS_URL || e.CONSOLE_OIDC_ISSUER);
  if (e.DEV_IDP && at.production)
    problems.push('DEV_IDP cannot be enabled when NODE_ENV=production: sign-in comes from your identity provider');
  else if (e.DEV_IDP && issuerConfigured)
    problems.push('DEV_IDP cannot be enabled with JWT_ISSUER, JWT_JWKS_URL or CONSOLE_OIDC_ISSUER set');
  const devIdp: Config['devIdp'] =
    !at.production && !issuerConfigured && e.DEV_IDP !== false
      ? {
          issuer: `${at.publicBaseUrl}/dev-idp`,
          accessTokenTtlSeconds: e.DEV_IDP_ACCESS_TOKEN_TTL_SECONDS,
          keysFile: at.databaseUrl === 'memory://' ? null : join(at.dataDir, 'dev-idp-keys.json'),
        }
      : null;
  const redirectUri = `${at.publicBaseUrl}/admin`;
  const consoleOidc: Config['consoleOidc'] =
    e.CONSOLE_OIDC_ISSUER && e.CONSOLE_OIDC_CLIENT_ID
      ? {
          issuer: e.CONSOLE_OIDC_ISSUER,
          clientId: e.CONSOLE_OIDC_CLIENT_ID,
          scopes: e.CONSOLE_OIDC_SCOPES ?? 'openid profile email offline_access',
          redirectUri,
          audience: e.CONSOLE_OIDC_AUDIENCE ?? null,
        }
      : devIdp
        ? {
            issuer: devIdp.issuer,
            clientId: DEV_IDP_CLIENT_ID,
            scopes: e.CONSOLE_OIDC_SCOPES ?? 'openid profile offline_access',
            redirectUri,
            audience: null,
          }
        : null;
  return { devIdp, consoleOidc };
}

/** TRUST_PROXY: true/1 or false/0, else what Fastify takes besides (addresses, CIDRs, a hop count). */
function trustProxyOf(raw: string | undefined): boolean | string {
  if (raw === undefined || /^(0|false)$/i.test(raw)) return false;
  return /^(1|true)$/i.test(raw) ? true : raw;
}

function isUrl(raw: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(raw).protocol);
  } catch {
    return false;
  }
}

/**
 * Adyen is on once ADYEN_API_KEY, ADYEN_MERCHANT_ACCOUNT and ADYEN_HMAC_KEY are all set: without
 * the HMAC key its notifications, the only way Adyen tells how a capture, refund or cancel ended,
 * could not be trusted. Any ADYEN_* without the three is a half configuration, refused at boot.
 */
function adyenSettings(e: Environment, given: ReadonlySet<string>, problems: string[]): Config['adyen'] {
  const required = ['ADYEN_API_KEY', 'ADYEN_MERCHANT_ACCOUNT', 'ADYEN_HMAC_KEY'] as const;
  const missing = required.filter((name) => !e[name]);
  const anySet = [...given].some((name) => name.startsWith('ADYEN_'));
  if (!anySet) return null;
  if (missing.length > 0)
    problems.push(
      `Adyen is half configured: ${missing.join(', ')} missing (ADYEN_API_KEY, ADYEN_MERCHANT_ACCOUNT and ADYEN_HMAC_KEY go together)`,
    );
  const environment = e.ADYEN_ENVIRONMENT ?? 'TEST';
  const liveUrlPrefix = e.ADYEN_LIVE_URL_PREFIX ?? null;
  const apiBase = e.ADYEN_API_BASE ?? null;
  if (environment === 'LIVE' && !liveUrlPrefix && !apiBase)
    problems.push('ADYEN_ENVIRONMENT=LIVE needs ADYEN_LIVE_URL_PREFIX (your live endpoint prefix)');
  if (!e.ADYEN_API_KEY || !e.ADYEN_MERCHANT_ACCOUNT || !e.ADYEN_HMAC_KEY) return null;
  return {
    apiKey: e.ADYEN_API_KEY,
    merchantAccount: e.ADYEN_MERCHANT_ACCOUNT,
    hmacKey: e.ADYEN_HMAC_KEY,
    environment,
    liveUrlPrefix,
    apiBase,
  };
}

/** Mollie is on with MOLLIE_API_KEY; MOLLIE_API_BASE alone is a half configuration. The library only speaks HTTPS. */
function mollieSettings(e: Environment, given: ReadonlySet<string>, problems: string[]): Config['mollie'] {
  const apiBase = e.MOLLIE_API_BASE ?? null;
  if (!e.MOLLIE_API_KEY) {
    if (given.has('MOLLIE_API_BASE'))
      problems.push('Mollie is half configured: MOLLIE_API_BASE is set but MOLLIE_API_KEY is missing');
    return null;
  }
  if (apiBase && !apiBase.startsWith('https://'))
    problems.push(`MOLLIE_API_BASE must be an https:// URL: Mollie's library speaks nothing else (got "${apiBase}")`);
  return { apiKey: e.MOLLIE_API_KEY, apiBase };
}

/** For process entry points: the config, or its problems printed and exit code 1. */
export function loadConfigOrExit(env: Env = process.env): Readonly<Config> {
  try {
    return loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
}

/** Outside production with no JWT configuration: a random secret kept in ./data, made once. */
function devJwtSecret(dataDir: string): string {
  const file = join(dataDir, 'dev-jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  return secret;
}
