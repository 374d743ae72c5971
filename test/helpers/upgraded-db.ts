import type { Kysely } from 'kysely';
import { afterAll, beforeAll } from 'vitest';
import { createDb, type DbHandle } from '../../src/persistence/db.js';
import { migrateTo } from '../../src/persistence/migrations/index.js';
import { databaseUrlFor, type DatabaseKind } from './db.js';

/**
 * A fresh database of `kind` at migration `at`, for an upgrade test to fill the way the service of
 * that time wrote it and migrate up; closed and dropped after the file. Read `handle` and `db`
 * inside the tests (they are set by beforeAll).
 */
export function databaseAt(kind: DatabaseKind, at: string) {
  const state = {} as { handle: DbHandle; db: Kysely<unknown> };
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const target = await databaseUrlFor(kind);
    drop = target.drop;
    state.handle = await createDb({ url: target.url, poolSize: 3, statementTimeoutMs: 10_000, pglite: target.pglite });
    state.db = state.handle.db as unknown as Kysely<unknown>;
    await migrateTo(state.db, at);
  });
  afterAll(async () => {
    await state.handle?.close();
    await drop?.();
  });
  return state;
}
