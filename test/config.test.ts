import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

const dataDir = mkdtempSync(join(tmpdir(), 'order-api-config-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const SECRET = 'a-production-secret-of-at-least-32-chars!';
const PG = 'postgres://orders@db.internal:5432/orders';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ DATA_DIR: dataDir, ...env });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected loadConfig to refuse');
}

describe('production guard rails', () => {
  it('refuses with neither DATABASE_URL nor JWT configuration, listing both problems at once', () => {
    let err: unknown;
    try {
      loadConfig({ NODE_ENV: 'production', DATA_DIR: dataDir });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const { problems, message } = err as ConfigError;
    expect(problems).toHaveLength(2);
    expect(problems.some((p) => p.includes('DATABASE_URL'))).toBe(true);
    expect(problems.some((p) => p.includes('JWT_SECRET') && p.includes('JWT_JWKS_URL'))).toBe(true);
    // the message an operator reads names every problem
    for (const p of problems) expect(message).toContain(p);
    expect(message).toMatch(/NODE_ENV=production/);
  });

  it('refuses without DATABASE_URL even with a JWT secret', () => {
    const problems = problemsOf({ NODE_ENV: 'production', JWT_SECRET: SECRET });
    expect(problems).toEqual([expect.stringContaining('DATABASE_URL')]);
  });

  it('refuses without JWT configuration even with a database', () => {
    const problems = problemsOf({ NODE_ENV: 'production', DATABASE_URL: PG });
    expect(problems).toEqual([expect.stringMatching(/JWT_SECRET or JWT_JWKS_URL/)]);
  });

  it('does not fall back to a generated dev secret in production', () => {
    problemsOf({ NODE_ENV: 'production', DATABASE_URL: PG });
    expect(existsSync(join(dataDir, 'dev-jwt-secret'))).toBe(false);
  });

  it('collects unrelated problems together with the production ones', () => {
    const problems = problemsOf({
      NODE_ENV: 'production',
      JWT_SECRET: 'short',
      PORT: 'eighty',
      PAYPAL_CLIENT_ID: 'id-only',
    });
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/DATABASE_URL/);
    expect(problems.join('\n')).toMatch(/JWT_SECRET must be at least 32/);
    expect(problems.join('\n')).toMatch(/PORT/);
    expect(problems.join('\n')).toMatch(/PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET/);
  });

  it('starts with explicit configuration, and sandbox payments are off', () => {
    const c = loadConfig({ NODE_ENV: 'production', DATABASE_URL: PG, JWT_SECRET: SECRET, DATA_DIR: dataDir });
    expect(c.env).toBe('production');
    expect(c.sandboxEnabled).toBe(false);
    expect(c.jwt).toMatchObject({ secret: SECRET, devSecret: false });
    expect(c.database.url).toBe(PG);
  });

  it('accepts a JWKS URL instead of a secret', () => {
    const c = loadConfig({
      NODE_ENV: 'production',
      DATABASE_URL: PG,
      JWT_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
      DATA_DIR: dataDir,
    });
    expect(c.jwt).toMatchObject({ secret: null, jwksUrl: 'https://idp.example.com/.well-known/jwks.json' });
    expect(c.sandboxEnabled).toBe(false);
  });

  it('a blank value counts as unset', () => {
    const problems = problemsOf({ NODE_ENV: 'production', DATABASE_URL: '   ', JWT_SECRET: '' });
    expect(problems).toHaveLength(2);
  });
});

describe('outside production', () => {
  it('sandbox is on, and a dev secret is generated once and kept in DATA_DIR', () => {
    const a = loadConfig({ NODE_ENV: 'development', DATA_DIR: dataDir });
    expect(a.sandboxEnabled).toBe(true);
    expect(a.jwt.devSecret).toBe(true);
    expect(a.jwt.secret!.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(join(dataDir, 'dev-jwt-secret'), 'utf8').trim()).toBe(a.jwt.secret);
    const b = loadConfig({ DATA_DIR: dataDir });
    expect(b.jwt.secret).toBe(a.jwt.secret);
    expect(b.env).toBe('development');
  });

  it('defaults: port 8000 on 0.0.0.0, embedded database in DATA_DIR, 1 MiB bodies, rate limits 120/30', () => {
    const c = loadConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET, DATA_DIR: dataDir });
    expect(c.port).toBe(8000);
    expect(c.host).toBe('0.0.0.0');
    expect(c.database.url).toBe(join(dataDir, 'pgdata'));
    expect(c.bodyLimit).toBe(1024 * 1024);
    expect(c.rateLimit).toEqual({ perMinute: 120, createPerMinute: 30 });
    expect(c.stripe).toBeNull();
    expect(c.paypal).toBeNull();
    expect(c.square).toBeNull();
  });

  it('the config is frozen', () => {
    const c = loadConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET, DATA_DIR: dataDir });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it.each([
    ['DATABASE_URL', 'mysql://x', /DATABASE_URL/],
    ['JWT_JWKS_URL', 'not a url', /JWT_JWKS_URL/],
    ['JWT_SECRET', 'too-short', /JWT_SECRET/],
    ['PORT', '70000', /PORT/],
    ['SQUARE_ACCESS_TOKEN', 'token-without-location', /SQUARE_ACCESS_TOKEN and SQUARE_LOCATION_ID/],
    ['TLS_CERT_FILE', '/nonexistent/cert.pem', /TLS_CERT_FILE/],
    ['OUTBOX_RETENTION_HOURS', '0', /OUTBOX_RETENTION_HOURS must be an integer from 1 to 8760/],
    ['OUTBOX_RETENTION_HOURS', '-5', /OUTBOX_RETENTION_HOURS/],
    ['OUTBOX_RETENTION_HOURS', '7d', /OUTBOX_RETENTION_HOURS/],
    ['OUTBOX_RETENTION_HOURS', '8761', /OUTBOX_RETENTION_HOURS/],
    // Refused even while nothing reads it (Stripe off, the development provider's default): a typo shows at once.
    ['STRIPE_API_BASE', 'emulator', /^STRIPE_API_BASE is not a URL \(got "emulator"\)$/],
    ['DEV_IDP_ACCESS_TOKEN_TTL_SECONDS', '1', /^DEV_IDP_ACCESS_TOKEN_TTL_SECONDS must be an integer from 2 to 86400/],
    ['HTTP2', 'maybe', /^HTTP2 must be true or false \(got "maybe"\)$/],
  ])('%s=%s is refused with a message naming it', (name, value, pattern) => {
    const problems = problemsOf({ NODE_ENV: 'test', JWT_SECRET: SECRET, [name]: value });
    expect(problems.join('\n')).toMatch(pattern);
  });
});

describe('OUTBOX_RETENTION_HOURS', () => {
  it('defaults to 168 hours (7 days)', () => {
    const c = loadConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET, DATA_DIR: dataDir });
    expect(c.workers.outbox.retentionHours).toBe(168);
  });

  it('takes a value within 1 to 8760 hours', () => {
    expect(
      loadConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET, DATA_DIR: dataDir, OUTBOX_RETENTION_HOURS: '24' }).workers
        .outbox.retentionHours,
    ).toBe(24);
    expect(
      loadConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET, DATA_DIR: dataDir, OUTBOX_RETENTION_HOURS: '1' }).workers
        .outbox.retentionHours,
    ).toBe(1);
    expect(
      loadConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET, DATA_DIR: dataDir, OUTBOX_RETENTION_HOURS: '8760' }).workers
        .outbox.retentionHours,
    ).toBe(8760);
  });

  it('0 is refused (it would delete a message as soon as it is delivered), reported with the other problems', () => {
    const problems = problemsOf({ NODE_ENV: 'test', JWT_SECRET: SECRET, OUTBOX_RETENTION_HOURS: '0', PORT: 'eighty' });
    expect(problems).toEqual([
      expect.stringMatching(/^PORT/),
      'OUTBOX_RETENTION_HOURS must be an integer from 1 to 8760 (got "0")',
    ]);
  });
});

describe('the reconciler deadlines (RECONCILE_*)', () => {
  it('default to a 5-minute lease, a 10-minute not-found grace, an hour for an unanswered charge, a 10-minute backoff cap', () => {
    const c = loadConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET, DATA_DIR: dataDir });
    expect(c.workers.reconciler).toEqual({
      leaseMs: 300_000,
      notFoundGraceMs: 600_000,
      unansweredChargeMs: 3_600_000,
      retryMaxMs: 600_000,
    });
  });

  it('take what the environment says (the soak shortens them), and refuse a lease under a second', () => {
    const c = loadConfig({
      NODE_ENV: 'test',
      JWT_SECRET: SECRET,
      DATA_DIR: dataDir,
      RECONCILE_LEASE_MS: '90000',
      RECONCILE_NOT_FOUND_GRACE_MS: '60000',
      RECONCILE_UNANSWERED_CHARGE_MS: '60000',
      RECONCILE_RETRY_MAX_MS: '20000',
    });
    expect(c.workers.reconciler).toEqual({
      leaseMs: 90_000,
      notFoundGraceMs: 60_000,
      unansweredChargeMs: 60_000,
      retryMaxMs: 20_000,
    });
    expect(problemsOf({ NODE_ENV: 'test', JWT_SECRET: SECRET, RECONCILE_LEASE_MS: '10' }).join('\n')).toMatch(
      /^RECONCILE_LEASE_MS must be an integer from 1000/,
    );
  });
});

describe('the development OpenID provider and the console’s sign-in (docs/adr/0019)', () => {
  const PROD = { NODE_ENV: 'production', DATABASE_URL: PG };

  it('is on outside production when no issuer is configured, at PUBLIC_BASE_URL/dev-idp, and the console uses it', () => {
    const config = loadConfig({ DATA_DIR: dataDir, PUBLIC_BASE_URL: 'http://localhost:8000/' });
    expect(config.devIdp).toEqual({
      issuer: 'http://localhost:8000/dev-idp',
      accessTokenTtlSeconds: 300,
      keysFile: join(dataDir, 'dev-idp-keys.json'),
    });
    expect(config.consoleOidc).toEqual({
      issuer: 'http://localhost:8000/dev-idp',
      clientId: 'order-console',
      scopes: 'openid profile offline_access',
      redirectUri: 'http://localhost:8000/admin',
      audience: null,
    });
    expect(loadConfig({ DATA_DIR: dataDir, DATABASE_URL: 'memory://' }).devIdp?.keysFile).toBeNull();
  });

  it('is refused at boot in production even when asked for, and off there by default', () => {
    expect(problemsOf({ ...PROD, JWT_SECRET: SECRET, DEV_IDP: 'true' })).toEqual([
      expect.stringMatching(/DEV_IDP cannot be enabled when NODE_ENV=production/),
    ]);
    const config = loadConfig({ ...PROD, JWT_SECRET: SECRET, DATA_DIR: dataDir });
    expect(config.devIdp).toBeNull();
    expect(config.consoleOidc).toBeNull(); // token pasting
  });

  it('is off beside a configured issuer, and refused if asked for there', () => {
    const issuers: Record<string, string>[] = [
      { JWT_ISSUER: 'https://idp.example.com' },
      { JWT_JWKS_URL: 'https://idp.example.com/jwks' },
      { CONSOLE_OIDC_ISSUER: 'https://idp.example.com', CONSOLE_OIDC_CLIENT_ID: 'c' },
    ];
    for (const env of issuers) {
      expect(loadConfig({ DATA_DIR: dataDir, ...env }).devIdp).toBeNull();
      expect(problemsOf({ ...env, DEV_IDP: 'true' })).toEqual([
        expect.stringMatching(/DEV_IDP cannot be enabled with/),
      ]);
    }
  });

  it('JWT_ISSUER alone is a JWT configuration in production (keys from its discovery document), with no dev secret', () => {
    const config = loadConfig({ ...PROD, DATA_DIR: dataDir, JWT_ISSUER: 'https://idp.example.com/realms/staff' });
    expect(config.jwt).toMatchObject({
      issuer: 'https://idp.example.com/realms/staff',
      secret: null,
      jwksUrl: null,
      devSecret: false,
      rolesClaim: 'roles',
    });
    expect(problemsOf({ ...PROD, JWT_ISSUER: 'not a url' })).toEqual([
      expect.stringMatching(/JWT_ISSUER must be the issuer's URL/),
    ]);
    expect(
      loadConfig({
        ...PROD,
        DATA_DIR: dataDir,
        JWT_ISSUER: 'https://idp.example.com',
        JWT_ROLES_CLAIM: 'realm_access.roles',
      }).jwt.rolesClaim,
    ).toBe('realm_access.roles');
  });

  it('CONSOLE_OIDC_ISSUER and CONSOLE_OIDC_CLIENT_ID go together; CONSOLE_OIDC_SCOPES has a default', () => {
    expect(problemsOf({ CONSOLE_OIDC_ISSUER: 'https://idp.example.com' })).toEqual([
      expect.stringMatching(/go together/),
    ]);
    const config = loadConfig({
      ...PROD,
      DATA_DIR: dataDir,
      JWT_ISSUER: 'https://idp.example.com',
      CONSOLE_OIDC_ISSUER: 'https://idp.example.com',
      CONSOLE_OIDC_CLIENT_ID: 'console',
      PUBLIC_BASE_URL: 'https://orders.example.com',
    });
    expect(config.consoleOidc).toEqual({
      issuer: 'https://idp.example.com',
      clientId: 'console',
      scopes: 'openid profile email offline_access',
      redirectUri: 'https://orders.example.com/admin',
      audience: null,
    });
    const auth0 = {
      ...PROD,
      DATA_DIR: dataDir,
      JWT_ISSUER: 'https://t.auth0.com/',
      CONSOLE_OIDC_ISSUER: 'https://t.auth0.com/',
      CONSOLE_OIDC_CLIENT_ID: 'c',
      CONSOLE_OIDC_AUDIENCE: 'https://orders.example.com/api',
    };
    expect(loadConfig(auth0).consoleOidc?.audience).toBe('https://orders.example.com/api');
  });
});
