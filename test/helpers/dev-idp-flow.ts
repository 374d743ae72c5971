import * as oauth from 'oauth4webapi';
import type { OrderApp } from '../../src/app.js';
import type { Config } from '../../src/config.js';

/** An app and the configuration it was built with: a TestApp (test/helpers/app.ts). */
export interface AppUnderTest {
  app: OrderApp;
  config: Readonly<Config>;
}

/**
 * A user agent for the development provider driven through `app.inject`: it follows the
 * provider's redirects by hand, keeps its cookies, and posts the sign-in form as a browser would.
 * The client side is oauth4webapi, as in the console.
 */
export function devIdpAgent(t: AppUnderTest) {
  const jar = new Map<string, string>();
  const origin = new URL(t.config.publicBaseUrl).origin;
  const request = async (
    url: string,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ) => {
    const u = new URL(url, origin);
    if (u.origin !== origin) throw new Error(`the flow left the service: ${url}`);
    const res = await t.app.inject({
      method: (init.method ?? 'GET') as 'GET',
      url: u.pathname + u.search,
      headers: { ...init.headers, host: u.host, cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
      payload: init.body,
    });
    const cookies = res.headers['set-cookie'];
    for (const c of (Array.isArray(cookies) ? cookies : cookies ? [cookies] : []) as string[]) {
      const [pair = ''] = c.split(';');
      const i = pair.indexOf('=');
      if (/expires=Thu, 01 Jan 1970/i.test(c)) jar.delete(pair.slice(0, i));
      else jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    return res;
  };
  /** fetch for oauth4webapi, answered by the app. */
  const customFetch = async (url: string, options: oauth.CustomFetchOptions<string, unknown>) => {
    const res = await request(url, {
      method: options.method,
      headers: Object.fromEntries(new Headers(options.headers)),
      body: options.body == null ? undefined : String(options.body),
    });
    return new Response(res.statusCode === 204 ? null : res.rawPayload, {
      status: res.statusCode,
      headers: res.headers as Record<string, string>,
    });
  };
  const opts = { [oauth.allowInsecureRequests]: true, [oauth.customFetch]: customFetch };
  return { request, opts };
}

export interface DevSignIn {
  as: oauth.AuthorizationServer;
  client: oauth.Client;
  redirectUri: string;
  /** Where the provider sent the browser back: the console's URL with `code`, `state`, `iss`. */
  callback: URL;
  state: string;
  nonce: string;
  verifier: string;
  opts: ReturnType<typeof devIdpAgent>['opts'];
}

/** Authorization request (PKCE S256), the sign-in form, and back to the console with a code. */
export async function authorizeAtDevIdp(
  t: AppUnderTest,
  user: { username: string; admin: boolean },
): Promise<DevSignIn> {
  const settings = t.config.consoleOidc!;
  const { request, opts } = devIdpAgent(t);
  const issuer = new URL(settings.issuer);
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...opts }),
  );
  const client: oauth.Client = { client_id: settings.clientId };
  const [state, nonce, verifier] = [
    oauth.generateRandomState(),
    oauth.generateRandomNonce(),
    oauth.generateRandomCodeVerifier(),
  ];
  const authorize = new URL(as.authorization_endpoint!);
  const params = {
    client_id: client.client_id,
    redirect_uri: settings.redirectUri,
    response_type: 'code',
    scope: settings.scopes,
    state,
    nonce,
  };
  for (const [k, v] of Object.entries({
    ...params,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }))
    authorize.searchParams.set(k, v);

  let res = await request(authorize.href);
  const form = await request(String(res.headers.location));
  const action = /<form method="post" action="([^"]+)"/.exec(form.body)?.[1];
  if (form.statusCode !== 200 || !action)
    throw new Error(`no sign-in form: ${form.statusCode} ${form.body.slice(0, 200)}`);
  const body = new URLSearchParams({ username: user.username, ...(user.admin ? { admin: 'yes' } : {}) }).toString();
  res = await request(action.replace(/&amp;/g, '&'), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  for (let hops = 0; hops < 5 && !String(res.headers.location ?? '').startsWith(settings.redirectUri); hops++)
    res = await request(String(res.headers.location));
  const location = String(res.headers.location ?? '');
  if (!location.startsWith(settings.redirectUri))
    throw new Error(`not sent back to the console: ${res.statusCode} ${location} ${res.body.slice(0, 200)}`);
  return { as, client, redirectUri: settings.redirectUri, callback: new URL(location), state, nonce, verifier, opts };
}

/** The code exchanged (the verifier and nonce checked): the console's tokens. */
export async function redeem(s: DevSignIn, verifier = s.verifier) {
  const params = oauth.validateAuthResponse(s.as, s.client, s.callback, s.state);
  const response = await oauth.authorizationCodeGrantRequest(
    s.as,
    s.client,
    oauth.None(),
    params,
    s.redirectUri,
    verifier,
    s.opts,
  );
  return oauth.processAuthorizationCodeResponse(s.as, s.client, response, {
    expectedNonce: s.nonce,
    requireIdToken: true,
  });
}

export async function signInAtDevIdp(t: AppUnderTest, user: { username: string; admin: boolean }) {
  return redeem(await authorizeAtDevIdp(t, user));
}
