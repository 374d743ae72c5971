import * as oauth from 'oauth4webapi';

/** What GET /admin/config.json tells the console about signing in. */
export type SignInSettings =
  | { sign_in: 'token' }
  | { sign_in: 'oidc'; issuer: string; client_id: string; scopes: string; redirect_uri: string; audience?: string };
export type OidcSettings = Extract<SignInSettings, { sign_in: 'oidc' }>;

/** The tokens of a signed-in tab, as kept in session storage. */
export interface Tokens {
  access_token: string;
  refresh_token: string | null;
  id_token: string | null;
  /** Epoch ms when the access token expires (null: unknown, a pasted token). */
  expires_at: number | null;
  /** Epoch ms when the console renews it, a while before it expires. */
  renew_at: number | null;
  name: string;
}

/** The sign-in under way: what the callback must find again (RFC 6749 state, OIDC nonce, PKCE verifier). */
interface Pending {
  state: string;
  nonce: string;
  verifier: string;
  /** The console's hash route when sign-in started, to come back to it. */
  return_to: string;
}
const PENDING_KEY = 'order-api-console-pending';

/** The error an OAuth step answered, shown like a service problem. */
class SignInError extends Error {}

/** Everything about the provider goes through oauth4webapi: discovery, PKCE, state, nonce, the ID token's claims. */
function client(settings: OidcSettings): oauth.Client {
  return { client_id: settings.client_id };
}
// A development provider over plain HTTP (http://localhost) is the only insecure one a browser reaches.
const options = (settings: OidcSettings) => ({
  [oauth.allowInsecureRequests]: new URL(settings.issuer).protocol === 'http:',
});

let discovered: { issuer: string; as: Promise<oauth.AuthorizationServer> } | null = null;
function discover(settings: OidcSettings): Promise<oauth.AuthorizationServer> {
  if (discovered?.issuer !== settings.issuer) {
    const issuer = new URL(settings.issuer);
    const as = oauth
      .discoveryRequest(issuer, { algorithm: 'oidc', ...options(settings) })
      .then((r) => oauth.processDiscoveryResponse(issuer, r));
    as.catch(() => (discovered = null)); // the next attempt discovers again
    discovered = { issuer: settings.issuer, as };
  }
  return discovered.as;
}

/** To the provider's authorization endpoint (code flow, PKCE S256), remembering state, nonce and verifier in the tab. */
export async function startSignIn(settings: OidcSettings, returnTo: string): Promise<void> {
  const as = await discover(settings);
  const pending: Pending = {
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    verifier: oauth.generateRandomCodeVerifier(),
    return_to: returnTo,
  };
  const url = new URL(as.authorization_endpoint!);
  url.search = new URLSearchParams({
    client_id: settings.client_id,
    redirect_uri: settings.redirect_uri,
    response_type: 'code',
    scope: settings.scopes,
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(pending.verifier),
    code_challenge_method: 'S256',
    ...(settings.audience ? { audience: settings.audience } : {}),
  }).toString();
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  location.assign(url.href);
}

/** Whether this page load is the provider sending the browser back (a code or an error in the query). */
export function isCallback(): boolean {
  const q = new URLSearchParams(location.search);
  return q.has('state') || q.has('code') || q.has('error');
}

/**
 * The callback: the state must be the one this tab sent (a forged or replayed answer is refused
 * before any code is redeemed), the code is redeemed with the PKCE verifier, and the ID token's
 * claims are validated (issuer, audience, expiry, nonce). The pending sign-in is used once.
 */
export async function completeSignIn(settings: OidcSettings): Promise<{ tokens: Tokens; returnTo: string }> {
  const raw = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  const callback = new URL(location.href);
  history.replaceState(null, '', location.pathname); // the code never stays in the address bar or history
  if (!raw) throw new SignInError('No sign-in was started in this tab: start again.');
  const pending = JSON.parse(raw) as Pending;
  const as = await discover(settings);
  let params: URLSearchParams;
  try {
    params = oauth.validateAuthResponse(as, client(settings), callback, pending.state);
  } catch (err) {
    throw new SignInError(describe(err));
  }
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    client(settings),
    oauth.None(),
    params,
    settings.redirect_uri,
    pending.verifier,
    options(settings),
  );
  try {
    const result = await oauth.processAuthorizationCodeResponse(as, client(settings), response, {
      expectedNonce: pending.nonce,
      requireIdToken: true,
    });
    return { tokens: toTokens(result, null), returnTo: pending.return_to };
  } catch (err) {
    throw new SignInError(describe(err));
  }
}

/** The refresh token grant. The provider may rotate the refresh token: the new one replaces it. */
export async function renewTokens(settings: OidcSettings, current: Tokens): Promise<Tokens> {
  if (!current.refresh_token) throw new SignInError('This session cannot be renewed.');
  const as = await discover(settings);
  const response = await oauth.refreshTokenGrantRequest(
    as,
    client(settings),
    oauth.None(),
    current.refresh_token,
    options(settings),
  );
  const result = await oauth.processRefreshTokenResponse(as, client(settings), response);
  return toTokens(result, current);
}

/** The provider's end-session URL (RP-initiated logout) when it has one; the refresh token revoked first where it can be. */
export async function signOutUrl(settings: OidcSettings, tokens: Tokens | null): Promise<string | null> {
  let as: oauth.AuthorizationServer;
  try {
    as = await discover(settings);
  } catch {
    return null;
  }
  if (tokens?.refresh_token && as.revocation_endpoint) {
    await oauth
      .revocationRequest(as, client(settings), oauth.None(), tokens.refresh_token, {
        ...options(settings),
        signal: AbortSignal.timeout(3000),
      })
      .then(oauth.processRevocationResponse)
      .catch(() => undefined); // the provider's own sign-out ends the session anyway
  }
  if (!as.end_session_endpoint) return null;
  const url = new URL(as.end_session_endpoint);
  url.searchParams.set('client_id', settings.client_id);
  url.searchParams.set('post_logout_redirect_uri', settings.redirect_uri);
  if (tokens?.id_token) url.searchParams.set('id_token_hint', tokens.id_token);
  return url.href;
}

/** A renewal the provider refused (the refresh token revoked, expired or reused): only signing in again helps. */
export function isRefused(err: unknown): boolean {
  return err instanceof oauth.ResponseBodyError || err instanceof SignInError;
}

function toTokens(result: oauth.TokenEndpointResponse, previous: Tokens | null): Tokens {
  const claims = oauth.getValidatedIdTokenClaims(result);
  const now = Date.now();
  const lifetime = typeof result.expires_in === 'number' ? result.expires_in * 1000 : null;
  const name = claims
    ? String(claims.name ?? claims.preferred_username ?? claims.email ?? claims.sub)
    : (previous?.name ?? 'signed in');
  return {
    access_token: result.access_token,
    refresh_token: result.refresh_token ?? previous?.refresh_token ?? null,
    id_token: result.id_token ?? previous?.id_token ?? null,
    expires_at: lifetime === null ? null : now + lifetime,
    // A quarter of the lifetime before it ends, at most a minute: 5-minute tokens renew after 4.
    renew_at: lifetime === null ? null : now + lifetime - Math.min(60_000, lifetime / 4),
    name,
  };
}

function describe(err: unknown): string {
  if (err instanceof oauth.AuthorizationResponseError)
    return `The identity provider refused the sign-in: ${err.error}${err.error_description ? ` (${err.error_description})` : ''}.`;
  if (err instanceof oauth.ResponseBodyError)
    return `The identity provider refused the code: ${err.error}${err.error_description ? ` (${err.error_description})` : ''}.`;
  if (err instanceof oauth.OperationProcessingError && /state/i.test(err.message))
    return 'The sign-in answer does not belong to this tab (its state does not match): start again.';
  return `The sign-in could not be completed: ${(err as Error).message}`;
}
