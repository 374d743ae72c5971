import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { loadConfig, type Config } from '../../../src/config.js';
import {
  emailMessage,
  eventMessage,
  type EmailExtra,
  type EmailKind,
  type EventType,
} from '../../../src/domain/messages.js';
import type { Order } from '../../../src/domain/order.js';
import { createDb } from '../../../src/persistence/db.js';
import { migrateToLatest } from '../../../src/persistence/migrations/index.js';
import { enqueueAll } from '../../../src/persistence/outbox.js';
import type { Database, Db, OutboxRow } from '../../../src/persistence/tables.js';
import type { Logger } from '../../../src/observability/logger.js';
import { databaseUrlFor, type DatabaseKind } from '../db.js';

export interface TestDb {
  db: Kysely<Database>;
  url: string;
  close(): Promise<void>;
}

/** A migrated database of the given kind (PostgreSQL: a fresh schema on the real server). */
export async function openTestDb(kind: DatabaseKind = 'postgres'): Promise<TestDb> {
  const { url, drop, pglite } = await databaseUrlFor(kind);
  const handle = await createDb({ url, poolSize: 10, statementTimeoutMs: 10_000, pglite });
  await migrateToLatest(handle.db as never);
  return {
    db: handle.db,
    url,
    close: async () => {
      await handle.close();
      await drop();
    },
  };
}

/** Config through the real loader, with outbox timings short enough for tests. */
export function testConfig(env: Record<string, string> = {}): Readonly<Config> {
  return loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: 'memory://',
    JWT_SECRET: 'x'.repeat(32),
    EMAIL_FROM: 'Orders <orders@shop.example>',
    OUTBOX_POLL_MS: '20',
    OUTBOX_BACKOFF_BASE_MS: '20',
    OUTBOX_BACKOFF_MAX_MS: '100',
    OUTBOX_DELIVERY_TIMEOUT_MS: '1000',
    OUTBOX_MAX_ATTEMPTS: '5',
    ...env,
  });
}

export const quietLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A logger that keeps its lines, for asserting what the log transport wrote. */
export function recordingLogger(): Logger & { lines: { level: string; obj: object; msg?: string }[] } {
  const lines: { level: string; obj: object; msg?: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export function makeOrder(overrides: Partial<Order> = {}): Order {
  const id = overrides.id ?? randomUUID();
  return {
    id,
    user_id: 'alice',
    status: 'pending',
    currency: 'USD',
    items: [
      {
        product_id: 'sku_tshirt',
        name: 'T-shirt',
        quantity: 2,
        unit_price: 1999,
        line_total: 3998,
        quantity_cancelled: 0,
        quantity_returned: 0,
      },
      {
        product_id: 'sku_mug',
        name: 'Mug',
        quantity: 1,
        unit_price: 1250,
        line_total: 1250,
        quantity_cancelled: 0,
        quantity_returned: 0,
      },
    ],
    total: 5248,
    current_total: 5248,
    payment: {
      transaction_id: randomUUID(),
      provider: 'sandbox',
      provider_reference: 'sb_123',
      status: 'succeeded',
      amount: 5248,
      currency: 'USD',
      amount_authorized: 5248,
      amount_captured: 5248,
      amount_refunded: 0,
      authorization_expires_at: null,
      next_action: null,
    },
    email: 'alice@example.com',
    shipping_address: {
      name: 'Alice Liddell',
      line1: '1 Main St',
      line2: null,
      city: 'Springfield',
      postal_code: '12345',
      country: 'US',
    },
    tracking: null,
    created_at: '2026-11-26T10:00:00.000Z',
    updated_at: '2026-11-26T10:00:00.000Z',
    ...overrides,
  };
}

/** What an email kind needs beyond the order (a return_requested email: its return). */
export function emailExtraFor(kind: EmailKind, order: Order): EmailExtra | undefined {
  if (kind === 'refund_issued') return { refund: { id: randomUUID(), amount: 500, currency: order.currency } };
  if (kind !== 'return_requested') return undefined;
  const at = order.updated_at;
  const item = order.items[0]!;
  const ret = {
    id: randomUUID(),
    order_id: order.id,
    status: 'requested' as const,
    items: [{ product_id: item.product_id, quantity: 1 }],
    refund_amount: item.unit_price,
    reason: null,
    note: null,
    created_at: at,
    updated_at: at,
  };
  return { return: ret };
}

export async function outboxRow(db: Kysely<Database>, id: string): Promise<OutboxRow> {
  return db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function countByStatus(db: Kysely<Database>, kind: 'email' | 'event'): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('outbox')
    .select(['status'])
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('kind', '=', kind)
    .groupBy('status')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** One email for `order` in the outbox, as a use case writes it (the domain's message, enqueueAll); its id, or null when none is owed. */
export async function enqueueEmail(trx: Db, kind: EmailKind, order: Order, extra?: EmailExtra): Promise<string | null> {
  const message = emailMessage(kind, order, extra);
  await enqueueAll(trx, [message]);
  return message?.id ?? null;
}

/** One event about `order` in the outbox, as a use case writes it; its id. */
export async function enqueueEvent(
  trx: Db,
  type: EventType,
  order: Order,
  occurredAt: Date,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const message = eventMessage(type, order, occurredAt, extra);
  await enqueueAll(trx, [message]);
  return message.id;
}
