import { Ajv, type ErrorObject } from 'ajv';
import { Type, type Static, type TSchema } from 'typebox';
import { CAPTURE_MODES } from './domain/payment.js';

/**
 * Every variable the service reads, as one TypeBox schema: its type, default, bounds and the
 * message an operator reads when its value is wrong. `readEnvironment` checks them all at once;
 * what spans several variables (a provider's keys go together, production needs a database) is
 * config.ts's.
 *
 * Values are text: a blank one counts as unset; integers are decimal digits, booleans
 * 1/true/yes/on or 0/false/no/off, URLs what `new URL` accepts. `problem` is the message for a value
 * the schema refuses, `{raw}` the value as given.
 */
const Int = (fallback: number, minimum: number, maximum: number, description?: string) =>
  Type.Integer({
    default: fallback,
    minimum,
    maximum,
    description,
    problem: `must be an integer from ${minimum} to ${maximum} (got "{raw}")`,
  });
const Bool = (fallback: boolean) => Type.Boolean({ default: fallback, problem: 'must be true or false (got "{raw}")' });
const Text = (fallback: string) => Type.String({ default: fallback });
const Url = () => Type.Optional(Type.String({ format: 'url', problem: 'is not a URL (got "{raw}")' }));
const Opt = (options: Record<string, unknown> = {}) => Type.Optional(Type.String(options));

const ENVIRONMENT = Type.Object({
  NODE_ENV: Opt(),
  DATA_DIR: Text('./data'),
  PORT: Int(8000, 0, 65535),
  HOST: Text('0.0.0.0'),
  PUBLIC_BASE_URL: Url(),

  DATABASE_URL: Opt({
    pattern: '^(postgres(ql)?://|memory://$)',
    problem: 'must be postgres://…, postgresql://… or memory://',
  }),
  DATABASE_POOL_SIZE: Int(10, 1, 1000),
  DATABASE_STATEMENT_TIMEOUT_MS: Int(10_000, 100, 600_000),
  DATABASE_PREPARED_STATEMENTS: Bool(true),

  JWT_SECRET: Opt({ minLength: 32, problem: 'must be at least 32 characters (256 bits for HS256)' }),
  JWT_JWKS_URL: Url(),
  JWT_ISSUER: Opt(),
  JWT_AUDIENCE: Opt(),
  JWT_JWKS_CACHE_SECONDS: Int(600, 1, 86_400),
  JWT_REQUIRE_EXP: Bool(true),
  JWT_ROLES_CLAIM: Text('roles'),
  DEV_IDP: Type.Optional(Type.Boolean({ problem: 'must be true or false (got "{raw}")' })),
  DEV_IDP_ACCESS_TOKEN_TTL_SECONDS: Int(300, 2, 86_400),
  CONSOLE_OIDC_ISSUER: Url(),
  CONSOLE_OIDC_CLIENT_ID: Opt(),
  CONSOLE_OIDC_SCOPES: Opt(),
  CONSOLE_OIDC_AUDIENCE: Opt(),

  STRIPE_SECRET_KEY: Opt(),
  STRIPE_API_BASE: Url(),
  STRIPE_WEBHOOK_SECRET: Opt(),
  PAYPAL_CLIENT_ID: Opt(),
  PAYPAL_CLIENT_SECRET: Opt(),
  PAYPAL_API_BASE: Url(),
  PAYPAL_WEBHOOK_ID: Opt(),
  SQUARE_ACCESS_TOKEN: Opt(),
  SQUARE_LOCATION_ID: Opt(),
  SQUARE_API_BASE: Url(),
  SQUARE_WEBHOOK_SIGNATURE_KEY: Opt(),
  SQUARE_WEBHOOK_URL: Url(),
  ADYEN_API_KEY: Opt(),
  ADYEN_MERCHANT_ACCOUNT: Opt(),
  ADYEN_HMAC_KEY: Opt({
    pattern: '^([0-9a-fA-F]{2})+$',
    problem: 'must be the hexadecimal key from the Customer Area',
  }),
  ADYEN_ENVIRONMENT: Type.Optional(
    Type.Union([Type.Literal('TEST'), Type.Literal('LIVE')], { problem: 'must be TEST or LIVE (got "{raw}")' }),
  ),
  ADYEN_LIVE_URL_PREFIX: Opt(),
  ADYEN_API_BASE: Url(),
  MOLLIE_API_KEY: Opt({ pattern: '^(test|live)_\\w{20,}$', problem: 'must be a Mollie API key (test_… or live_…)' }),
  MOLLIE_API_BASE: Url(),
  PAYMENT_CAPTURE: Type.Union(
    CAPTURE_MODES.map((m) => Type.Literal(m)),
    { default: 'immediate', problem: `must be one of ${CAPTURE_MODES.join(', ')}` },
  ),
  AUTHORIZATION_WARN_HOURS: Int(24, 1, 24 * 365),
  PAYMENT_ACTION_TIMEOUT_SECONDS: Int(1800, 1, 30 * 86_400),

  EMAIL_URL: Url(),
  SMTP_URL: Url(),
  EMAIL_FROM: Text('Orders <orders@example.com>'),
  AMQP_URL: Url(),
  REDIS_URL: Url(),
  REDIS_KEY_PREFIX: Text('order-api:'),
  RATE_LIMIT_PER_MINUTE: Int(120, 1, 1_000_000),
  RATE_LIMIT_CREATE_PER_MINUTE: Int(30, 1, 1_000_000),

  TLS_CERT_FILE: Opt(),
  TLS_KEY_FILE: Opt(),
  HTTP2: Bool(false),
  /** true/1, false/0, or what Fastify's trustProxy takes besides (addresses, CIDRs, a hop count). */
  TRUST_PROXY: Opt(),
  CORS_ORIGINS: Text(''),
  BODY_LIMIT_BYTES: Int(1024 * 1024, 1024, 100 * 1024 * 1024),
  // Idle socket, whole-request and keep-alive limits; keep-alive outlives nginx's 60 s upstream one.
  HTTP_CONNECTION_TIMEOUT_MS: Int(60_000, 0, 3_600_000),
  HTTP_REQUEST_TIMEOUT_MS: Int(30_000, 0, 3_600_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: Int(72_000, 1, 3_600_000),
  HTTP_MAX_HEADER_SIZE: Int(16_384, 1024, 1024 * 1024),
  HTTP_MAX_PARAM_LENGTH: Int(100, 64, 10_000),
  SHUTDOWN_DRAIN_DELAY_MS: Int(1000, 0, 20_000),
  LOG_LEVEL: Opt(),
  RETURN_WINDOW_DAYS: Int(30, 0, 3650),

  WORKERS_ENABLED: Bool(true),
  OUTBOX_POLL_MS: Int(1000, 10, 600_000),
  RECONCILE_INTERVAL_MS: Int(30_000, 10, 3_600_000),
  // Longer than the slowest charge (PayPal: two calls, each 10 s × 3 attempts).
  RECONCILE_AFTER_MS: Int(120_000, 0, 3_600_000),
  // How long a reconciler pass holds what it claimed (a killed pass's work waits this long).
  RECONCILE_LEASE_MS: Int(300_000, 1000, 3_600_000),
  // Stripe's search is eventually consistent: a charge it has never heard of is failed only after this.
  RECONCILE_NOT_FOUND_GRACE_MS: Int(600_000, 0, 86_400_000),
  // Adyen notifies within seconds and redelivers: a charge it never told about is cancelled there after this.
  RECONCILE_UNANSWERED_CHARGE_MS: Int(3_600_000, 0, 86_400_000),
  // The reconciler's backoff between looks at one charge or movement: 5 s doubling, capped at this.
  RECONCILE_RETRY_MAX_MS: Int(600_000, 5000, 86_400_000),
  // 20 attempts, 1 s doubling capped at 1 h: a message rides out 4-8 h of outage before it is dead.
  OUTBOX_MAX_ATTEMPTS: Int(20, 1, 1000),
  OUTBOX_BATCH_SIZE: Int(20, 1, 1000),
  OUTBOX_BACKOFF_BASE_MS: Int(1000, 1, 3_600_000),
  OUTBOX_BACKOFF_MAX_MS: Int(3_600_000, 1, 86_400_000),
  OUTBOX_DELIVERY_TIMEOUT_MS: Int(10_000, 100, 600_000),
  // 7 days by default; at least 1 h (0 would delete a message as it is marked), at most a year.
  OUTBOX_RETENTION_HOURS: Int(168, 1, 8760),
});

export type Environment = Static<typeof ENVIRONMENT>;

const validate = new Ajv({ allErrors: true, useDefaults: true, strict: false })
  .addFormat('url', (raw: string) => URL.canParse(raw))
  .compile<Environment>(ENVIRONMENT);

const FIELDS = ENVIRONMENT.properties as Record<
  string,
  TSchema & { type?: string; format?: string; default?: unknown; problem?: string }
>;

/**
 * The environment as the schema reads it: every variable of its own with its default, the names
 * that were set (not blank), and a problem for each value the schema refuses. A refused value reads
 * as its default, or as unset for a URL, or stays as given for other text, as loadConfig always had
 * it — so the checks across variables still run and every problem is reported at once, in the
 * schema's order.
 */
export function readEnvironment(env: Record<string, string | undefined>): {
  values: Environment;
  given: ReadonlySet<string>;
  problems: string[];
} {
  const raw: Record<string, string> = {};
  const input: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(FIELDS)) {
    const v = env[name]?.trim();
    if (!v) continue;
    raw[name] = v;
    input[name] = fromText(field, v);
  }
  const given = new Set(Object.keys(raw));
  if (validate(input)) return { values: input as Environment, given, problems: [] };
  const refused = new Set((validate.errors ?? []).map(variableOf));
  const problems: string[] = [];
  for (const [name, field] of Object.entries(FIELDS)) {
    if (!refused.has(name)) continue;
    problems.push(`${name} ${(field.problem ?? 'is not valid (got "{raw}")').replace('{raw}', () => raw[name] ?? '')}`);
    if (field.default !== undefined) input[name] = field.default;
    else if (field.type !== 'string' || field.format === 'url') delete input[name];
  }
  return { values: input as Environment, given, problems };
}

const variableOf = (e: ErrorObject) => e.instancePath.slice(1).split('/')[0] ?? '';

/** Text to the field's type; a value that does not read as one stays text, for the schema to refuse. */
function fromText(field: { type?: string }, v: string): unknown {
  const type = field.type;
  if (type === 'integer') return /^\d+$/.test(v) ? Number(v) : v;
  if (type === 'boolean') {
    if (/^(1|true|yes|on)$/i.test(v)) return true;
    if (/^(0|false|no|off)$/i.test(v)) return false;
  }
  return v;
}
