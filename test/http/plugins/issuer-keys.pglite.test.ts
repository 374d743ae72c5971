import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../helpers/app.js';
import { COMPANY_AUDIENCE, startCompanyIdp, type CompanyIdp } from '../../helpers/company-idp.js';
import { signInAtDevIdp, type AppUnderTest } from '../../helpers/dev-idp-flow.js';
import { expectProblem } from '../../helpers/http.js';

/**
 * The API as the resource server of "the company's" identity provider, configured with JWT_ISSUER
 * alone: the keys come from the issuer's discovery document (jwks_uri). Another oidc-provider on
 * its own port stands for that provider, a third one for a stranger.
 */
describe('JWT_ISSUER with no JWT_JWKS_URL: keys from the discovery document', () => {
  let company: CompanyIdp;
  let stranger: CompanyIdp;
  let t: TestApp;
  let keycloakLike: TestApp;
  let devApp: TestApp;

  beforeAll(async () => {
    [company, stranger] = await Promise.all([startCompanyIdp(), startCompanyIdp()]);
    // A 2 s key cache: jose's cooldown between two fetches of the key set is as long (5 s at most).
    const production = {
      NODE_ENV: 'production',
      JWT_SECRET: '',
      JWT_ISSUER: company.issuer,
      JWT_AUDIENCE: COMPANY_AUDIENCE,
      JWT_JWKS_CACHE_SECONDS: '2',
    };
    t = await buildTestApp('pglite', { env: production });
    // Other apps on the same database: with Keycloak's roles claim, and outside production with the
    // development provider (to get a development token).
    const variant = (env: Record<string, string>) => buildTestApp(t, { env });
    keycloakLike = await variant({ ...production, JWT_ROLES_CLAIM: 'realm_access.roles' });
    devApp = await variant({ JWT_SECRET: '', NODE_ENV: 'development', PUBLIC_BASE_URL: 'http://127.0.0.1:1' });
  }, 120_000);
  afterAll(async () => {
    await Promise.all([keycloakLike?.close(), devApp?.close()]);
    await t?.close();
    await Promise.all([company?.close(), stranger?.close()]);
  });

  it('accepts the issuer’s access tokens, with `roles` granting admin', async () => {
    expect(t.config.env).toBe('production');
    expect(t.config.devIdp).toBeNull();
    expect((await call(t, await company.token({ roles: ['admin'] }))).statusCode).toBe(200);
    expectProblem(await call(t, await company.token({ roles: ['viewer'] })), 403, 'forbidden');
    expect((await call(t, await company.token(), '/api/orders')).statusCode).toBe(200);
  });

  it('refuses another issuer’s tokens, and a development provider’s token, with 401 (never 5xx)', async () => {
    const res = await call(t, await stranger.token({ roles: ['admin'] }));
    expectProblem(res, 401, 'invalid_token');
    expect(String(res.headers['www-authenticate'])).toMatch(/error="invalid_token"/);
    expectProblem(await call(t, await devToken(devApp)), 401, 'invalid_token');
  });

  it('follows a key rotation at the provider: a token under the new key is accepted at once', async () => {
    const before = await company.token({ roles: ['admin'] });
    expect((await call(t, before)).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 2_100)); // past the cooldown
    const fetched = company.jwksFetches();
    company.rotate();
    const after = await company.token({ roles: ['admin'] });
    expect(header(after).kid).not.toBe(header(before).kid);
    expect((await call(t, after)).statusCode).toBe(200);
    expect(company.jwksFetches()).toBe(fetched + 1); // the unknown kid made it fetch the key set again
    expect((await call(t, before)).statusCode).toBe(200); // the old key is still published
  });

  it('JWT_ROLES_CLAIM names the roles claim, a dotted path for a nested one (Keycloak: realm_access.roles)', async () => {
    expect((await call(keycloakLike, await company.token({ realm_access: { roles: ['admin'] } }))).statusCode).toBe(
      200,
    );
    expectProblem(
      await call(keycloakLike, await company.token({ realm_access: { roles: ['viewer'] } })),
      403,
      'forbidden',
    );
    const nested = await company.token({ roles: ['admin'] });
    expectProblem(await call(keycloakLike, nested), 403, 'forbidden'); // `roles` at the top level does not count there
  });
});

const call = (app: AppUnderTest, token: string, url = '/api/admin/orders?limit=1') =>
  app.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });

function header(token: string): { kid?: string } {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid?: string };
}

/** An access token of a development provider, got through its sign-in. */
async function devToken(devApp: AppUnderTest): Promise<string> {
  const tokens = await signInAtDevIdp(devApp, { username: 'mallory', admin: true });
  expect((await call(devApp, tokens.access_token)).statusCode).toBe(200); // good where it was issued
  return tokens.access_token;
}
