import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';

/**
 * The resource-server side of token refresh: the identity provider rotates its signing keys behind
 * JWT_JWKS_URL. A token signed with a new `kid` is accepted (the unknown kid makes the service refetch
 * the key set); a key the provider removed stops verifying once the cached set is older than
 * JWT_JWKS_CACHE_SECONDS (3 s here, 10 min by default).
 */
const CACHE_SECONDS = 3;
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}
async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

describe('JWKS key rotation', () => {
  let published: SigningKey[] = [];
  let fetches = 0;
  let jwks: Server;
  let t: TestApp;

  beforeAll(async () => {
    jwks = createServer((_req, res) => {
      fetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: published.map((k) => k.jwk) }));
    });
    jwks.listen(0, '127.0.0.1');
    await once(jwks, 'listening');
    const { port } = jwks.address() as { port: number };
    t = await buildTestApp('postgres', {
      env: {
        JWT_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
        JWT_JWKS_CACHE_SECONDS: String(CACHE_SECONDS),
      },
      rateLimits: 'configured',
    });
  });
  afterAll(async () => {
    await t?.close();
    jwks?.close();
  });

  const tokenFrom = (key: SigningKey, sub: string) =>
    new SignJWT({ email: `${sub}@example.com` })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid })
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key.privateKey);
  const call = async (token: string) => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/orders',
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: res.statusCode, wwwAuthenticate: res.headers['www-authenticate'], body: res.json() };
  };

  it('accepts a new kid (one refetch of the key set), and stops accepting a removed key after the cache period', async () => {
    const [k1, k2] = [await signingKey('key-2026-01'), await signingKey('key-2026-02')];
    const [old, fresh] = [await tokenFrom(k1, 'alice'), await tokenFrom(k2, 'alice')];

    published = [k1];
    expect((await call(old)).status).toBe(200);
    const afterFirst = fetches;
    expect(afterFirst).toBeGreaterThanOrEqual(1);

    // The provider publishes k2 and starts signing with it. Past the refetch cooldown (which is the
    // cache period when that is shorter than 30 s), the unknown kid triggers one refetch.
    published = [k1, k2];
    await wait(CACHE_SECONDS * 1000 + 200);
    expect((await call(fresh)).status).toBe(200);
    expect(fetches).toBe(afterFirst + 1);

    // k1 is withdrawn: the cached set still has it, so tokens already out keep working for a while...
    published = [k2];
    expect((await call(old)).status).toBe(200);

    // ...until the cache is older than JWT_JWKS_CACHE_SECONDS, when the set is fetched again.
    await wait(CACHE_SECONDS * 1000 + 200);
    const rejected = await call(old);
    expect(rejected.status).toBe(401);
    expect(rejected.body).toMatchObject({ code: 'invalid_token' });
    expect(rejected.wwwAuthenticate).toMatch(/^Bearer realm="orders", error="invalid_token"/);
    expect((await call(fresh)).status).toBe(200);
  });

  it('a token whose kid the provider never published is 401 (and does not crash the key cache)', async () => {
    const rogue = await signingKey('not-published');
    const res = await call(await tokenFrom(rogue, 'mallory'));
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'invalid_token' });
  });
});
