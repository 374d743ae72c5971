import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import type { Config } from '../../config.js';
import { DomainError } from '../../domain/errors.js';
import { sendProblem } from '../problem.js';
import { EmailAddress } from '../schemas/common.js';
import { isStorableText } from '../storable-text.js';
import { compileCheck } from '../validation.js';
import { discoveredKeySet } from './issuer-keys.js';

interface AuthUser {
  sub: string;
  email: string | null;
  roles: string[];
  isAdmin: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    user: AuthUser;
  }
  interface FastifyInstance {
    /**
     * onRequest hook: 401 unless the request carries a valid bearer token.
     * Hooks that answer early return the reply: an async hook that only calls
     * send() lets Fastify go on to the handler (the write would still happen).
     */
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;
    /** preHandler hook: 403 unless the authenticated user has the admin role. */
    requireAdmin: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;
  }
}

const REALM = 'Bearer realm="orders"';
const isEmailAddress = compileCheck(EmailAddress);
const ASYMMETRIC = ['RS256', 'ES256', 'EdDSA'];

export type TokenVerifier = (token: string) => Promise<AuthUser>;

/** The development provider's access tokens (src/dev-idp): its issuer, the API's resource id, its public keys. */
export interface DevIdpTrust {
  issuer: string;
  audience: string;
  jwks: JSONWebKeySet;
}

type VerifiedUser = { user: AuthUser; exp: number | undefined };

/**
 * Builds the verifier once: the key (or the JWKS cache) is shared by every request. With the
 * development provider on, its ES256 access tokens are verified by its own keys (in process), and
 * HS256 ones (`npm run token`) by the secret: the header's `alg` picks the one key source that may
 * verify the token, so neither can stand in for the other.
 */
export function createTokenVerifier(jwt: Config['jwt'], devIdp: DevIdpTrust | null = null): TokenVerifier {
  const options: JWTVerifyOptions = { clockTolerance: 30, requiredClaims: jwt.requireExp ? ['sub', 'exp'] : ['sub'] };
  if (jwt.issuer) options.issuer = jwt.issuer;
  if (jwt.audience) options.audience = jwt.audience;
  const toUser = (payload: JWTPayload): VerifiedUser => userOf(payload, jwt.rolesClaim);

  let verify: (token: string) => ReturnType<typeof jwtVerify>;
  // jose refetches on an unknown kid (rate-limited by the cooldown), so keys can rotate; a removed key
  // stops verifying once the cache is older than JWT_JWKS_CACHE_SECONDS.
  const cacheMaxAge = jwt.jwksCacheSeconds * 1000;
  const remote = { cacheMaxAge, cooldownDuration: Math.min(5_000, cacheMaxAge), timeoutDuration: 5_000 };
  if (jwt.jwksUrl) {
    const jwks: JWTVerifyGetKey = createRemoteJWKSet(new URL(jwt.jwksUrl), remote);
    verify = (token) => jwtVerify(token, jwks, { ...options, algorithms: ASYMMETRIC });
  } else if (jwt.secret) {
    const key = new TextEncoder().encode(jwt.secret);
    verify = (token) => jwtVerify(token, key, { ...options, algorithms: ['HS256'] });
  } else if (jwt.issuer) {
    const jwks = discoveredKeySet(jwt.issuer, remote);
    verify = (token) => jwtVerify(token, jwks, { ...options, algorithms: ASYMMETRIC });
  } else {
    throw new Error('no JWT verification configured');
  }

  const verifyUser = async (token: string) => toUser((await verify(token)).payload);
  const main =
    jwt.secret && !jwt.jwksUrl
      ? cachedVerifier(verifyUser, options.clockTolerance as number)
      : async (token: string) => (await verifyUser(token)).user;
  if (!devIdp) return main;

  const devKeys = createLocalJWKSet(devIdp.jwks);
  // RFC 9068 access tokens only: the provider's ID tokens (same keys, the console as audience) are no bearer tokens.
  const devOptions: JWTVerifyOptions = {
    ...options,
    issuer: devIdp.issuer,
    audience: devIdp.audience,
    typ: 'at+jwt',
    algorithms: ['ES256'],
  };
  return async (token) => {
    if (headerAlg(token) === 'HS256') return main(token);
    return toUser((await jwtVerify(token, devKeys, devOptions)).payload).user;
  };
}

function headerAlg(token: string): string | undefined {
  try {
    return decodeProtectedHeader(token).alg;
  } catch {
    return undefined; // not a JWS: the verification that follows says so
  }
}

function userOf(payload: JWTPayload, rolesClaim: string): VerifiedUser {
  // `sub` is stored (orders' owner, history's actor): text the database cannot store is a bad token.
  if (
    typeof payload.sub !== 'string' ||
    payload.sub.length === 0 ||
    payload.sub.length > 255 ||
    !isStorableText(payload.sub)
  ) {
    throw new joseErrors.JWTClaimValidationFailed('sub must be a non-empty string', payload, 'sub', 'invalid');
  }
  const claimed = Object.hasOwn(payload, rolesClaim) ? payload[rolesClaim] : pathIn(payload, rolesClaim);
  const roles = Array.isArray(claimed) ? claimed.filter((r): r is string => typeof r === 'string') : [];
  // `email` is only the fallback recipient: one that is not an address (by the rule a body's `email`
  // follows) counts as no email, as malformed `roles` count as no roles (docs/adr: hostile text).
  const email = isEmailAddress(payload.email) ? (payload.email as string) : null;
  return { user: { sub: payload.sub, email, roles, isAdmin: roles.includes('admin') }, exp: payload.exp };
}

/** `realm_access.roles` in Keycloak's tokens: a claim name with no top-level match read as a path of own properties. */
function pathIn(payload: JWTPayload, path: string): unknown {
  let at: unknown = payload;
  for (const part of path.split('.')) {
    if (typeof at !== 'object' || at === null || !Object.hasOwn(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/**
 * With a shared secret, a token that verified once verifies again until it expires: the secret
 * cannot change while the process runs, and issuer and audience are in the signed bytes. So the
 * outcome is kept (bounded, for at most a minute) and a hit only re-checks `exp` exactly as jose
 * does; anything else (a miss, an expired entry, a failure) takes the full verification, so every
 * rejection is jose's own. Verifying was about a third of the CPU of a GET (bench/, docs/adr/0009).
 * Not for JWKS: there a removed key must stop verifying once the key set cache is stale.
 */
function cachedVerifier(verifyUser: (token: string) => Promise<VerifiedUser>, toleranceS: number): TokenVerifier {
  const MAX_ENTRIES = 10_000;
  const TTL_MS = 60_000;
  const cache = new Map<string, { user: AuthUser; exp: number | undefined; until: number }>();
  return async (token) => {
    const now = Date.now();
    const hit = cache.get(token);
    if (hit) {
      if (hit.until > now && (hit.exp === undefined || hit.exp > Math.floor(now / 1000) - toleranceS)) return hit.user;
      cache.delete(token);
    }
    const { user, exp } = await verifyUser(token);
    Object.freeze(user.roles);
    Object.freeze(user);
    if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value as string); // the oldest
    cache.set(token, { user, exp, until: now + TTL_MS });
    return user;
  };
}

/** A failure to reach the identity provider is our outage, not the caller's bad token. */
function isKeySourceDown(err: unknown): boolean {
  return err instanceof joseErrors.JWKSTimeout || (err instanceof Error && !(err instanceof joseErrors.JOSEError));
}

export default fp(
  async function authPlugin(app: FastifyInstance, opts: { verifier: TokenVerifier }) {
    app.decorateRequest('user', null as unknown as AuthUser);

    app.decorate('authenticate', async (request: FastifyRequest, reply: FastifyReply) => {
      const header = request.headers.authorization;
      if (!header) {
        reply.header('www-authenticate', REALM);
        return sendProblem(request, reply, 'invalid_token', 'A bearer token is required.');
      }
      const match = /^Bearer +(\S{1,8192})$/i.exec(header);
      if (!match?.[1]) return reject(request, reply, 'The Authorization header is not a bearer token.');
      try {
        request.user = await opts.verifier(match[1]);
      } catch (err) {
        if (isKeySourceDown(err)) {
          request.log.error({ err }, 'token keys unavailable');
          throw new DomainError(
            'service_unavailable',
            'The identity provider keys are unavailable; try again shortly.',
          );
        }
        return reject(request, reply, describe(err));
      }
      return undefined;
    });

    app.decorate('requireAdmin', async (request: FastifyRequest, reply: FastifyReply) => {
      if (!request.user?.isAdmin) return sendProblem(request, reply, 'forbidden', 'This route needs the admin role.');
      return undefined;
    });
  },
  // A key source that is down is thrown as a DomainError, rendered by the errors plugin's handler.
  { name: 'auth', dependencies: ['errors'] },
);

function reject(request: FastifyRequest, reply: FastifyReply, detail: string) {
  reply.header('www-authenticate', `${REALM}, error="invalid_token", error_description="${detail.replace(/"/g, "'")}"`);
  return sendProblem(request, reply, 'invalid_token', detail);
}

function describe(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'The token has expired.';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `The token's ${err.claim} claim is not valid.`;
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'The token signature does not verify.';
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'The token algorithm is not allowed.';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'The token was signed by an unknown key.';
  return 'The token is not valid.';
}
