import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, constants } from 'node:http2';
import { Agent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';

/**
 * HTTPS straight from the service (TLS_CERT_FILE/TLS_KEY_FILE), HTTP/1.1 and HTTP/2, with a
 * self-signed certificate made here by the openssl CLI (Node can sign with a key but cannot build an
 * X.509 certificate by itself).
 */
const dir = mkdtempSync(join(tmpdir(), 'order-api-tls-'));
const certFile = join(dir, 'cert.pem');
const keyFile = join(dir, 'key.pem');
let ca: Buffer;

beforeAll(() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    throw new Error('the openssl CLI is required for the TLS tests (Debian: apt-get install openssl)');
  }
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  ca = readFileSync(certFile);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function listen(env: Record<string, string>): Promise<{ t: TestApp; port: number }> {
  const t = await buildTestApp('postgres', {
    env: { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile, ...env },
    listen: true,
    rateLimits: 'configured',
  });
  return { t, port: Number(new URL(t.url).port) };
}

/** GET over HTTPS/1.1, trusting only the test's own certificate. */
function get11(
  port: number,
  path: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string; alpn: string | false | null }> {
  // An HTTP/1.1-only client that says so in ALPN, as curl --http1.1 does.
  const agent = new Agent({ ca, servername: 'localhost', ALPNProtocols: ['http/1.1'], keepAlive: false });
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      const alpn = (res.socket as import('node:tls').TLSSocket).alpnProtocol;
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, alpn }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTPS (HTTP/1.1)', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => ({ t, port } = await listen({})));
  afterAll(async () => t?.close());

  it('serves the API over TLS with HSTS', async () => {
    const res = await get11(port, '/healthz');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
  });

  it('a client that does not trust the certificate is refused by its own TLS check', async () => {
    await expect(
      new Promise((resolve, reject) =>
        httpsRequest({ host: '127.0.0.1', port, path: '/healthz' }, resolve).on('error', reject).end(),
      ),
    ).rejects.toThrow(/self-signed|self signed/i);
  });

  it('HTTP/2 is not offered unless HTTP2=true', async () => {
    const client = connect(`https://127.0.0.1:${port}`, { ca, servername: 'localhost' });
    const failed = await new Promise((resolve) => {
      client.on('error', (err) => resolve(err));
      client.on('connect', () => resolve(null));
    });
    client.close();
    expect(failed).toBeInstanceOf(Error);
  });
});

describe('HTTPS with HTTP2=true', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => ({ t, port } = await listen({ HTTP2: 'true' })));
  afterAll(async () => t?.close());

  it('speaks HTTP/2 (ALPN h2): a token-authenticated request and the security headers', async () => {
    const client = connect(`https://127.0.0.1:${port}`, { ca, servername: 'localhost' });
    try {
      const token = await t.token('h2-user');
      const res = await new Promise<{ headers: Record<string, unknown>; body: string }>((resolve, reject) => {
        const stream = client.request({
          [constants.HTTP2_HEADER_PATH]: '/api/products',
          authorization: `Bearer ${token}`,
        });
        let headers: Record<string, unknown> = {};
        let body = '';
        stream.on('response', (h) => (headers = h));
        stream.on('data', (d) => (body += d));
        stream.on('end', () => resolve({ headers, body }));
        stream.on('error', reject);
      });
      expect(client.alpnProtocol).toBe('h2');
      expect(res.headers[':status']).toBe(200);
      expect(JSON.parse(res.body)).toMatchObject({ items: expect.any(Array) });
      expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
      expect(res.headers['x-request-id']).toEqual(expect.any(String));
      expect(res.headers.ratelimit).toMatch(/^"default";r=\d+;t=\d+$/);
    } finally {
      client.close();
    }
  });

  it('still answers HTTP/1.1 clients on the same port', async () => {
    const res = await get11(port, '/healthz');
    expect(res.status).toBe(200);
    expect(res.alpn).toBe('http/1.1');
  });
});

describe('HSTS and HTTP2 configuration', () => {
  it('plain HTTP: no HSTS, unless a trusted proxy says the client used https', async () => {
    const t = await buildTestApp('postgres', { env: { TRUST_PROXY: '127.0.0.1' }, rateLimits: 'configured' });
    try {
      const plain = await t.app.inject({ method: 'GET', url: '/healthz' });
      expect(plain.headers['strict-transport-security']).toBeUndefined();
      const proxied = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-forwarded-proto': 'https' } });
      expect(proxied.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    } finally {
      await t.close();
    }
  });

  it('HTTP2=true without a certificate is refused at boot (h2c is spoken by neither browsers nor nginx upstreams)', () => {
    let err: unknown;
    try {
      loadConfig({
        NODE_ENV: 'test',
        JWT_SECRET: 'x'.repeat(32),
        DATABASE_URL: 'memory://',
        DATA_DIR: dir,
        HTTP2: 'true',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual(['HTTP2=true needs TLS_CERT_FILE and TLS_KEY_FILE']);
  });
});
