import type pg from 'pg';
import type { HostUrl, TargetSessionAttrs } from './connection-url.js';

/**
 * A connection pool over several PostgreSQL hosts that follows the one the caller wants (libpq's
 * target_session_attrs): one pg.Pool per host, and the host currently chosen remembered, so in the
 * normal case an acquire is exactly one pg.Pool acquire. Each new physical connection is checked
 * once (one round trip: is it in recovery, is it read-only); a host that refuses connections, or a
 * connection that fails or finds the server read-only, makes the next acquire look again, in the
 * URL's order. When no host qualifies the acquire fails at once with SQLSTATE 08001, which the HTTP
 * layer answers 503 and the workers treat as an outage.
 *
 * Kysely's PostgresDialect needs only connect() and end() of a pool, and query() and release() of a
 * client, so this is all of its surface.
 */
export interface FailoverPoolOptions {
  hosts: HostUrl[];
  targetSessionAttrs: TargetSessionAttrs;
  /** Builds the pg.Pool of one host (same options for all; only the URL differs). */
  createPool: (url: string) => pg.Pool;
}

export interface FailoverPoolClient {
  query: (...args: never[]) => Promise<unknown>;
  release: (destroy?: boolean | Error) => void;
}

/** SQLSTATE 08001, sqlclient_unable_to_establish_sqlconnection: libpq's own verdict in this case. */
export class NoSuitableHostError extends Error {
  readonly code = '08001';
  constructor(want: TargetSessionAttrs, reasons: string[]) {
    super(`no PostgreSQL host accepts a ${want} session (${reasons.join('; ')})`);
    this.name = 'NoSuitableHostError';
  }
}

type Role = { recovery: boolean; readOnly: boolean };

const ACCEPTS: Record<TargetSessionAttrs, (r: Role) => boolean> = {
  any: () => true,
  'read-write': (r) => !r.readOnly,
  'read-only': (r) => r.readOnly,
  primary: (r) => !r.recovery,
  standby: (r) => r.recovery,
  'prefer-standby': (r) => r.recovery,
};

/** Errors after which this host may no longer be the one to use: the server went away, or went read-only. */
function isHostLost(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  if (
    typeof e?.code === 'string' &&
    /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|57P01|57P02|57P03|08\w{3}|25006)$/.test(e.code)
  )
    return true;
  return typeof e?.message === 'string' && /Connection terminated|Query read timeout|connection error/i.test(e.message);
}

export class FailoverPool {
  private readonly pools: pg.Pool[];
  private readonly checked = new WeakSet<pg.PoolClient>();
  private current: number | undefined;
  /** What the current host was chosen by (prefer-standby may have settled for a primary). */
  private currentAccepts: (r: Role) => boolean = ACCEPTS.any;
  private discovering: Promise<number> | undefined;

  constructor(private readonly opts: FailoverPoolOptions) {
    this.pools = opts.hosts.map((h) => opts.createPool(h.url));
  }

  /** The host in use, for logs and tests (`host:port`), or undefined while none is chosen. */
  get currentHost(): string | undefined {
    return this.current === undefined ? undefined : this.opts.hosts[this.current]!.address;
  }

  async connect(): Promise<FailoverPoolClient> {
    const known = this.current;
    if (known !== undefined) {
      try {
        return await this.acquire(known, this.currentAccepts);
      } catch (err) {
        if (!isHostLost(err) && !(err instanceof NoSuitableHostError)) throw err;
        if (this.current === known) this.current = undefined;
      }
    }
    // Concurrent acquires during a failover share one search instead of each probing every host.
    this.discovering ??= this.discover().finally(() => (this.discovering = undefined));
    const chosen = await this.discovering;
    return this.acquire(chosen, this.currentAccepts);
  }

  async end(): Promise<void> {
    await Promise.all(this.pools.map((p) => p.end()));
  }

  private async discover(): Promise<number> {
    const reasons: string[] = [];
    const passes =
      this.opts.targetSessionAttrs === 'prefer-standby'
        ? [ACCEPTS.standby, ACCEPTS.any]
        : [ACCEPTS[this.opts.targetSessionAttrs]];
    for (const accepts of passes) {
      for (let i = 0; i < this.pools.length; i++) {
        try {
          const client = await this.acquire(i, accepts);
          client.release();
          this.current = i;
          this.currentAccepts = accepts;
          return i;
        } catch (err) {
          reasons.push(`${this.opts.hosts[i]!.address}: ${(err as Error).message}`);
        }
      }
    }
    throw new NoSuitableHostError(this.opts.targetSessionAttrs, reasons);
  }

  private async acquire(i: number, accepts: (r: Role) => boolean): Promise<FailoverPoolClient> {
    const client = await this.pools[i]!.connect();
    // A connection is checked once, when new; during a search every one (it may be a long-idle one).
    if (accepts !== ACCEPTS.any && (!this.checked.has(client) || this.current !== i)) {
      let role: Role;
      try {
        role = await roleOf(client);
      } catch (err) {
        client.release(err as Error);
        throw err;
      }
      if (!accepts(role)) {
        client.release(true);
        throw new NoSuitableHostError(this.opts.targetSessionAttrs, [
          `${this.opts.hosts[i]!.address} is ${role.recovery ? 'a standby' : role.readOnly ? 'read-only' : 'read-write'}`,
        ]);
      }
      this.checked.add(client);
    }
    return this.wrap(client, i);
  }

  private wrap(client: pg.PoolClient, i: number): FailoverPoolClient {
    let lost: Error | undefined;
    return {
      query: (...args: never[]) =>
        (client.query as (...a: never[]) => Promise<unknown>)(...args).catch((err: unknown) => {
          if (isHostLost(err)) {
            lost = err as Error;
            if (this.current === i) this.current = undefined;
          }
          throw err;
        }),
      // A connection that saw its server go away or turn read-only is not handed out again.
      release: (destroy) => client.release(destroy || lost),
    };
  }
}

async function roleOf(client: pg.PoolClient): Promise<Role> {
  const { rows } = await client.query<{ recovery: boolean; read_only: string }>(
    "select pg_is_in_recovery() as recovery, current_setting('transaction_read_only') as read_only",
  );
  return { recovery: rows[0]!.recovery, readOnly: rows[0]!.read_only === 'on' };
}
