import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { JWK } from 'jose';
import Provider from 'oidc-provider';

/**
 * "The company's" identity provider for the API-side tests: another oidc-provider, on its own port
 * with its own keys, independent of the service's development provider. A confidential client gets
 * JWT access tokens for the API (client credentials, RFC 9068) carrying the roles asked for.
 * `rotate()` starts signing with a new key while still publishing the old one, as providers do.
 */
export interface CompanyIdp {
  issuer: string;
  /** An access token for the API (`sub` is the client), with these claims added (`roles`…). */
  token: (claims?: Record<string, unknown>) => Promise<string>;
  rotate: () => void;
  /** How many times its key set was fetched. */
  jwksFetches: () => number;
  close: () => Promise<void>;
}

export const COMPANY_AUDIENCE = 'https://orders.example.com/api';

function newKey(): JWK {
  // RS256, where the service's development provider uses ES256: nothing in common with it.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...(privateKey.export({ format: 'jwk' }) as JWK), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

export async function startCompanyIdp(): Promise<CompanyIdp> {
  let current: Provider | null = null;
  let fetches = 0;
  let pending: Record<string, unknown> = {};
  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith('/jwks')) fetches++;
    void current!.callback()(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  const make = (keys: JWK[]) =>
    new Provider(issuer, {
      clients: [
        {
          client_id: 'orders-tests',
          client_secret: 'a-secret-of-the-tests',
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
        },
      ],
      jwks: { keys: keys as never },
      features: {
        clientCredentials: { enabled: true },
        devInteractions: { enabled: false },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => COMPANY_AUDIENCE,
          getResourceServerInfo: () => ({
            scope: 'orders',
            audience: COMPANY_AUDIENCE,
            accessTokenTTL: 300,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          }),
        },
      },
      extraTokenClaims: () => pending,
    });
  let keys = [newKey()];
  current = make(keys);

  return {
    issuer,
    async token(claims = {}) {
      pending = claims;
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from('orders-tests:a-secret-of-the-tests').toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'orders', resource: COMPANY_AUDIENCE }),
      });
      const body = (await res.json()) as { access_token?: string };
      if (!res.ok || !body.access_token) throw new Error(`company token: ${res.status} ${JSON.stringify(body)}`);
      return body.access_token;
    },
    rotate() {
      keys = [newKey(), ...keys];
      current = make(keys);
    },
    jwksFetches: () => fetches,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
