import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../../config.js';

/** Where `npm run build:console` (Vite) writes the support console (src/console). */
const CONSOLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dist', 'console');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/**
 * The console's policy: only this origin's scripts, styles, images and API (no inline script, no
 * inline style element, nothing from elsewhere), and it may not be framed. The one exception is the
 * identity provider's origin, which the console calls for discovery, tokens and their renewal.
 */
function consoleCsp(connect: string[]): string {
  return (
    `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src ${['self', ...connect].map((s) => (s === 'self' ? "'self'" : s)).join(' ')}; font-src 'self'; ` +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
  );
}

/**
 * GET /admin and its hashed assets under /admin/assets/, read once at boot: a handful of small
 * files of a build that cannot change while the process runs. Without a build (a production
 * install without the dev tools) /admin says how to make one.
 */
export default fp(
  async function consolePlugin(
    app: FastifyInstance,
    opts: { dir?: string; oidc: Config['consoleOidc']; publicBaseUrl: string },
  ) {
    const dir = opts.dir ?? CONSOLE_DIR;
    const issuerOrigin = opts.oidc ? new URL(opts.oidc.issuer).origin : null;
    const csp = consoleCsp(issuerOrigin && issuerOrigin !== new URL(opts.publicBaseUrl).origin ? [issuerOrigin] : []);
    // What the console needs to sign in (null: token pasting). Public by nature: a public client has no secret.
    const settings = JSON.stringify(
      opts.oidc
        ? {
            sign_in: 'oidc',
            issuer: opts.oidc.issuer,
            client_id: opts.oidc.clientId,
            scopes: opts.oidc.scopes,
            redirect_uri: opts.oidc.redirectUri,
            ...(opts.oidc.audience ? { audience: opts.oidc.audience } : {}),
          }
        : { sign_in: 'token' },
    );
    const indexFile = join(dir, 'index.html');
    const index = existsSync(indexFile) ? readFileSync(indexFile) : null;
    const assets = new Map<string, Buffer>();
    const assetDir = join(dir, 'assets');
    if (existsSync(assetDir)) for (const f of readdirSync(assetDir)) assets.set(f, readFileSync(join(assetDir, f)));

    const page = { schema: { hide: true } };
    for (const url of ['/admin', '/admin/']) {
      app.get(url, page, async (_request, reply) => {
        reply.header('content-security-policy', csp).header('cache-control', 'no-cache');
        if (!index)
          return reply
            .code(503)
            .type('text/plain; charset=utf-8')
            .send('The support console is not built: run `npm run build:console`.\n');
        return reply.type('text/html; charset=utf-8').send(index);
      });
    }
    app.get('/admin/config.json', page, async (_request, reply) =>
      reply.type('application/json; charset=utf-8').header('cache-control', 'no-cache').send(settings),
    );
    app.get<{ Params: { file: string } }>('/admin/assets/:file', page, async (request, reply) => {
      const body = assets.get(request.params.file);
      const type = TYPES[extname(request.params.file)];
      if (!body || !type) return reply.code(404).type('text/plain; charset=utf-8').send('Not found\n');
      // Vite puts a content hash in every asset name: a name never changes meaning.
      return reply.type(type).header('cache-control', 'public, max-age=31536000, immutable').send(body);
    });
  },
  { name: 'console' },
);
