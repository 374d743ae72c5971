import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';

/** Security headers, CORS, and the socket/header limits of a listening server. */
const apps: TestApp[] = [];
async function start(env: Record<string, string> = {}, listen?: true) {
  const t = await buildTestApp('postgres', { env, listen, rateLimits: 'configured' });
  apps.push(t);
  return t;
}
afterEach(async () => {
  await Promise.all(apps.splice(0).map((t) => t.close()));
});

describe('security headers', () => {
  it('helmet on API and docs responses, with a CSP the Swagger UI page can live with', async () => {
    const t = await start();
    for (const url of ['/healthz', '/docs/static/index.html', '/no/such/route']) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['cross-origin-opener-policy']).toBe('same-origin');
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("object-src 'none'");
      // would send a plain-HTTP deployment's browser to https:// for every asset of /docs
      expect(csp).not.toContain('upgrade-insecure-requests');
    }
  });

  it('no CORS headers unless CORS_ORIGINS names the origin', async () => {
    const none = await start();
    const pre = await none.app.inject({
      method: 'OPTIONS',
      url: '/api/orders',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST' },
    });
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();

    const t = await start({ CORS_ORIGINS: 'https://shop.example, https://admin.example' });
    const ok = await t.app.inject({
      method: 'OPTIONS',
      url: '/api/orders',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,idempotency-key',
      },
    });
    expect(ok.statusCode).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe('https://shop.example');
    expect(String(ok.headers['access-control-allow-headers'])).toContain('idempotency-key');
    const other = await t.app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://evil.example' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    // A browser must be able to read the rate-limit headers of the API's answers.
    const get = await t.app.inject({
      method: 'GET',
      url: '/api/products',
      headers: { origin: 'https://admin.example' },
    });
    expect(get.headers['access-control-allow-origin']).toBe('https://admin.example');
    expect(String(get.headers['access-control-expose-headers'])).toMatch(/retry-after.*ratelimit.*ratelimit-policy/);
  });
});

describe('socket and header limits', () => {
  async function listening(env: Record<string, string>) {
    const t = await start(env, true);
    return Number(new URL(t.url).port);
  }
  async function raw(
    port: number,
    send: string,
    waitMs: number,
  ): Promise<{ text: string; closedAfterMs: number | null }> {
    const socket: Socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const started = Date.now();
    let text = '';
    let closedAfterMs: number | null = null;
    socket.on('data', (d) => (text += d));
    socket.on('close', () => (closedAfterMs = Date.now() - started));
    socket.on('error', () => undefined);
    socket.write(send);
    await new Promise((r) => setTimeout(r, waitMs));
    socket.destroy();
    return { text, closedAfterMs };
  }

  it('headers over HTTP_MAX_HEADER_SIZE are refused with 431 before any of our code runs', async () => {
    const port = await listening({ HTTP_MAX_HEADER_SIZE: '4096' });
    const { text } = await raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`, 300);
    expect(text).toMatch(/^HTTP\/1\.1 431/);
    const fine = await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 300);
    expect(fine.text).toMatch(/^HTTP\/1\.1 200/);
  });

  it('an idle connection is closed after HTTP_CONNECTION_TIMEOUT_MS; a request trickled too slowly after HTTP_REQUEST_TIMEOUT_MS', async () => {
    const port = await listening({ HTTP_CONNECTION_TIMEOUT_MS: '500', HTTP_REQUEST_TIMEOUT_MS: '1000' });
    const idle = await raw(port, '', 2500);
    expect(idle.closedAfterMs).not.toBeNull();
    expect(idle.closedAfterMs!).toBeLessThan(2000);

    // Slowloris: a byte every 300 ms keeps the socket active, so only the request timeout ends it.
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const started = Date.now();
    let text = '';
    const header = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(40);
    let i = 0;
    const timer = setInterval(() => socket.writable && socket.write(header[i++ % header.length]!), 300);
    socket.on('data', (d) => {
      text += d;
      // Answered: stop trickling, or the next byte meets the closed socket and comes back as a reset.
      clearInterval(timer);
    });
    // A reset after the answer is not what is tested here (and events.once would reject on it).
    socket.on('error', () => undefined);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
    clearInterval(timer);
    socket.destroy();
    expect(Date.now() - started).toBeLessThan(4000);
    expect(text).toMatch(/^HTTP\/1\.1 408/);
  });
});

describe('draining before shutdown', () => {
  it('GETs answer 503 + Retry-After (the balancer retries them elsewhere and stops choosing us); POSTs are served, closing the connection', async () => {
    const t = await start();
    const token = await t.token('drainer');
    t.app.drain();
    for (const url of ['/api/products', '/readyz']) {
      const res = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.json()).toMatchObject({ code: 'service_unavailable', status: 503 });
    }
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const post = await t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { authorization: `Bearer ${token}` },
      payload: { items: [] },
    });
    expect(post.statusCode).toBe(422); // served: validated and answered, not refused
    expect(post.headers.connection).toBe('close');
  });
});
