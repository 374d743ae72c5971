import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTestApp, TEST_SECRET, type TestApp } from '../../helpers/app.js';
import { DATABASES } from '../../helpers/db.js';
import { expectProblem, uid, type InjectResponse } from '../../helpers/http.js';

const now = () => Math.floor(Date.now() / 1000);
const secret = new TextEncoder().encode(TEST_SECRET);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** An HS256 token with full control over every claim (times in seconds from now). */
function hs256(claims: Record<string, unknown>, key: Uint8Array = secret) {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(key);
}

function expectRejected(res: InjectResponse) {
  const body = expectProblem(res, 401, 'invalid_token');
  const challenge = String(res.headers['www-authenticate']);
  expect(challenge.startsWith('Bearer realm="orders", error="invalid_token"')).toBe(true);
  // RFC 6750: the error_description is a quoted-string without a bare quote inside
  expect(challenge).toMatch(/^Bearer realm="orders", error="invalid_token"(, error_description="[^"]*")?$/);
  return body;
}

describe.each(DATABASES)('authentication on %s', (kind) => {
  // One database per kind; the variants below are other apps (other JWT configuration) on it.
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(kind);
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('HS256 (JWT_SECRET)', () => {
    const call = (authorization?: string) =>
      t.app.inject({
        method: 'GET',
        url: '/api/orders',
        headers: authorization === undefined ? {} : { authorization },
      });

    it('a valid token → 200', async () => {
      const res = await call(`Bearer ${await t.token(uid('u'))}`);
      expect(res.statusCode).toBe(200);
      expect((await call(`bearer ${await t.token(uid('u'))}`)).statusCode).toBe(200); // the scheme is case-insensitive
    });

    it('no Authorization header → 401 with exactly `Bearer realm="orders"`', async () => {
      const res = await call();
      expectProblem(res, 401, 'invalid_token');
      expect(res.headers['www-authenticate']).toBe('Bearer realm="orders"');
    });

    it('20 s past exp is inside the 30 s tolerance → 200; so is nbf 20 s ahead', async () => {
      expect((await call(`Bearer ${await hs256({ sub: uid('u'), exp: now() - 20 })}`)).statusCode).toBe(200);
      expect(
        (await call(`Bearer ${await hs256({ sub: uid('u'), nbf: now() + 20, exp: now() + 600 })}`)).statusCode,
      ).toBe(200);
    });

    const rejected: [string, () => Promise<string>][] = [
      [
        'a bad signature',
        async () =>
          `Bearer ${await hs256({ sub: 'alice', exp: now() + 600 }, new TextEncoder().encode('another-secret-another-secret-0123456789'))}`,
      ],
      ['expired beyond the tolerance (60 s)', async () => `Bearer ${await hs256({ sub: 'alice', exp: now() - 60 })}`],
      [
        'nbf beyond the tolerance (60 s ahead)',
        async () => `Bearer ${await hs256({ sub: 'alice', nbf: now() + 60, exp: now() + 600 })}`,
      ],
      ['no sub', async () => `Bearer ${await hs256({ email: 'a@example.com', exp: now() + 600 })}`],
      ['an empty sub', async () => `Bearer ${await hs256({ sub: '', exp: now() + 600 })}`],
      ['a numeric sub', async () => `Bearer ${await hs256({ sub: 42, exp: now() + 600 })}`],
      [
        'alg none',
        async () =>
          `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'admin', roles: ['admin'], exp: now() + 600 })}.`,
      ],
      [
        'alg none without the trailing dot',
        async () => `Bearer ${b64({ alg: 'none' })}.${b64({ sub: 'admin', exp: now() + 600 })}`,
      ],
      [
        'RS256 while HS256 is configured',
        async () => {
          const { privateKey } = await generateKeyPair('RS256');
          return `Bearer ${await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'RS256' }).setExpirationTime('5m').sign(privateKey)}`;
        },
      ],
      [
        'HS512 with the right secret',
        async () =>
          `Bearer ${await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS512' }).setExpirationTime('5m').sign(secret)}`,
      ],
      [
        'a tampered payload',
        async () => {
          const [h, , s] = (await t.token('alice')).split('.');
          return `Bearer ${h}.${b64({ sub: 'admin', roles: ['admin'], exp: now() + 600 })}.${s}`;
        },
      ],
      ['garbage', async () => 'Bearer not.a.jwt'],
      ['random characters', async () => 'Bearer %%%%'],
      ['Basic credentials', async () => `Basic ${Buffer.from('alice:password').toString('base64')}`],
      ['the bare scheme', async () => 'Bearer'],
      ['two tokens', async () => `Bearer ${await t.token('alice')} ${await t.token('bob')}`],
      ['a token over 8 KiB', async () => `Bearer ${'a'.repeat(9000)}`],
    ];
    it.each(rejected)('%s → 401 invalid_token with error="invalid_token"', async (_what, header) => {
      expectRejected(await call(await header()));
    });

    it('rejections apply on every /api route, including admin ones', async () => {
      const bad = `Bearer ${await hs256({ sub: 'admin', roles: ['admin'], exp: now() - 3600 })}`;
      for (const [method, url] of [
        ['GET', '/api/products'],
        ['PUT', '/api/products/x'],
        ['POST', '/api/orders'],
        ['POST', `/api/orders/${crypto.randomUUID()}/status`],
      ] as const) {
        expectRejected(
          await t.app.inject({
            method,
            url,
            headers: { authorization: bad },
            payload: method === 'GET' ? undefined : {},
          }),
        );
      }
    });
  });

  describe('JWT_ISSUER and JWT_AUDIENCE', () => {
    let other: TestApp;
    beforeAll(async () => {
      other = await buildTestApp(t, { env: { JWT_ISSUER: 'https://idp.example.com/', JWT_AUDIENCE: 'orders-api' } });
    });
    afterAll(async () => {
      await other?.close();
    });
    const call = async (claims: Record<string, unknown>) =>
      other.app.inject({
        method: 'GET',
        url: '/api/orders',
        headers: { authorization: `Bearer ${await hs256({ sub: uid('u'), exp: now() + 600, ...claims })}` },
      });

    it('the right issuer and audience → 200 (audience may be an array)', async () => {
      expect((await call({ iss: 'https://idp.example.com/', aud: 'orders-api' })).statusCode).toBe(200);
      expect((await call({ iss: 'https://idp.example.com/', aud: ['billing', 'orders-api'] })).statusCode).toBe(200);
    });

    it.each([
      ['a wrong issuer', { iss: 'https://evil.example.com/', aud: 'orders-api' }],
      ['no issuer', { aud: 'orders-api' }],
      ['a wrong audience', { iss: 'https://idp.example.com/', aud: 'billing' }],
      ['no audience', { iss: 'https://idp.example.com/' }],
    ])('%s → 401', async (_what, claims) => {
      expectRejected(await call(claims));
    });
  });

  describe('JWKS (JWT_JWKS_URL)', () => {
    let server: Server;
    let keys: JWK[] = [];
    let fetches = 0;
    let other: TestApp;
    const signers = new Map<string, { alg: string; key: CryptoKey }>();

    async function addKey(kid: string, alg: 'RS256' | 'ES256' | 'EdDSA') {
      const { publicKey, privateKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519' } : {});
      signers.set(kid, { alg, key: privateKey });
      return { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    }
    const sign = (kid: string, claims: Record<string, unknown> = {}) => {
      const s = signers.get(kid)!;
      return new SignJWT({ sub: uid('u'), ...claims })
        .setProtectedHeader({ alg: s.alg, kid })
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(s.key);
    };
    const call = (token: string) =>
      other.app.inject({ method: 'GET', url: '/api/orders', headers: { authorization: `Bearer ${token}` } });

    beforeAll(async () => {
      keys = [await addKey('rsa-1', 'RS256'), await addKey('ec-1', 'ES256'), await addKey('ed-1', 'EdDSA')];
      server = createServer((req, res) => {
        fetches++;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      other = await buildTestApp(t, {
        env: { JWT_SECRET: '', JWT_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json` },
      });
    });
    afterAll(async () => {
      await other?.close();
      server?.closeAllConnections(); // jose's fetch keeps the connection alive
      await new Promise((resolve) => server?.close(resolve));
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    it.each(['rsa-1', 'ec-1', 'ed-1'])('a token signed by %s is accepted', async (kid) => {
      const res = await call(await sign(kid));
      expect(res.statusCode, res.body).toBe(200);
    });

    it('HS256 (even with the old shared secret) and a key not in the set are rejected', async () => {
      expectRejected(await call(await t.token('alice')));
      await addKey('rsa-x', 'RS256'); // a key pair whose public half is never published
      expectRejected(await call(await sign('rsa-x')));
      const impostor = signers.get('rsa-x')!;
      const sameKid = await new SignJWT({ sub: 'alice' })
        .setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' })
        .setExpirationTime('5m')
        .sign(impostor.key);
      expectRejected(await call(sameKid)); // a published kid, but not its key
    });

    it('an unknown kid makes the app refetch the key set: a rotated key works without a restart', async () => {
      // jose refetches at most once per cooldown (30 s); move the clock past it rather than sleep.
      vi.useFakeTimers({ toFake: ['Date'] });
      const before = fetches;
      const rotated = await addKey('rsa-2', 'RS256');
      keys = [rotated]; // the identity provider rotates: only the new key is published
      vi.setSystemTime(Date.now() + 31_000);
      const res = await call(await sign('rsa-2'));
      expect(res.statusCode, res.body).toBe(200);
      expect(fetches).toBeGreaterThan(before);
      // and the retired key no longer verifies once the set has been refetched
      expectRejected(await call(await sign('ec-1')));
    });
  });

  describe('JWKS endpoint down', () => {
    let other: TestApp;
    beforeAll(async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const { port } = closed.address() as AddressInfo;
      await new Promise((resolve) => closed.close(resolve));
      other = await buildTestApp(t, { env: { JWT_SECRET: '', JWT_JWKS_URL: `http://127.0.0.1:${port}/jwks` } });
    });
    afterAll(async () => {
      await other?.close();
    });

    it('is our outage (503 service_unavailable), not the caller’s bad token', async () => {
      const { privateKey } = await generateKeyPair('ES256');
      const token = await new SignJWT({ sub: 'alice' })
        .setProtectedHeader({ alg: 'ES256', kid: 'k' })
        .setExpirationTime('5m')
        .sign(privateKey);
      const res = await other.app.inject({
        method: 'GET',
        url: '/api/orders',
        headers: { authorization: `Bearer ${token}` },
      });
      expectProblem(res, 503, 'service_unavailable');
    });
  });
});
