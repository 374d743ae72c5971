import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type DbHandle } from '../../src/persistence/db.js';
import { startEmbeddedCheckpoints } from '../../src/persistence/embedded-checkpoints.js';
import type { Database } from '../../src/persistence/tables.js';
import { databaseUrlFor } from '../helpers/db.js';

const MB = 1024 * 1024;

async function walBytes(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{
    bytes: string;
  }>`select coalesce(sum(size), 0)::text as bytes from pg_ls_waldir()`.execute(db);
  return Number(rows[0]!.bytes);
}

/** About `mb` MB of WAL: rows written and rewritten. */
async function writeWal(db: Kysely<Database>, mb: number) {
  await sql`create table if not exists churn (id int primary key, v text)`.execute(db);
  for (let i = 0; i < mb / 4; i++) {
    await sql`insert into churn select g, repeat('x', 400) from generate_series(1, 8000) g on conflict (id) do update set v = excluded.v || ${String(i)}`.execute(
      db,
    );
  }
}

describe('the embedded database keeps its WAL bounded (PGlite has no checkpointer of its own)', () => {
  let bare: DbHandle;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const target = await databaseUrlFor('pglite');
    drop = target.drop;
    bare = await createDb({ url: target.url, poolSize: 1, statementTimeoutMs: 10_000, pglite: target.pglite });
  });
  afterAll(async () => {
    await bare?.close();
    await drop?.();
  });

  it('without checkpoints the WAL grows with every write; with them it stops growing', async () => {
    // The handle's own checkpointer looks every 10 s and at 16 MB: too slow to act within this test.
    const before = await walBytes(bare.db);
    await writeWal(bare.db, 32);
    const grown = await walBytes(bare.db);
    expect(grown - before).toBeGreaterThanOrEqual(16 * MB);

    const fast = startEmbeddedCheckpoints(bare.db, { everyMs: 10, walBytes: 2 * MB, maxAgeMs: 60_000 });
    const round = async () => {
      await writeWal(bare.db, 8);
      await new Promise((r) => setTimeout(r, 50));
    };
    try {
      // PostgreSQL keeps recycled segments in proportion to the WAL written between checkpoints;
      // once that settles, more writes no longer add any.
      for (let i = 0; i < 3; i++) await round();
      const settled = await walBytes(bare.db);
      for (let i = 0; i < 4; i++) await round();
      const after = await walBytes(bare.db);
      expect(
        after,
        `WAL ${settled / MB} → ${after / MB} MB over 32 MB more writes, with checkpoints`,
      ).toBeLessThanOrEqual(settled);
    } finally {
      await fast.stop();
    }
  }, 120_000);
});
