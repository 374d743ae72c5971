import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, orderBody, putProduct, type TestApp } from '../../helpers/app.js';
import { DATABASES } from '../../helpers/db.js';
import { bearer, expectProblem, expectValidation, orderCount, uid } from '../../helpers/http.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe.each(DATABASES)('errors and request ids on %s', (kind) => {
  let t: TestApp;
  let token: string;
  let sku: string;
  beforeAll(async () => {
    t = await buildTestApp(kind);
    token = await t.token(uid('u'));
    sku = uid('sku');
    await putProduct(t, sku, { price: 100, stock: null });
  });
  afterAll(async () => {
    await t?.close();
  });

  const post = (url: string, payload: string | Buffer, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url,
      headers: { ...bearer(token), 'content-type': 'application/json', ...headers },
      payload,
    });

  describe('malformed requests', () => {
    it.each([
      ['truncated JSON', '{"items": ['],
      ['trailing garbage', '{"items": []} x'],
      ['single quotes', "{'items': []}"],
      ['a bare word', 'hello'],
    ])('%s → 400 invalid_json', async (_what, body) => {
      expectProblem(await post('/api/orders', body), 400, 'invalid_json');
    });

    it('an empty body declared as JSON is no body: a create without one → 422 validation_error', async () => {
      expectValidation(await post('/api/orders', ''));
    });

    it.each([
      ['a JSON array', '[]'],
      ['a JSON string', '"order"'],
      ['null', 'null'],
    ])('%s instead of an object → 422 validation_error', async (_what, body) => {
      expectValidation(await post('/api/orders', body));
    });

    it.each(['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'])(
      'Content-Type %s → 415 unsupported_media_type',
      async (type) => {
        expectProblem(await post('/api/orders', 'items=1', { 'content-type': type }), 415, 'unsupported_media_type');
      },
    );

    it('application/json with a charset is fine', async () => {
      const res = await post('/api/orders', JSON.stringify(orderBody([{ product_id: sku, quantity: 1 }])), {
        'content-type': 'application/json; charset=utf-8',
      });
      expect(res.statusCode, res.body).toBe(201);
    });

    it('a body over 1 MiB → 413 payload_too_large, nothing created', async () => {
      const user = uid('big');
      const padding = 'x'.repeat(1024 * 1024);
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/orders',
        headers: { ...bearer(await t.token(user)), 'content-type': 'application/json' },
        payload: JSON.stringify({ ...orderBody([{ product_id: sku, quantity: 1 }]), email: padding }),
      });
      expectProblem(res, 413, 'payload_too_large');
      expect(await orderCount(t, user)).toBe(0);
    });

    it('a body just under 1 MiB is parsed (and refused for its content, 422)', async () => {
      const body = JSON.stringify({ ...orderBody([{ product_id: sku, quantity: 1 }]), junk: '' });
      const padded = body.replace('"junk":""', `"junk":"${'x'.repeat(1024 * 1024 - body.length - 10)}"`);
      expectValidation(await post('/api/orders', padded), '/junk');
    });
  });

  describe('unknown routes', () => {
    it.each([
      ['GET', '/nope'],
      ['GET', '/api/nope'],
      ['DELETE', '/api/orders/00000000-0000-4000-8000-000000000000'],
      ['PATCH', '/api/products/x'],
      ['POST', '/api/products'],
    ] as const)('%s %s → 404 not_found', async (method, url) => {
      const res = await t.app.inject({ method, url, headers: bearer(token) });
      const body = expectProblem(res, 404, 'not_found');
      expect(body.detail).toContain(url.split('?')[0]);
    });
  });

  describe('prototype pollution', () => {
    it.each([
      [
        '__proto__ at the top',
        `{"__proto__": {"isAdmin": true}, "items": [{"product_id": "SKU", "quantity": 1}], "currency": "USD", "payment": {"provider": "sandbox", "source": "pm_card_visa"}}`,
      ],
      [
        '__proto__ in an item',
        `{"items": [{"product_id": "SKU", "quantity": 1, "__proto__": {"unit_price": 0}}], "currency": "USD", "payment": {"provider": "sandbox", "source": "pm_card_visa"}}`,
      ],
      [
        'constructor.prototype',
        `{"constructor": {"prototype": {"isAdmin": true}}, "items": [{"product_id": "SKU", "quantity": 1}], "currency": "USD", "payment": {"provider": "sandbox", "source": "pm_card_visa"}}`,
      ],
      [
        'constructor.prototype in payment',
        `{"items": [{"product_id": "SKU", "quantity": 1}], "currency": "USD", "payment": {"provider": "sandbox", "source": "pm_card_visa", "constructor": {"prototype": {"x": 1}}}}`,
      ],
    ])('%s → 4xx, no order, nothing polluted', async (_what, raw) => {
      const user = uid('proto');
      const res = await post('/api/orders', raw.replace(/SKU/g, sku), bearer(await t.token(user)));
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
      expectProblem(res, res.statusCode, res.json().code);
      expect(await orderCount(t, user)).toBe(0);
      expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
      expect(({} as Record<string, unknown>).unit_price).toBeUndefined();
    });

    it('on the admin product route too', async () => {
      const res = await t.app.inject({
        method: 'PUT',
        url: `/api/products/${uid('p')}`,
        headers: { ...bearer(await t.adminToken()), 'content-type': 'application/json' },
        payload:
          '{"name": "x", "price": 1, "currency": "USD", "active": true, "stock": null, "__proto__": {"price": 0}}',
      });
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
    });
  });

  describe('X-Request-Id', () => {
    it('is echoed when sent, on success and on errors, and is the problem’s request_id', async () => {
      const ok = await t.app.inject({
        method: 'GET',
        url: '/api/orders',
        headers: { ...bearer(token), 'x-request-id': 'trace-abc.123:x_y' },
      });
      expect(ok.statusCode).toBe(200);
      expect(ok.headers['x-request-id']).toBe('trace-abc.123:x_y');
      const bad = await t.app.inject({
        method: 'GET',
        url: '/api/orders/nope',
        headers: { ...bearer(token), 'x-request-id': 'req-42' },
      });
      expect(bad.headers['x-request-id']).toBe('req-42');
      expect(expectProblem(bad, 404, 'order_not_found').request_id).toBe('req-42');
      const unauth = await t.app.inject({ method: 'GET', url: '/api/orders', headers: { 'x-request-id': 'req-43' } });
      expect(expectProblem(unauth, 401, 'invalid_token').request_id).toBe('req-43');
    });

    it('is generated when not sent, different for every request', async () => {
      const a = await t.app.inject({ method: 'GET', url: '/healthz' });
      const b = await t.app.inject({ method: 'GET', url: '/healthz' });
      expect(a.headers['x-request-id']).toMatch(UUID);
      expect(b.headers['x-request-id']).toMatch(UUID);
      expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
    });

    it.each([
      ['spaces', 'a b c'],
      ['a header injection attempt', 'x"; evil=1'],
      ['200 characters', 'r'.repeat(200)],
      ['non-ASCII', 'réq-1'],
      ['an empty value', ''],
    ])('a hostile one (%s) is replaced by a generated one', async (_what, sent) => {
      const res = await t.app.inject({
        method: 'GET',
        url: '/api/orders/nope',
        headers: { ...bearer(token), 'x-request-id': sent },
      });
      expect(res.headers['x-request-id']).toMatch(UUID);
      expect(res.json().request_id).toBe(res.headers['x-request-id']);
    });
  });

  describe('an unexpected failure (500)', () => {
    let other: TestApp;
    beforeAll(async () => {
      const leak = "select card_number from secrets where password = 'hunter2'";
      other = await buildTestApp(t, {
        app: {
          faults: {
            afterCharge: () => {
              throw new Error(leak);
            },
          },
        },
        allowInternalErrors: true,
      });
    });
    afterAll(async () => {
      await other?.close();
    });

    it('is a problem+json internal_error quoting the request id, without the message, SQL or stack', async () => {
      const res = await other.app.inject({
        method: 'POST',
        url: '/api/orders',
        headers: { ...bearer(token), 'x-request-id': 'bug-1' },
        payload: orderBody([{ product_id: sku, quantity: 1 }]),
      });
      const body = expectProblem(res, 500, 'internal_error');
      expect(body.detail).toContain('bug-1');
      expect(res.body).not.toMatch(/hunter2|select|secrets|stack|\.ts:\d+/i);
    });
  });
});
