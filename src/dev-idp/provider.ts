import { randomBytes } from 'node:crypto';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../config.js';
import { DEV_IDP_CLIENT_ID } from '../config.js';
import type { DevIdpKeys } from './keys.js';
import { escape, htmlPage } from './pages.js';

/** Who signed in, by user name: the admin box of their last sign-in. */
export type DevAccounts = Map<string, { admin: boolean }>;

/** The resource indicator (RFC 8707) of the API: the audience of the access tokens the provider issues. */
export const apiResource = (config: Pick<Config, 'publicBaseUrl'>) => `${config.publicBaseUrl}/api`;

/**
 * oidc-provider, configured as a small company identity provider would be: one public client (the
 * console: code flow with PKCE S256, refresh tokens rotated at each use), JWT access tokens for the
 * API (RFC 9068, ES256, the API verifies them with the provider's keys), the user's roles in them,
 * and RP-initiated logout. Loaded only when the development provider is on (docs/adr/0019).
 */
export async function createDevProvider(
  config: Readonly<Config> & { devIdp: NonNullable<Config['devIdp']> },
  keys: DevIdpKeys,
  accounts: DevAccounts,
) {
  const { default: Provider, errors } = await import('oidc-provider');
  const resource = apiResource(config);
  const redirectUri = config.consoleOidc?.redirectUri ?? `${config.publicBaseUrl}/admin`;
  const ttl = config.devIdp.accessTokenTtlSeconds;

  const provider = new Provider(config.devIdp.issuer, {
    clients: [
      {
        client_id: DEV_IDP_CLIENT_ID,
        client_name: 'Support console',
        application_type: 'web',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [redirectUri],
        post_logout_redirect_uris: [redirectUri],
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: keys.private as never },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    // The ID token carries the name the console shows (there is no userinfo call: the access token is the API's).
    conformIdTokenClaims: false,
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'] },
    async findAccount(_ctx, sub) {
      return { accountId: sub, claims: async () => ({ sub, name: sub, preferred_username: sub }) };
    },
    async extraTokenClaims(_ctx, token) {
      if (!('accountId' in token) || typeof token.accountId !== 'string') return undefined;
      return { roles: accounts.get(token.accountId)?.admin ? ['admin'] : [] };
    },
    // A refresh token for the console whether or not it asked for offline_access.
    async issueRefreshToken(_ctx, client) {
      return client.grantTypeAllowed('refresh_token');
    },
    // The console is this provider's own client: signing in is consenting, as with a company's SSO.
    async loadExistingGrant(ctx) {
      const { oidc } = ctx;
      const client = oidc.client;
      const accountId = oidc.session?.accountId;
      if (!client || !accountId) return undefined;
      const grantId = oidc.result?.consent?.grantId ?? oidc.session?.grantIdFor(client.clientId);
      const grant =
        (grantId && (await oidc.provider.Grant.find(grantId))) ||
        new oidc.provider.Grant({ clientId: client.clientId, accountId });
      grant.addOIDCScope([...oidc.requestParamScopes].join(' '));
      grant.addResourceScope(resource, 'orders');
      await grant.save();
      return grant;
    },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.body = htmlPage(
            'Sign out',
            `<h1>Sign out of the development provider?</h1>${form}<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Yes, sign me out</button> <button type="submit" form="op.logoutForm">No, stay signed in</button>`,
          );
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.body = htmlPage(
            'Signed out',
            '<h1>Signed out</h1><p>You are signed out of the development provider.</p>',
          );
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          if (indicator !== resource) throw new errors.InvalidTarget();
          return {
            scope: 'orders',
            audience: resource,
            accessTokenTTL: ttl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
    scopes: ['openid', 'profile', 'offline_access', 'orders'],
    interactions: { url: (_ctx, interaction) => `/dev-idp/interaction/${interaction.uid}` },
    ttl: {
      AccessToken: ttl,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Grant: 8 * 3600,
      Session: 8 * 3600,
      // A working day; rotated at each use (oidc-provider's default for public clients).
      RefreshToken: 8 * 3600,
    },
    async renderError(ctx: KoaContextWithOIDC, out) {
      ctx.type = 'html';
      ctx.body = htmlPage(
        'Sign-in error',
        `<h1>Sign-in error</h1><p>${escape(out.error)}: ${escape(out.error_description ?? '')}</p><p><a href="/admin">Back to the console</a></p>`,
      );
    },
  });
  provider.proxy = config.trustProxy !== false;
  return provider;
}
