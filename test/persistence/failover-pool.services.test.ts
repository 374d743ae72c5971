import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb, type DbHandle } from '../../src/persistence/db.js';
import { FailoverPool, NoSuitableHostError } from '../../src/persistence/failover-pool.js';
import { PG_URL } from '../helpers/db.js';

/**
 * Host selection in the pool factory against the machine's PostgreSQL: a port nobody listens on
 * stands for a lost host, and a session forced read-only for a standby.
 */
const live = new URL(PG_URL);
const DEAD = '127.0.0.1:1';
const multi = (hosts: string[], attrs?: string) =>
  `postgres://${live.username}@${hosts.join(',')}${live.pathname}${attrs ? `?target_session_attrs=${attrs}` : ''}`;
const readOnlyUrl = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent('-c default_transaction_read_only=on')}`;

describe('the pool follows the host that qualifies', () => {
  const handles: DbHandle[] = [];
  const open = async (url: string) => {
    const h = await createDb({ url, poolSize: 2, statementTimeoutMs: 5_000 });
    handles.push(h);
    return h.db;
  };
  afterAll(async () => Promise.all(handles.map((h) => h.close())));

  it('skips a host that refuses connections, in the order given', async () => {
    const db = await open(multi([DEAD, live.host], 'read-write'));
    const { rows } = await sql<{ port: number }>`select inet_server_port() as port`.execute(db);
    expect(String(rows[0]!.port)).toBe(live.port || '5432');
  });

  it('with no host answering, fails at once with SQLSTATE 08001 (the HTTP layer answers 503)', async () => {
    const db = await open(multi([DEAD, '127.0.0.1:2'], 'read-write'));
    const started = Date.now();
    const err = await sql`select 1`.execute(db).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NoSuitableHostError);
    expect(err).toMatchObject({ code: '08001', message: expect.stringMatching(/127\.0\.0\.1:1: .*127\.0\.0\.1:2: /) });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('read-write skips a read-only server; read-only and any take the first that answers', async () => {
    const pools: FailoverPool[] = [];
    const pool = (attrs: 'read-write' | 'read-only' | 'any') => {
      const p = new FailoverPool({
        hosts: [
          { address: 'standby', url: readOnlyUrl },
          { address: 'primary', url: PG_URL },
        ],
        targetSessionAttrs: attrs,
        createPool: (url) => new pg.Pool({ connectionString: url, max: 2 }),
      });
      pools.push(p);
      return p;
    };
    try {
      for (const [attrs, host] of [
        ['read-write', 'primary'],
        ['read-only', 'standby'],
        ['any', 'standby'],
      ] as const) {
        const p = pool(attrs);
        const client = await p.connect();
        client.release();
        expect([attrs, p.currentHost]).toEqual([attrs, host]);
      }
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('a connection that finds its server read-only is dropped and the next acquire looks again', async () => {
    const p = new FailoverPool({
      hosts: [{ address: 'primary', url: PG_URL }],
      targetSessionAttrs: 'read-write',
      createPool: (url) => new pg.Pool({ connectionString: url, max: 1 }),
    });
    try {
      const client = (await p.connect()) as unknown as { query: (q: string) => Promise<unknown>; release: () => void };
      await client.query('set default_transaction_read_only = on');
      await expect(client.query('create temporary table demoted (x int)')).rejects.toMatchObject({ code: '25006' });
      client.release();
      expect(p.currentHost).toBeUndefined();
      // The read-only session was not returned to the pool: the next one is a fresh, writable connection.
      const next = (await p.connect()) as unknown as {
        query: (q: string) => Promise<{ rows: { ro: string }[] }>;
        release: () => void;
      };
      const { rows } = await next.query("select current_setting('transaction_read_only') as ro");
      next.release();
      expect(rows[0]!.ro).toBe('off');
      expect(p.currentHost).toBe('primary');
    } finally {
      await p.end();
    }
  });
});
