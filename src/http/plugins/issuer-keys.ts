import { createRemoteJWKSet, type JWTVerifyGetKey, type RemoteJWKSetOptions } from 'jose';
import { allowInsecureRequests, discoveryRequest, processDiscoveryResponse } from 'oauth4webapi';

/**
 * JWT_ISSUER without JWT_JWKS_URL: the keys are at the `jwks_uri` of the issuer's OpenID discovery
 * document. It is read at the first token (not at boot: the service starts while the identity
 * provider is down) and again after a failure; oauth4webapi checks that the document is the
 * issuer's own. The key set itself is jose's remote one, so a rotated key is fetched on its
 * first unknown `kid`, as with JWT_JWKS_URL.
 */
export function discoveredKeySet(
  issuer: string,
  options: RemoteJWKSetOptions & { timeoutDuration: number },
): JWTVerifyGetKey {
  let keys: Promise<JWTVerifyGetKey> | null = null;
  const discover = async (): Promise<JWTVerifyGetKey> => {
    const url = new URL(issuer);
    // An http:// issuer is the operator's choice (a provider on the same host or network).
    const response = await discoveryRequest(url, {
      algorithm: 'oidc',
      signal: AbortSignal.timeout(options.timeoutDuration),
      [allowInsecureRequests]: url.protocol === 'http:',
    });
    const metadata = await processDiscoveryResponse(url, response);
    if (!metadata.jwks_uri) throw new Error(`the discovery document of ${issuer} has no jwks_uri`);
    return createRemoteJWKSet(new URL(metadata.jwks_uri), options);
  };
  return async (header, token) => {
    keys ??= discover().catch((err: unknown) => {
      keys = null; // the next token tries again
      throw err;
    });
    return (await keys)(header, token);
  };
}
