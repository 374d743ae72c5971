import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config.js';
import { expiredPage, signInPage } from '../../dev-idp/pages.js';
import { createDevProvider, type DevAccounts } from '../../dev-idp/provider.js';
import type { DevIdpKeys } from '../../dev-idp/keys.js';
import { isStorableText } from '../storable-text.js';

const PREFIX = '/dev-idp';
const USERNAME = /^[^\s][^\p{Cc}]{0,99}$/u;

/**
 * The development OpenID provider (oidc-provider, a Koa app) at /dev-idp, and its sign-in form.
 * Requests are handed over raw (its own body parsing, cookies and redirects), the prefix taken off
 * the URL as a connect mount would, with the headers this service sets on every answer.
 * Registered only outside production (config.ts refuses DEV_IDP there).
 */
export default async function devIdpPlugin(
  app: FastifyInstance,
  opts: { config: Readonly<Config> & { devIdp: NonNullable<Config['devIdp']> }; keys: DevIdpKeys },
) {
  const accounts: DevAccounts = new Map();
  const provider = await createDevProvider(opts.config, opts.keys, accounts);
  const callback = provider.callback();

  const handOver = (request: FastifyRequest, reply: FastifyReply) => {
    const raw = request.raw as typeof request.raw & { originalUrl?: string };
    hijack(reply);
    raw.originalUrl = raw.url;
    raw.url = (raw.url ?? '/').slice(PREFIX.length) || '/';
    return callback(raw, reply.raw);
  };

  await app.register(async (idp) => {
    // The provider reads the bodies itself (form posts to /token, /token/revocation, /session/end).
    idp.removeAllContentTypeParsers();
    idp.addContentTypeParser('*', (_request, _payload, done) => done(null));
    const hidden = { schema: { hide: true } };
    for (const url of [PREFIX, `${PREFIX}/*`]) idp.all(url, hidden, handOver);
  });

  await app.register(async (form) => {
    form.removeAllContentTypeParsers();
    await form.register(formbody, { bodyLimit: 4096 });
    const page = (reply: FastifyReply, status: number, html: string) =>
      reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
    const expired = (reply: FastifyReply) => page(reply, 400, expiredPage());

    form.get<{ Params: { uid: string } }>(
      `${PREFIX}/interaction/:uid`,
      { schema: { hide: true } },
      async (request, reply) => {
        const details = await provider.interactionDetails(request.raw, reply.raw).catch(() => null);
        if (!details || details.uid !== request.params.uid) return expired(reply);
        return page(reply, 200, signInPage(details.uid, { clientName: 'the support console' }));
      },
    );

    form.post<{ Params: { uid: string }; Body: Record<string, unknown> | undefined }>(
      `${PREFIX}/interaction/:uid/login`,
      { schema: { hide: true } },
      async (request, reply) => {
        const details = await provider.interactionDetails(request.raw, reply.raw).catch(() => null);
        if (!details || details.uid !== request.params.uid) return expired(reply);
        const given = request.body?.username;
        const username = typeof given === 'string' ? given.trim() : ''; // a repeated field is an array: no name
        if (!USERNAME.test(username) || !isStorableText(username)) {
          return page(
            reply,
            422,
            signInPage(details.uid, {
              clientName: 'the support console',
              problem: 'Give a user name of 1 to 100 characters.',
              username,
            }),
          );
        }
        accounts.set(username, { admin: request.body?.admin === 'yes' });
        hijack(reply);
        await provider.interactionFinished(
          request.raw,
          reply.raw,
          { login: { accountId: username, remember: false } },
          { mergeWithLastSubmission: false },
        );
      },
    );
  });
}

/** The raw response is the provider's from here on, with the headers the service set so far (helmet's, the request id). */
function hijack(reply: FastifyReply) {
  for (const [name, value] of Object.entries(reply.getHeaders()))
    if (value !== undefined) reply.raw.setHeader(name, value as string | string[]);
  reply.hijack();
}
