import { appendFileSync } from 'node:fs';
import { SignJWT } from 'jose';

/**
 * The shop's HTTP client: every request through nginx with the caller's token, timed and logged
 * (kind, status or `timeout`/`network`, start, duration). Acknowledged changes are appended to the
 * acknowledgement log, a JSON line each, that the audit reads.
 */
export interface RequestRecord {
  kind: string;
  /** ms since the run started */
  at: number;
  ms: number;
  status: number | 'timeout' | 'network' | 'soak error';
  code?: string;
  write: boolean;
}

export interface Answer {
  status: number | 'timeout' | 'network';
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export type Ack =
  | { type: 'product'; id: string; stock: number }
  | { type: 'order'; id: string; user: string; provider: string }
  | { type: 'cancel'; order_id: string; units: number | 'all' }
  | { type: 'ship'; order_id: string }
  | { type: 'refund'; order_id: string; ledger_id: string; amount: number }
  | { type: 'return'; order_id: string; return_id: string; decision: 'requested' | 'received' | 'rejected' };

export class ShopClient {
  readonly records: RequestRecord[] = [];
  private readonly key: Uint8Array;
  private readonly tokens = new Map<string, { token: string; until: number }>();

  constructor(
    readonly baseUrl: string,
    secret: string,
    private readonly ackLog: string,
    readonly t0: number,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  now(): number {
    return performance.now() - this.t0;
  }

  ack(entry: Ack): void {
    appendFileSync(this.ackLog, JSON.stringify(entry) + '\n');
  }

  async call(
    kind: string,
    sub: string,
    method: string,
    path: string,
    opts: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { authorization: `Bearer ${await this.token(sub)}`, ...opts.headers };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    return this.send(
      kind,
      method,
      path,
      headers,
      opts.body === undefined ? undefined : JSON.stringify(opts.body),
      opts.timeoutMs,
    );
  }

  /** A provider's webhook delivery: its own headers and raw body, no token. */
  webhook(provider: string, delivery: { body: string; headers: Record<string, string> }): Promise<Answer> {
    return this.send('webhook', 'POST', `/api/webhooks/${provider}`, delivery.headers, delivery.body);
  }

  private async send(
    kind: string,
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
    timeoutMs = 15_000,
  ): Promise<Answer> {
    const at = this.now();
    const write = method !== 'GET';
    let answer: Answer;
    try {
      const res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = { raw: text.slice(0, 200) };
      }
      answer = { status: res.status, body: parsed };
    } catch (err) {
      answer = { status: (err as Error).name === 'TimeoutError' ? 'timeout' : 'network', body: null };
    }
    const code = typeof answer.body?.code === 'string' ? (answer.body.code as string) : undefined;
    this.records.push({ kind, at, ms: this.now() - at, status: answer.status, ...(code && { code }), write });
    return answer;
  }

  private async token(sub: string): Promise<string> {
    const cached = this.tokens.get(sub);
    if (cached && cached.until > Date.now()) return cached.token;
    const claims = { email: `${sub}@example.com`, ...(sub === 'admin' ? { roles: ['admin'] } : {}) };
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(this.key);
    this.tokens.set(sub, { token, until: Date.now() + 5 * 60_000 });
    return token;
  }
}
