import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureConsoleBuilt } from '../../../scripts/build-console.js';
import { buildTestApp, type TestApp } from '../../helpers/app.js';

/** GET /admin serves the built console with its own strict CSP; /docs keeps helmet's policy. */
describe('the console page over HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    await ensureConsoleBuilt();
    t = await buildTestApp('pglite');
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it('serves /admin with no inline script and a CSP that forbids one, and every asset it names', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/admin' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    // Every <script> has a src on this origin; none carries code inline.
    const scripts = [...res.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, code] of scripts) {
      expect(attrs).toMatch(/src="\/admin\/assets\//);
      expect(code?.trim()).toBe('');
    }
    const assets = [...res.body.matchAll(/(?:src|href)="(\/admin\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const a of assets) {
      const r = await t.app.inject({ method: 'GET', url: a });
      expect(r.statusCode, a).toBe(200);
      expect(r.headers['content-type']).toMatch(/^(text\/javascript|text\/css)/);
      expect(r.headers['cache-control']).toMatch(/immutable/);
    }
    expect((await t.app.inject({ method: 'GET', url: '/admin/assets/nope.js' })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/admin/' })).statusCode).toBe(200);
  });

  it('leaves /docs on the service-wide policy it works with', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(res.statusCode).toBe(200);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toMatch(/script-src 'self'/);
    expect(csp).not.toMatch(/frame-ancestors 'none'; *$/);
    expect(csp).not.toContain("default-src 'none'");
  });
});
