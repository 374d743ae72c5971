import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { authorizeAtDevIdp, devIdpAgent, redeem, signInAtDevIdp } from '../helpers/dev-idp-flow.js';
import { expectProblem } from '../helpers/http.js';

/**
 * The development OpenID provider at /dev-idp, as the console uses it (oauth4webapi, code flow with
 * PKCE S256), and the API accepting what it issues. Everything refused is a 4xx, never a 5xx.
 */
describe('the development provider at /dev-idp', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Outside production with no issuer configured (JWT_SECRET stays: `npm run token` goes on working beside it).
    t = await buildTestApp('pglite', {
      env: { PUBLIC_BASE_URL: 'http://127.0.0.1:8000', DEV_IDP_ACCESS_TOKEN_TTL_SECONDS: '300' },
    });
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  const api = (token: string, url = '/api/admin/orders?limit=1') =>
    t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });

  it('GET /admin/config.json gives the console the development provider', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/admin/config.json' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      sign_in: 'oidc',
      issuer: 'http://127.0.0.1:8000/dev-idp',
      client_id: 'order-console',
      scopes: 'openid profile offline_access',
      redirect_uri: 'http://127.0.0.1:8000/admin',
    });
  });

  it('signs in with any user name: the admin box gives an admin’s access token, 5 minutes long, with a refresh token', async () => {
    const tokens = await signInAtDevIdp(t, { username: 'Ada Lovelace', admin: true });
    expect(tokens.expires_in).toBe(300);
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(oauth.getValidatedIdTokenClaims(tokens)).toMatchObject({
      sub: 'Ada Lovelace',
      name: 'Ada Lovelace',
      iss: 'http://127.0.0.1:8000/dev-idp',
      aud: 'order-console',
    });
    expect((await api(tokens.access_token)).statusCode).toBe(200);
    // The ID token is no bearer token for the API (its audience is the console, its type not at+jwt).
    expectProblem(await api(tokens.id_token!), 401, 'invalid_token');

    const clerk = await signInAtDevIdp(t, { username: 'clerk', admin: false });
    expectProblem(await api(clerk.access_token), 403, 'forbidden');
    expect((await api(clerk.access_token, '/api/orders')).statusCode).toBe(200);
  });

  it('renews with the refresh token, rotating it: the used one is refused afterwards', async () => {
    const s = await authorizeAtDevIdp(t, { username: 'grace', admin: true });
    const first = await redeem(s);
    const renew = (refreshToken: string) =>
      oauth.refreshTokenGrantRequest(s.as, s.client, oauth.None(), refreshToken, s.opts);
    const second = await oauth.processRefreshTokenResponse(s.as, s.client, await renew(first.refresh_token!));
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.access_token).not.toBe(first.access_token);
    expect((await api(second.access_token)).statusCode).toBe(200);
    const replayed = await renew(first.refresh_token!);
    expect(replayed.status).toBe(400);
    expect(await replayed.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('refuses a replayed code and a wrong PKCE verifier (invalid_grant, 400)', async () => {
    const s = await authorizeAtDevIdp(t, { username: 'eve', admin: true });
    await redeem(s);
    await expect(redeem(s)).rejects.toMatchObject({ error: 'invalid_grant', status: 400 });

    const other = await authorizeAtDevIdp(t, { username: 'eve', admin: true });
    await expect(redeem(other, oauth.generateRandomCodeVerifier())).rejects.toMatchObject({
      error: 'invalid_grant',
      status: 400,
    });
  });

  it('a response with a forged state is refused by the client before any code is redeemed', async () => {
    const s = await authorizeAtDevIdp(t, { username: 'eve', admin: true });
    expect(() => oauth.validateAuthResponse(s.as, s.client, s.callback, oauth.generateRandomState())).toThrow(/state/);
  });

  it('bad input at the provider is a 4xx page or error, never a 5xx', async () => {
    const { request } = devIdpAgent(t);
    // An interaction this browser never started (no cookie), or that does not exist.
    expect((await request('/dev-idp/interaction/not-a-uid')).statusCode).toBe(400);
    const post = (url: string, body: string) =>
      request(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    expect((await post('/dev-idp/interaction/not-a-uid/login', 'username=x')).statusCode).toBe(400);
    const token = await post(
      '/dev-idp/token',
      'grant_type=authorization_code&code=forged&client_id=order-console&redirect_uri=x&code_verifier=x',
    );
    expect(token.statusCode).toBe(400);
    expect(token.json()).toMatchObject({ error: expect.any(String) });
    expect((await post('/dev-idp/token', '%%%')).statusCode).toBeLessThan(500);
    expect((await request('/dev-idp/auth?client_id=nobody&response_type=code')).statusCode).toBe(400);
    expect((await request('/dev-idp/nowhere')).statusCode).toBe(404);
  });

  it('the sign-in form asks again for a missing user name (422), keeping the interaction', async () => {
    const settings = t.config.consoleOidc!;
    const { request } = devIdpAgent(t);
    const authorize = `/dev-idp/auth?${new URLSearchParams({ client_id: settings.clientId, redirect_uri: settings.redirectUri, response_type: 'code', scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })}`;
    const start = await request(authorize);
    const form = await request(String(start.headers.location));
    expect(form.statusCode).toBe(200);
    expect(form.body).toMatch(/<form method="post"/);
    expect(form.body).not.toMatch(/<script/);
    const action = /action="([^"]+)"/.exec(form.body)![1]!;
    const blank = await request(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=%20&admin=yes',
    });
    expect(blank.statusCode).toBe(422);
    expect(blank.body).toMatch(/role="alert"/);
    const twice = await request(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=a&username=b',
    });
    expect(twice.statusCode).toBe(422);
    const named = await request(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=ok',
    });
    expect(named.statusCode).toBe(303);
  });

  it('is not there when an issuer is configured, and config.json then names that issuer', async () => {
    const other = await buildTestApp(t, {
      env: {
        JWT_SECRET: '',
        JWT_ISSUER: 'https://login.example.com/realms/staff',
        CONSOLE_OIDC_ISSUER: 'https://login.example.com/realms/staff',
        CONSOLE_OIDC_CLIENT_ID: 'orders-console',
        CONSOLE_OIDC_AUDIENCE: 'orders-api',
        PUBLIC_BASE_URL: 'https://orders.example.com',
      },
    });
    try {
      expect(
        (await other.app.inject({ method: 'GET', url: '/dev-idp/.well-known/openid-configuration' })).statusCode,
      ).toBe(404);
      expect((await other.app.inject({ method: 'GET', url: '/admin/config.json' })).json()).toEqual({
        sign_in: 'oidc',
        issuer: 'https://login.example.com/realms/staff',
        client_id: 'orders-console',
        scopes: 'openid profile email offline_access',
        redirect_uri: 'https://orders.example.com/admin',
        audience: 'orders-api',
      });
      // The console may call that provider, and nothing else.
      const csp = String((await other.app.inject({ method: 'GET', url: '/admin' })).headers['content-security-policy']);
      expect(csp).toMatch(/connect-src 'self' https:\/\/login\.example\.com;/);
    } finally {
      await other.close();
    }
  });

  it('is not there with DEV_IDP=false: the console falls back to pasting a token', async () => {
    const other = await buildTestApp(t, { env: { DEV_IDP: 'false' } });
    try {
      expect((await other.app.inject({ method: 'GET', url: '/dev-idp/jwks' })).statusCode).toBe(404);
      expect((await other.app.inject({ method: 'GET', url: '/admin/config.json' })).json()).toEqual({
        sign_in: 'token',
      });
    } finally {
      await other.close();
    }
  });
});
