import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, orderBody, putProduct, type TestApp } from '../../../helpers/app.js';
import { DATABASES } from '../../../helpers/db.js';
import { bearer, createOrder, uid } from '../../../helpers/http.js';

/** Every /api route of the contract, as OpenAPI paths. */
const CONTRACT_PATHS: Record<string, string[]> = {
  '/api/orders/create': ['post'],
  '/api/orders': ['get', 'post'],
  '/api/orders/{order_id}': ['get'],
  '/api/orders/{order_id}/cancel': ['post'],
  '/api/orders/{order_id}/status': ['post'],
  '/api/orders/{order_id}/history': ['get'],
  '/api/products': ['get'],
  '/api/products/{product_id}': ['get', 'put'],
};

describe.each(DATABASES)('operations on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(kind);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('GET /healthz → 200 without a token', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz → 200 while the database answers', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready' });
  });

  it('GET /metrics: Prometheus text with request counts per route template and orders created', async () => {
    const sku = uid('sku');
    await putProduct(t, sku, { price: 100 });
    const order = await createOrder(t, await t.token(uid('u')), orderBody([{ product_id: sku, quantity: 1 }]));
    expect(order.statusCode).toBe(201);
    await t.app.inject({ method: 'GET', url: `/api/orders/${order.json().id}`, headers: bearer(await t.token('x')) });
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    expect(text).toMatch(/^# TYPE http_requests_total counter$/m);
    expect(text).toMatch(
      /^http_requests_total\{[^}]*route="\/api\/orders\/create"[^}]*status_code="201"[^}]*\} [1-9]/m,
    );
    // route templates, never raw ids, so the label set stays small
    expect(text).toMatch(/route="\/api\/orders\/:order_id"/);
    expect(text).not.toContain(order.json().id);
    expect(text).toMatch(/^http_request_duration_seconds_bucket\{/m);
    expect(text).toMatch(/^orders_created_total\{[^}]*provider="sandbox"[^}]*\} [1-9]/m);
  });

  it('GET /openapi.json: OpenAPI 3.1 listing every /api path of the contract', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\.1\./);
    for (const [path, methods] of Object.entries(CONTRACT_PATHS)) {
      expect(Object.keys(doc.paths), path).toContain(path);
      for (const m of methods) expect(doc.paths[path][m], `${m} ${path}`).toBeDefined();
    }
    // generated from the validating schemas: the create body is closed and money is integer
    const create = doc.paths['/api/orders/create'].post;
    const schema = create.requestBody.content['application/json'].schema;
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.items.maxItems).toBe(100);
    expect(schema.properties.items.items.properties.quantity).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: 1000,
    });
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['201', '401', '402', '409', '422', '502']));
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    // internal routes stay out of the public document
    expect(Object.keys(doc.paths)).not.toContain('/metrics');
  });

  it('GET /docs serves an HTML page', async () => {
    let res = await t.app.inject({ method: 'GET', url: '/docs' });
    for (let hops = 0; res.statusCode >= 300 && res.statusCode < 400 && hops < 3; hops++) {
      res = await t.app.inject({
        method: 'GET',
        url: new URL(String(res.headers.location), 'http://localhost/docs').pathname,
      });
    }
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toMatch(/<html/i);
  });
});
