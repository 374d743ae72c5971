import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CAPTURE_MODES, type CaptureMode } from './domain/payment.js';

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

/** The console's client id at the development provider. */
export const DEV_IDP_CLIENT_ID = 'order-console';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Readonly<Config> {
  const problems: string[] = [];
  const str = (name: string): string | null => {
    const v = env[name]?.trim();
    return v ? v : null;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = str(name);
    if (raw === null) return fallback;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = str(name);
    if (raw === null) return fallback;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  };
  const url = (name: string): string | null => {
    const raw = str(name);
    if (raw === null) return null;
    try {
      new URL(raw);
      return raw;
    } catch {
      problems.push(`${name} is not a URL (got "${raw}")`);
      return null;
    }
  };

  const nodeEnv = str('NODE_ENV');
  const envName: Config['env'] = nodeEnv === 'production' ? 'production' : nodeEnv === 'test' ? 'test' : 'development';
  const production = envName === 'production';
  const dataDir = resolve(str('DATA_DIR') ?? './data');

  const databaseUrl = str('DATABASE_URL');
  if (production && !databaseUrl) problems.push('DATABASE_URL is required when NODE_ENV=production');
  if (databaseUrl && !/^(postgres(ql)?:\/\/|memory:\/\/$)/.test(databaseUrl)) {
    problems.push('DATABASE_URL must be postgres://…, postgresql://… or memory://');
  }

  let secret = str('JWT_SECRET');
  const jwksUrl = url('JWT_JWKS_URL');
  const jwtIssuer = str('JWT_ISSUER');
  let devSecret = false;
  if (secret && secret.length < 32) problems.push('JWT_SECRET must be at least 32 characters (256 bits for HS256)');
  // JWT_ISSUER alone: the keys come from the issuer's discovery document (its jwks_uri).
  if (jwtIssuer && !secret && !jwksUrl && !isUrl(jwtIssuer))
    problems.push(
      `JWT_ISSUER must be the issuer's URL when its discovery document gives the keys (got "${jwtIssuer}")`,
    );
  if (!secret && !jwksUrl && !jwtIssuer) {
    if (production)
      problems.push(
        'JWT_SECRET or JWT_JWKS_URL (or JWT_ISSUER, for its discovery document) is required when NODE_ENV=production',
      );
    else {
      secret = devJwtSecret(dataDir);
      devSecret = true;
    }
  }

  const stripeKey = str('STRIPE_SECRET_KEY');
  const paypalId = str('PAYPAL_CLIENT_ID');
  const paypalSecret = str('PAYPAL_CLIENT_SECRET');
  if (!!paypalId !== !!paypalSecret) problems.push('PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET go together');
  const squareToken = str('SQUARE_ACCESS_TOKEN');
  const squareLocation = str('SQUARE_LOCATION_ID');
  if (!!squareToken !== !!squareLocation) problems.push('SQUARE_ACCESS_TOKEN and SQUARE_LOCATION_ID go together');

  const adyen = adyenSettings(str, url, problems);
  const mollie = mollieSettings(str, url, problems);

  const captureRaw = str('PAYMENT_CAPTURE') ?? 'immediate';
  const captureMode: CaptureMode = (CAPTURE_MODES as readonly string[]).includes(captureRaw)
    ? (captureRaw as CaptureMode)
    : 'immediate';
  if (captureMode !== captureRaw) problems.push(`PAYMENT_CAPTURE must be one of ${CAPTURE_MODES.join(', ')}`);

  const certFile = str('TLS_CERT_FILE');
  const keyFile = str('TLS_KEY_FILE');
  if (!!certFile !== !!keyFile) problems.push('TLS_CERT_FILE and TLS_KEY_FILE go together');
  for (const [name, file] of [
    ['TLS_CERT_FILE', certFile],
    ['TLS_KEY_FILE', keyFile],
  ] as const) {
    if (file && !existsSync(file)) problems.push(`${name}: no file at ${file}`);
  }

  // HTTP/2 without TLS would be h2c, which neither browsers nor nginx's upstreams speak.
  if (/^(1|true|yes|on)$/i.test(str('HTTP2') ?? '') && !(certFile && keyFile))
    problems.push('HTTP2=true needs TLS_CERT_FILE and TLS_KEY_FILE');

  const emailUrl = url('EMAIL_URL');
  const smtpUrl = url('SMTP_URL');
  if (emailUrl && smtpUrl) problems.push('set EMAIL_URL or SMTP_URL, not both');

  const port = int('PORT', 8000, 0, 65535);
  const publicBaseUrl = (url('PUBLIC_BASE_URL') ?? `http://localhost:${port}`).replace(/\/+$/, '');

  // The development provider: never in production, never beside a real issuer (docs/adr/0019).
  const consoleIssuer = url('CONSOLE_OIDC_ISSUER');
  const consoleClientId = str('CONSOLE_OIDC_CLIENT_ID');
  if (!!consoleIssuer !== !!consoleClientId)
    problems.push('CONSOLE_OIDC_ISSUER and CONSOLE_OIDC_CLIENT_ID go together');
  const issuerConfigured = !!(jwtIssuer || jwksUrl || consoleIssuer);
  const devIdpAsked = str('DEV_IDP') === null ? null : bool('DEV_IDP', false);
  if (devIdpAsked && production)
    problems.push('DEV_IDP cannot be enabled when NODE_ENV=production: sign-in comes from your identity provider');
  else if (devIdpAsked && issuerConfigured)
    problems.push('DEV_IDP cannot be enabled with JWT_ISSUER, JWT_JWKS_URL or CONSOLE_OIDC_ISSUER set');
  const devIdp: Config['devIdp'] =
    !production && !issuerConfigured && devIdpAsked !== false
      ? {
          issuer: `${publicBaseUrl}/dev-idp`,
          accessTokenTtlSeconds: int('DEV_IDP_ACCESS_TOKEN_TTL_SECONDS', 300, 2, 86_400),
          keysFile: databaseUrl === 'memory://' ? null : join(dataDir, 'dev-idp-keys.json'),
        }
      : null;
  const redirectUri = `${publicBaseUrl}/admin`;
  const consoleOidc: Config['consoleOidc'] =
    consoleIssuer && consoleClientId
      ? {
          issuer: consoleIssuer,
          clientId: consoleClientId,
          scopes: str('CONSOLE_OIDC_SCOPES') ?? 'openid profile email offline_access',
          redirectUri,
          audience: str('CONSOLE_OIDC_AUDIENCE'),
        }
      : devIdp
        ? {
            issuer: devIdp.issuer,
            clientId: DEV_IDP_CLIENT_ID,
            scopes: str('CONSOLE_OIDC_SCOPES') ?? 'openid profile offline_access',
            redirectUri,
            audience: null,
          }
        : null;

  const trustProxyRaw = str('TRUST_PROXY');
  const trustProxy: boolean | string =
    trustProxyRaw === null
      ? false
      : /^(1|true)$/i.test(trustProxyRaw)
        ? true
        : /^(0|false)$/i.test(trustProxyRaw)
          ? false
          : trustProxyRaw;

  const config: Config = {
    env: envName,
    port,
    host: str('HOST') ?? '0.0.0.0',
    dataDir,
    database: {
      url: databaseUrl ?? join(dataDir, 'pgdata'),
      poolSize: int('DATABASE_POOL_SIZE', 10, 1, 1000),
      statementTimeoutMs: int('DATABASE_STATEMENT_TIMEOUT_MS', 10_000, 100, 600_000),
      preparedStatements: bool('DATABASE_PREPARED_STATEMENTS', true),
    },
    jwt: {
      secret,
      jwksUrl,
      issuer: jwtIssuer,
      audience: str('JWT_AUDIENCE'),
      devSecret,
      jwksCacheSeconds: int('JWT_JWKS_CACHE_SECONDS', 600, 1, 86_400),
      requireExp: bool('JWT_REQUIRE_EXP', true),
      rolesClaim: str('JWT_ROLES_CLAIM') ?? 'roles',
    },
    devIdp,
    consoleOidc,
    stripe: stripeKey
      ? { secretKey: stripeKey, apiBase: url('STRIPE_API_BASE'), webhookSecret: str('STRIPE_WEBHOOK_SECRET') }
      : null,
    paypal:
      paypalId && paypalSecret
        ? {
            clientId: paypalId,
            clientSecret: paypalSecret,
            apiBase: url('PAYPAL_API_BASE'),
            webhookId: str('PAYPAL_WEBHOOK_ID'),
          }
        : null,
    square:
      squareToken && squareLocation
        ? {
            accessToken: squareToken,
            locationId: squareLocation,
            apiBase: url('SQUARE_API_BASE'),
            webhookSignatureKey: str('SQUARE_WEBHOOK_SIGNATURE_KEY'),
            webhookUrl: url('SQUARE_WEBHOOK_URL'),
          }
        : null,
    adyen,
    mollie,
    sandboxEnabled: !production,
    payments: {
      capture: captureMode,
      authorizationWarnHours: int('AUTHORIZATION_WARN_HOURS', 24, 1, 24 * 365),
      actionTimeoutSeconds: int('PAYMENT_ACTION_TIMEOUT_SECONDS', 1800, 1, 30 * 86_400),
    },
    publicBaseUrl,
    email: { url: emailUrl, smtpUrl, from: str('EMAIL_FROM') ?? 'Orders <orders@example.com>' },
    amqpUrl: url('AMQP_URL'),
    redisUrl: url('REDIS_URL'),
    redisKeyPrefix: str('REDIS_KEY_PREFIX') ?? 'order-api:',
    rateLimit: {
      perMinute: int('RATE_LIMIT_PER_MINUTE', 120, 1, 1_000_000),
      createPerMinute: int('RATE_LIMIT_CREATE_PER_MINUTE', 30, 1, 1_000_000),
    },
    tls: certFile && keyFile ? { certFile, keyFile } : null,
    http2: bool('HTTP2', false),
    trustProxy,
    corsOrigins: (str('CORS_ORIGINS') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    bodyLimit: int('BODY_LIMIT_BYTES', 1024 * 1024, 1024, 100 * 1024 * 1024),
    http: {
      // Idle socket, whole-request and keep-alive limits; keep-alive outlives nginx's 60 s upstream one.
      connectionTimeoutMs: int('HTTP_CONNECTION_TIMEOUT_MS', 60_000, 0, 3_600_000),
      requestTimeoutMs: int('HTTP_REQUEST_TIMEOUT_MS', 30_000, 0, 3_600_000),
      keepAliveTimeoutMs: int('HTTP_KEEP_ALIVE_TIMEOUT_MS', 72_000, 1, 3_600_000),
      maxHeaderSize: int('HTTP_MAX_HEADER_SIZE', 16_384, 1024, 1024 * 1024),
      maxParamLength: int('HTTP_MAX_PARAM_LENGTH', 100, 64, 10_000),
      drainDelayMs: int('SHUTDOWN_DRAIN_DELAY_MS', 1000, 0, 20_000),
    },
    logLevel: str('LOG_LEVEL') ?? (envName === 'test' ? 'silent' : 'info'),
    returns: { windowDays: int('RETURN_WINDOW_DAYS', 30, 0, 3650) },
    workers: {
      enabled: bool('WORKERS_ENABLED', true),
      relayIntervalMs: int('OUTBOX_POLL_MS', 1000, 10, 600_000),
      reconcileIntervalMs: int('RECONCILE_INTERVAL_MS', 30_000, 10, 3_600_000),
      // Longer than the slowest charge (PayPal: two calls, each 10 s × 3 attempts).
      reconcileAfterMs: int('RECONCILE_AFTER_MS', 120_000, 0, 3_600_000),
      outbox: {
        // 20 attempts, 1 s doubling capped at 1 h: a message rides out 4-8 h of outage before it is dead.
        maxAttempts: int('OUTBOX_MAX_ATTEMPTS', 20, 1, 1000),
        batchSize: int('OUTBOX_BATCH_SIZE', 20, 1, 1000),
        backoffBaseMs: int('OUTBOX_BACKOFF_BASE_MS', 1000, 1, 3_600_000),
        backoffMaxMs: int('OUTBOX_BACKOFF_MAX_MS', 3_600_000, 1, 86_400_000),
        deliveryTimeoutMs: int('OUTBOX_DELIVERY_TIMEOUT_MS', 10_000, 100, 600_000),
        // 7 days by default; at least 1 h (0 would delete a message as it is marked), at most a year.
        retentionHours: int('OUTBOX_RETENTION_HOURS', 168, 1, 8760),
      },
    },
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

function isUrl(raw: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(raw).protocol);
  } catch {
    return false;
  }
}

type Reader = (name: string) => string | null;

/**
 * Adyen is on once ADYEN_API_KEY, ADYEN_MERCHANT_ACCOUNT and ADYEN_HMAC_KEY are all set: without
 * the HMAC key its notifications, the only way Adyen tells how a capture, refund or cancel ended,
 * could not be trusted. Any ADYEN_* without the three is a half configuration, refused at boot.
 */
function adyenSettings(str: Reader, url: Reader, problems: string[]): Config['adyen'] {
  const apiKey = str('ADYEN_API_KEY');
  const merchantAccount = str('ADYEN_MERCHANT_ACCOUNT');
  const hmacKey = str('ADYEN_HMAC_KEY');
  const environment = str('ADYEN_ENVIRONMENT') ?? 'TEST';
  const liveUrlPrefix = str('ADYEN_LIVE_URL_PREFIX');
  const apiBase = url('ADYEN_API_BASE');
  const required = { ADYEN_API_KEY: apiKey, ADYEN_MERCHANT_ACCOUNT: merchantAccount, ADYEN_HMAC_KEY: hmacKey };
  const missing = Object.entries(required)
    .filter(([, v]) => !v)
    .map(([k]) => k);
  const anySet =
    missing.length < 3 || str('ADYEN_ENVIRONMENT') !== null || liveUrlPrefix !== null || str('ADYEN_API_BASE') !== null;
  if (!anySet) return null;
  if (missing.length > 0)
    problems.push(
      `Adyen is half configured: ${missing.join(', ')} missing (ADYEN_API_KEY, ADYEN_MERCHANT_ACCOUNT and ADYEN_HMAC_KEY go together)`,
    );
  if (hmacKey && !/^([0-9a-f]{2})+$/i.test(hmacKey))
    problems.push('ADYEN_HMAC_KEY must be the hexadecimal key from the Customer Area');
  if (environment !== 'TEST' && environment !== 'LIVE')
    problems.push(`ADYEN_ENVIRONMENT must be TEST or LIVE (got "${environment}")`);
  if (environment === 'LIVE' && !liveUrlPrefix && !apiBase)
    problems.push('ADYEN_ENVIRONMENT=LIVE needs ADYEN_LIVE_URL_PREFIX (your live endpoint prefix)');
  if (!apiKey || !merchantAccount || !hmacKey) return null;
  return {
    apiKey,
    merchantAccount,
    hmacKey,
    environment: environment === 'LIVE' ? 'LIVE' : 'TEST',
    liveUrlPrefix,
    apiBase,
  };
}

/** Mollie is on with MOLLIE_API_KEY; MOLLIE_API_BASE alone is a half configuration. The library only speaks HTTPS. */
function mollieSettings(str: Reader, url: Reader, problems: string[]): Config['mollie'] {
  const apiKey = str('MOLLIE_API_KEY');
  const apiBase = url('MOLLIE_API_BASE');
  if (!apiKey) {
    if (str('MOLLIE_API_BASE') !== null)
      problems.push('Mollie is half configured: MOLLIE_API_BASE is set but MOLLIE_API_KEY is missing');
    return null;
  }
  if (!/^(test|live)_\w{20,}$/.test(apiKey))
    problems.push('MOLLIE_API_KEY must be a Mollie API key (test_… or live_…)');
  if (apiBase && !apiBase.startsWith('https://'))
    problems.push(`MOLLIE_API_BASE must be an https:// URL: Mollie's library speaks nothing else (got "${apiBase}")`);
  return { apiKey, apiBase };
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
