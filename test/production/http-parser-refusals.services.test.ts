import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';

/**
 * What Node's HTTP parser refuses before any route runs, over a raw socket (no client library would
 * send these): problem+json with X-Request-Id like every other error, then the connection is closed.
 */
interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Number of HTTP responses in the bytes received. */
  responses: number;
  closed: boolean;
}

async function raw(port: number, bytes: string, waitMs = 3000): Promise<Answer> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let text = '';
  let closed = false;
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (text += d));
  socket.on('error', () => undefined); // a reset after the answer is not what is tested
  const done = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(bytes, 'latin1');
  await Promise.race([done.then(() => (closed = true)), new Promise((r) => setTimeout(r, waitMs))]);
  socket.destroy();
  const [head = '', body = ''] = text.split('\r\n\r\n', 2);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(
    lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
  );
  return {
    status: Number(statusLine.split(' ')[1]),
    headers,
    body,
    responses: text.match(/HTTP\/1\.1 \d{3}/g)?.length ?? 0,
    closed,
  };
}

function expectProblem(a: Answer, status: number, code: string) {
  expect(a.status, a.body).toBe(status);
  expect(a.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(a.headers['connection']).toBe('close');
  expect(Number(a.headers['content-length'])).toBe(Buffer.byteLength(a.body));
  const problem = JSON.parse(a.body);
  expect(problem).toMatchObject({
    type: 'about:blank',
    status,
    code,
    title: expect.any(String),
    detail: expect.any(String),
  });
  expect(problem.request_id).toBe(a.headers['x-request-id']);
  expect(a.headers['x-request-id']).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  expect(a.closed).toBe(true);
  expect(a.responses).toBe(1);
  return problem;
}

describe('the HTTP parser refusals', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await buildTestApp('pglite', {
      env: { HTTP_MAX_HEADER_SIZE: '4096', HTTP_REQUEST_TIMEOUT_MS: '600', HTTP_CONNECTION_TIMEOUT_MS: '0' },
      listen: true,
      rateLimits: 'configured',
    });
    port = Number(new URL(t.url).port);
  });
  afterAll(async () => {
    await t?.close();
  });

  // A request after the refused one, in the same bytes: it must never be answered (no smuggling).
  const next = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';

  it("headers over HTTP_MAX_HEADER_SIZE → 431 header_fields_too_large, the caller's X-Request-Id echoed", async () => {
    const a = await raw(
      port,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: trace-431\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n${next}`,
    );
    expectProblem(a, 431, 'header_fields_too_large');
    expect(a.headers['x-request-id']).toBe('trace-431');
  });

  it('a URL over the limit → 414 uri_too_long', async () => {
    expectProblem(
      await raw(port, `GET /healthz?q=${'a'.repeat(8000)} HTTP/1.1\r\nHost: x\r\n\r\n${next}`),
      414,
      'uri_too_long',
    );
  });

  it.each([
    ['a bare CR in a header value', 'X-A: one\rtwo\r\n'],
    ['a bare LF in a header value', 'X-A: one\ntwo\r\n'],
    ['a NUL in a header value', 'X-A: one\u0000two\r\n'],
    ['a header name with a space', 'X A: one\r\n'],
    ['Content-Length twice, different', 'Content-Length: 1\r\nContent-Length: 2\r\n'],
  ])('%s → 400 bad_request', async (_what, header) => {
    const problem = expectProblem(
      await raw(port, `POST /api/orders HTTP/1.1\r\nHost: x\r\n${header}\r\n${next}`),
      400,
      'bad_request',
    );
    expect(problem.request_id).toMatch(/^[0-9a-f-]{36}$/); // none could be read: one is made
  });

  it('not HTTP at all → 400 bad_request', async () => {
    expectProblem(await raw(port, 'HELLO THERE\r\n\r\n'), 400, 'bad_request');
  });

  it('a request that does not arrive within HTTP_REQUEST_TIMEOUT_MS → 408 request_timeout', async () => {
    expectProblem(await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ', 4000), 408, 'request_timeout');
  });

  it.each([
    ['a malformed percent-encoding in the path', 400, 'bad_request', '/api/products/%E0%A4%A'],
    ['a percent-encoded lone surrogate in the path', 400, 'bad_request', '/api/orders/%ED%A0%80'],
    ['a path parameter over HTTP_MAX_PARAM_LENGTH', 414, 'uri_too_long', `/api/orders/${'a'.repeat(200)}`],
  ])('the router: %s → %i %s as problem+json', async (_what, status, code, url) => {
    const res = await t.app.inject({ method: 'GET', url, headers: { 'x-request-id': 'trace-router' } });
    expect(res.statusCode).toBe(status);
    expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
    expect(res.headers['x-request-id']).toBe('trace-router');
    expect(res.json()).toMatchObject({ status, code, request_id: 'trace-router' });
  });

  it('a well-formed request on the same server is still answered normally', async () => {
    const a = await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(a.status).toBe(200);
  });
});
