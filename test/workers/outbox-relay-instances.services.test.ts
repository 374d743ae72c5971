import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOutboxRelay, type OutboxRelay } from '../../src/workers/outbox-relay.js';
import { claimDue } from '../../src/persistence/outbox-queue.js';
import { startHttpSink, type HttpSink } from '../helpers/outbox/http-sink.js';
import {
  countByStatus,
  enqueueEmail,
  makeOrder,
  openTestDb,
  outboxRow,
  quietLogger,
  recordingLogger,
  testConfig,
  waitFor,
  type TestDb,
} from '../helpers/outbox/fixtures.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('relay instances over one outbox (PostgreSQL)', () => {
  let t: TestDb;
  let sink: HttpSink;
  const relays: OutboxRelay[] = [];

  beforeEach(async () => {
    t = await openTestDb('postgres');
    sink = await startHttpSink();
  });
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.stop()));
    await sink.close();
    await t.close();
  });

  const enqueue = async (n: number) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push((await enqueueEmail(t.db, 'order_confirmation', makeOrder()))!);
    return ids;
  };
  const relayWith = (env: Record<string, string>, logger = quietLogger) => {
    const r = createOutboxRelay({ db: t.db, config: testConfig({ EMAIL_URL: sink.url, ...env }), logger });
    relays.push(r);
    return r;
  };
  const expectExactlyOnce = (ids: string[]) => {
    expect(sink.accepted).toHaveLength(ids.length);
    expect(new Set(sink.accepted)).toEqual(new Set(ids));
  };

  it('concurrent claims never hand the same row to two relays', async () => {
    const ids = await enqueue(300);
    const batches = await Promise.all(Array.from({ length: 12 }, () => claimDue(t.db, ['email'], 40, 60_000)));
    const claimed = batches.flat().map((r) => r.id);
    expect(claimed).toHaveLength(300);
    expect(new Set(claimed)).toEqual(new Set(ids));
  });

  it('two relays share the work and deliver every message exactly once', async () => {
    sink.respond = async () => (await sleep(Math.random() * 3), 202);
    const ids = await enqueue(300);
    const logs = [recordingLogger(), recordingLogger()];
    for (const logger of logs) relayWith({ OUTBOX_BATCH_SIZE: '10', LOG_LEVEL: 'debug' }, logger).start();
    await waitFor(async () => (await countByStatus(t.db, 'email')).delivered === 300, 'all 300 delivered', 30_000);
    expectExactlyOnce(ids);
    const deliveredBy = logs.map((l) => l.lines.filter((x) => x.msg === 'outbox message delivered').length);
    expect(deliveredBy[0]! + deliveredBy[1]!).toBe(300);
    expect(Math.min(...deliveredBy)).toBeGreaterThan(0); // both really worked
  }, 40_000);

  it('stop() during a batch lets it finish and record its outcome; a restarted relay sends the rest, nothing twice', async () => {
    sink.respond = async () => (await sleep(300), 202);
    const ids = await enqueue(25);
    const first = relayWith({ OUTBOX_BATCH_SIZE: '10' });
    first.start();
    await waitFor(() => sink.started >= 10, 'the first batch in flight');
    const stopped = Date.now();
    await first.stop();
    expect(Date.now() - stopped).toBeGreaterThanOrEqual(150); // it waited for the batch
    // Everything the stopped relay claimed is recorded: nothing is left under its lease.
    const rows = await Promise.all(ids.map((id) => outboxRow(t.db, id)));
    const leased = rows.filter((r) => r.status === 'pending' && r.attempts > 0);
    expect(leased).toEqual([]);
    const done = rows.filter((r) => r.status === 'delivered').length;
    expect(done).toBeGreaterThanOrEqual(10);
    expect(done).toBeLessThan(25);

    relayWith({ OUTBOX_BATCH_SIZE: '10' }).start();
    await waitFor(async () => (await countByStatus(t.db, 'email')).delivered === 25, 'the rest after restart');
    expectExactlyOnce(ids);
  });

  it('a relay process killed mid-batch loses nothing: its rows come back when the lease ends', async () => {
    const ids = await enqueue(8);
    let killed = false;
    // The killed process's requests hang forever, as if it died before hearing back.
    sink.respond = () => (killed ? 202 : 'hang');
    const child = spawnRelayMain(t.url, sink.url);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise((r) => child.on('exit', r));
    try {
      await waitFor(() => sink.started >= 8 || child.exitCode !== null, 'the child relay mid-batch', 20_000);
      expect(stderr).toBe('');
    } finally {
      child.kill('SIGKILL');
      killed = true;
      await exited;
    }
    const killedAt = Date.now();

    const leased = await Promise.all(ids.map((id) => outboxRow(t.db, id)));
    for (const r of leased) expect(r).toMatchObject({ status: 'pending', attempts: 1 });
    expect(sink.accepted).toEqual([]);

    relayWith({}).start();
    await waitFor(
      async () => (await countByStatus(t.db, 'email')).delivered === 8,
      'redelivery after the lease',
      20_000,
    );
    expect(Date.now() - killedAt).toBeGreaterThan(4_000); // not before the lease ran out
    expectExactlyOnce(ids);
    for (const id of ids) expect((await outboxRow(t.db, id)).attempts).toBe(2);
  }, 40_000);

  it('npm run relay: on SIGTERM it finishes the batch in flight, records it and exits 0', async () => {
    const ids = await enqueue(8);
    sink.respond = async () => (await sleep(400), 202);
    const child = spawnRelayMain(t.url, sink.url);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await waitFor(() => sink.started >= 8 || child.exitCode !== null, 'the child relay mid-batch', 20_000);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
    expect((await countByStatus(t.db, 'email')).delivered).toBe(8);
    expectExactlyOnce(ids);
  }, 30_000);
});

/** `npm run relay`'s entry in a child process. */
function spawnRelayMain(databaseUrl: string, emailUrl: string) {
  // tsx as a loader in this one process: tsx's CLI would run the relay in a grandchild that a SIGKILL misses.
  return spawn(process.execPath, ['--import', 'tsx', 'src/workers/relay-main.ts'], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      JWT_SECRET: 'x'.repeat(32),
      DATABASE_URL: databaseUrl,
      EMAIL_URL: emailUrl,
      OUTBOX_DELIVERY_TIMEOUT_MS: '1000', // lease = 2 × 1 s + 5 s
      OUTBOX_BATCH_SIZE: '8',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}
