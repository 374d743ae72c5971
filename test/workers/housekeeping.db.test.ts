import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHousekeeping } from '../../src/workers/housekeeping.js';
import { deleteDeliveredBefore } from '../../src/persistence/outbox-queue.js';
import { DATABASES } from '../helpers/db.js';
import { openTestDb, recordingLogger, waitFor, type TestDb } from '../helpers/outbox/fixtures.js';

/**
 * Outbox retention in the housekeeping worker: delivered rows go once their
 * delivery is older than the retention; younger delivered, pending and dead
 * rows stay. Ages are set relative to the database's own now(), which is what
 * the delete compares with.
 */
describe.each(DATABASES)('outbox retention on %s', (kind) => {
  let t: TestDb;

  beforeAll(async () => {
    t = await openTestDb(kind);
  });
  afterAll(async () => {
    await t?.close();
  });
  beforeEach(async () => {
    await t.db.deleteFrom('outbox').execute();
  });

  /** A row in the given state; `createdHoursAgo` / `deliveredHoursAgo` are relative to the database clock. */
  async function row(
    status: 'pending' | 'delivered' | 'dead',
    opts: { createdHoursAgo?: number; deliveredHoursAgo?: number } = {},
  ): Promise<string> {
    const id = randomUUID();
    const ago = (h: number) => sql<Date>`now() - ${h}::int * interval '1 hour'`;
    await t.db
      .insertInto('outbox')
      .values({
        id,
        kind: 'email',
        topic: 'order_confirmation',
        payload: JSON.stringify({ id }),
        status,
        attempts: status === 'pending' ? 0 : 3,
        last_error: status === 'dead' ? 'HTTP 503' : null,
        created_at: ago(opts.createdHoursAgo ?? opts.deliveredHoursAgo ?? 0),
        next_attempt_at: ago(opts.createdHoursAgo ?? 0),
        delivered_at: opts.deliveredHoursAgo === undefined ? null : ago(opts.deliveredHoursAgo),
      })
      .execute();
    return id;
  }

  const remaining = async () => new Set((await t.db.selectFrom('outbox').select('id').execute()).map((r) => r.id));

  it('the worker deletes delivered rows past the retention and keeps younger delivered, pending and dead rows; it logs the count', async () => {
    const old1 = await row('delivered', { deliveredHoursAgo: 200 });
    const old2 = await row('delivered', { deliveredHoursAgo: 169 });
    const young = await row('delivered', { deliveredHoursAgo: 167 });
    // created long ago, delivered recently (after an outage): retention counts from delivery
    const lateDelivery = await row('delivered', { createdHoursAgo: 500, deliveredHoursAgo: 2 });
    const oldPending = await row('pending', { createdHoursAgo: 500 });
    const oldDead = await row('dead', { createdHoursAgo: 1000 });
    // The relay never gives a dead row a delivered_at; if one had it, the status still keeps it.
    const deadWithDeliveredAt = await row('dead', { createdHoursAgo: 1000, deliveredHoursAgo: 900 });

    const logger = recordingLogger();
    const hk = startHousekeeping({ db: t.db, logger }, { outboxRetentionHours: 168, intervalMs: 3_600_000 });
    try {
      await waitFor(
        () => logger.lines.some((l) => l.msg === 'delivered outbox messages removed'),
        'the retention log line',
      );
    } finally {
      await hk.stop();
    }

    expect(await remaining()).toEqual(new Set([young, lateDelivery, oldPending, oldDead, deadWithDeliveredAt]));
    for (const id of [old1, old2]) expect((await remaining()).has(id)).toBe(false);
    const line = logger.lines.find((l) => l.msg === 'delivered outbox messages removed')!;
    expect(line.level).toBe('info');
    expect(line.obj).toMatchObject({ deleted: 2, retention_hours: 168 });
    expect(logger.lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('a shorter retention reaches younger delivered rows, and still never dead ones', async () => {
    const delivered3h = await row('delivered', { deliveredHoursAgo: 3 });
    const deliveredNow = await row('delivered', { deliveredHoursAgo: 0 });
    const dead = await row('dead', { createdHoursAgo: 10_000 });

    expect(await deleteDeliveredBefore(t.db, 2)).toEqual({ deleted: 1, batches: 1 });
    expect(await remaining()).toEqual(new Set([deliveredNow, dead]));
    expect((await remaining()).has(delivered3h)).toBe(false);
  });

  it('deletes a backlog larger than one batch, one bounded statement after another', async () => {
    const keep = [
      await row('delivered', { deliveredHoursAgo: 1 }),
      await row('pending'),
      await row('dead', { createdHoursAgo: 400 }),
    ];
    for (let i = 0; i < 7; i++) await row('delivered', { deliveredHoursAgo: 200 + i });

    // 7 old rows by 3: batches of 3, 3 and 1 (the short one ends the loop)
    expect(await deleteDeliveredBefore(t.db, 168, { batchSize: 3 })).toEqual({ deleted: 7, batches: 3 });
    expect(await remaining()).toEqual(new Set(keep));

    // a second pass finds nothing: one statement, nothing deleted
    expect(await deleteDeliveredBefore(t.db, 168, { batchSize: 3 })).toEqual({ deleted: 0, batches: 1 });
  });

  it('through the worker with a small batch size: the whole backlog goes in one run, and the log counts the batches', async () => {
    for (let i = 0; i < 5; i++) await row('delivered', { deliveredHoursAgo: 300 });
    const logger = recordingLogger();
    const hk = startHousekeeping(
      { db: t.db, logger },
      { outboxRetentionHours: 168, outboxBatchSize: 2, intervalMs: 3_600_000 },
    );
    try {
      await waitFor(
        () => logger.lines.some((l) => l.msg === 'delivered outbox messages removed'),
        'the retention log line',
      );
    } finally {
      await hk.stop();
    }
    expect((await remaining()).size).toBe(0);
    expect(logger.lines.find((l) => l.msg === 'delivered outbox messages removed')!.obj).toMatchObject({
      deleted: 5,
      batches: 3,
    });
  });

  it('stop() returns once the run in flight is over; no batch starts after it', async () => {
    for (let i = 0; i < 6; i++) await row('delivered', { deliveredHoursAgo: 300 });
    const logger = recordingLogger();
    const hk = startHousekeeping({ db: t.db, logger }, { outboxRetentionHours: 168, outboxBatchSize: 1 });
    await hk.stop();
    const left = (await remaining()).size;
    await new Promise((r) => setTimeout(r, 200));
    expect((await remaining()).size).toBe(left);
    expect(logger.lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('with nothing past the retention, one statement deletes nothing', async () => {
    const young = await row('delivered', { deliveredHoursAgo: 1 });
    expect(await deleteDeliveredBefore(t.db, 168)).toEqual({ deleted: 0, batches: 1 });
    expect(await remaining()).toEqual(new Set([young]));
  });
});
