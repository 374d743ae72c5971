import { encodeOrderCursor } from '../../src/application/cursor.js';
import { DEEP_USER, deepPosition, emailOf, fixtureId, SET, USER_BASE, userId } from './fixtures.js';
import type { NextRequest } from './load.js';
import type { ScenarioName } from './options.js';
import { orderBody } from './seed.js';

export interface ScenarioDef {
  name: ScenarioName;
  title: string;
  /** `base` runs on the seeded tables; `deep` after the deep user's million orders are loaded. */
  phase: 'base' | 'deep';
  /** The bench/pg-limit script that issues the same SQL, when there is one, and its own variables. */
  limitScript: string | null;
  limitVars?: Record<string, string | number>;
  next: () => NextRequest;
  /** One request before the run, checked for the right answer (a fast wrong answer is no result). */
  preflight: () => { request: NextRequest; check: (status: number, body: unknown) => string | null };
}

export interface ScenarioWorld {
  tokens: Map<string, string>;
  adminToken: string;
  users: number;
  products: number;
  readOrders: number;
  cancelPool: number;
  shipPool: number;
  deepOrders: number;
  /** Transaction ids of orders waiting for their customer (seedAwaiting), one per complete-3ds request. */
  awaitingPool: readonly string[];
}

const rand = (n: number) => 1 + Math.floor(Math.random() * n);

/** The deep page: a random position within ±1000 of the middle of the deep user's orders. */
export const deepWindow = (deepOrders: number) => {
  const span = Math.min(2000, Math.floor(deepOrders / 10));
  return { from: Math.floor(deepOrders / 2) - span / 2, span };
};

/** The owner of fixture order g (bench/lib/fixtures.ts insertUserOrders spreads them round-robin). */
const ownerOf = (g: number, users: number) => String(USER_BASE + 1 + ((g - 1) % users));

export function defineScenarios(w: ScenarioWorld): Record<ScenarioName, ScenarioDef> {
  const token = (sub: string) => {
    const t = w.tokens.get(sub);
    if (!t) throw new Error(`no token for user ${sub}`);
    return t;
  };
  const getOrder = (g: number): NextRequest => ({
    method: 'GET',
    path: `/api/orders/${fixtureId(SET.read, g)}`,
    token: token(ownerOf(g, w.users)),
  });
  const listFirst = (n: number): NextRequest => ({
    method: 'GET',
    path: '/api/orders?limit=20',
    token: token(userId(n)),
  });
  const create = (): NextRequest => ({
    method: 'POST',
    path: '/api/orders',
    token: token(userId(rand(w.users))),
    body: orderBody(w.products),
  });
  let cancelNext = 0;
  const cancel = (): NextRequest => {
    // Walks the pool of pending orders: each request cancels a different one. Past its end the
    // requests repeat the last one and get 409, which marks the run invalid.
    const g = Math.min(++cancelNext, w.cancelPool);
    return {
      method: 'POST',
      path: `/api/orders/${fixtureId(SET.cancel, g)}/cancel`,
      token: token(ownerOf(g, w.users)),
      body: '{}',
    };
  };
  let shipNext = 0;
  const ship = (): NextRequest => {
    // Each request ships (and so captures) a different processing order; past the pool's end, 409s.
    const g = Math.min(++shipNext, w.shipPool);
    return {
      method: 'POST',
      path: `/api/orders/${fixtureId(SET.ship, g)}/status`,
      token: w.adminToken,
      body: '{"status":"shipped"}',
    };
  };
  const deep = deepWindow(w.deepOrders);
  const deepPage = (g: number): NextRequest => {
    const cursor = encodeOrderCursor(deepPosition(g));
    return { method: 'GET', path: `/api/orders?limit=20&cursor=${cursor}`, token: token(DEEP_USER) };
  };
  // Support's search by email, 500k deep: the deep user's million orders all carry that email.
  const adminSearch = (g: number): NextRequest => {
    const cursor = encodeOrderCursor(deepPosition(g));
    return {
      method: 'GET',
      path: `/api/admin/orders?email=${encodeURIComponent(emailOf(DEEP_USER))}&limit=20&cursor=${cursor}`,
      token: w.adminToken,
    };
  };
  type Page = { items?: { id: string }[]; next_cursor?: string | null };
  const createCheck = (status: number) => (status === 201 ? null : `expected 201, got ${status}`);
  const createAwaiting = (): NextRequest => ({
    method: 'POST',
    path: '/api/orders',
    token: token(userId(rand(w.users))),
    body: orderBody(w.products, Math.random, true),
  });
  let completeNext = 0;
  const complete = (): NextRequest => {
    // The customer completes 3-D Secure on the sandbox's page: the page's POST runs the one settle step
    // (the order placed, its capture, order.created and the email queued) and answers 303. Each request
    // completes a different waiting order; past the pool's end the page answers 404, which marks the run invalid.
    const tx = w.awaitingPool[Math.min(completeNext++, w.awaitingPool.length - 1)] ?? 'none';
    return {
      method: 'POST',
      path: `/sandbox/authenticate/${tx}`,
      token: w.adminToken,
      body: 'outcome=complete',
      form: true,
    };
  };

  return {
    get: {
      name: 'get',
      title: 'GET /api/orders/{id}',
      phase: 'base',
      limitScript: 'get.sql',
      next: () => getOrder(rand(w.readOrders)),
      preflight: () => ({
        request: getOrder(7),
        check: (s, b) =>
          s === 200 && (b as { id?: string }).id === fixtureId(SET.read, 7)
            ? null
            : `expected order 7, got ${s} ${JSON.stringify(b).slice(0, 200)}`,
      }),
    },
    list: {
      name: 'list',
      title: 'GET /api/orders (first page)',
      phase: 'base',
      limitScript: 'list.sql',
      next: () => listFirst(rand(w.users)),
      preflight: () => ({
        request: listFirst(3),
        check: (s, b) => {
          const p = b as Page;
          return s === 200 && p.items?.length === 20 && typeof p.next_cursor === 'string'
            ? null
            : `expected a full page, got ${s} ${JSON.stringify(b).slice(0, 200)}`;
        },
      }),
    },
    create: {
      name: 'create',
      title: 'POST /api/orders (1–3 items)',
      phase: 'base',
      limitScript: 'create.sql',
      next: create,
      preflight: () => ({ request: create(), check: createCheck }),
    },
    cancel: {
      name: 'cancel',
      title: 'POST /api/orders/{id}/cancel',
      phase: 'base',
      limitScript: null,
      next: cancel,
      preflight: () => ({
        request: cancel(),
        check: (s, b) =>
          s === 200 && (b as { order?: { status?: string } }).order?.status === 'cancelled'
            ? null
            : `expected a cancelled order, got ${s}`,
      }),
    },
    ship: {
      name: 'ship',
      title: 'POST /api/orders/{id}/status shipped (captures an authorization)',
      phase: 'base',
      limitScript: null,
      next: ship,
      preflight: () => ({
        request: ship(),
        check: (s, b) => {
          const o = b as { status?: string; payment?: { status?: string } };
          return s === 200 && o.status === 'shipped' && o.payment?.status === 'succeeded'
            ? null
            : `expected a shipped, captured order, got ${s} ${JSON.stringify(b).slice(0, 200)}`;
        },
      }),
    },
    'create-awaiting': {
      name: 'create-awaiting',
      title: 'POST /api/orders (3-D Secure: the order waits for its customer)',
      phase: 'base',
      limitScript: null,
      next: createAwaiting,
      preflight: () => ({
        request: createAwaiting(),
        check: (s, b) =>
          s === 201 && (b as { status?: string }).status === 'awaiting_payment'
            ? null
            : `expected an order awaiting its payment, got ${s} ${JSON.stringify(b).slice(0, 200)}`,
      }),
    },
    'complete-3ds': {
      name: 'complete-3ds',
      title: 'POST /sandbox/authenticate/{id} complete (the waiting order placed)',
      phase: 'base',
      limitScript: null,
      next: complete,
      preflight: () => ({
        request: complete(),
        check: (s) => (s === 303 ? null : `expected 303 to the return URL, got ${s}`),
      }),
    },
    'list-1m-first': {
      name: 'list-1m-first',
      title: 'GET /api/orders (first page of the 1M-order user)',
      phase: 'deep',
      limitScript: 'list.sql',
      // list.sql picks users ubase + 1 … ubase + users: here only the deep user.
      limitVars: { ubase: Number(DEEP_USER) - 1, users: 1 },
      next: () => ({ method: 'GET', path: '/api/orders?limit=20', token: token(DEEP_USER) }),
      preflight: () => ({
        request: { method: 'GET', path: '/api/orders?limit=20', token: token(DEEP_USER) },
        check: (s, b) => {
          const p = b as Page;
          return s === 200 && p.items?.length === 20 && p.items[0]?.id === fixtureId(SET.deep, 1)
            ? null
            : `expected the deep user's newest orders, got ${s}`;
        },
      }),
    },
    'list-deep': {
      name: 'list-deep',
      title: 'GET /api/orders (page 500k deep of 1M)',
      phase: 'deep',
      limitScript: 'list-deep.sql',
      next: () => deepPage(deep.from + Math.floor(Math.random() * (deep.span + 1))),
      preflight: () => ({
        request: deepPage(deep.from),
        check: (s, b) => {
          const p = b as Page;
          return s === 200 && p.items?.length === 20 && p.items[0]?.id === fixtureId(SET.deep, deep.from + 1)
            ? null
            : `expected the page after deep order ${deep.from}, got ${s} ${JSON.stringify(b).slice(0, 200)}`;
        },
      }),
    },
    'admin-search': {
      name: 'admin-search',
      title: 'GET /api/admin/orders?email= (page 500k deep of 1M)',
      phase: 'deep',
      limitScript: 'admin-search.sql',
      next: () => adminSearch(deep.from + Math.floor(Math.random() * (deep.span + 1))),
      preflight: () => ({
        request: adminSearch(deep.from),
        check: (s, b) => {
          const p = b as Page;
          return s === 200 && p.items?.length === 20 && p.items[0]?.id === fixtureId(SET.deep, deep.from + 1)
            ? null
            : `expected the page after deep order ${deep.from}, got ${s} ${JSON.stringify(b).slice(0, 200)}`;
        },
      }),
    },
    'create-1m': {
      name: 'create-1m',
      title: 'POST /api/orders, 1M orders in the table',
      phase: 'deep',
      limitScript: 'create.sql',
      next: create,
      preflight: () => ({ request: create(), check: createCheck }),
    },
  };
}
