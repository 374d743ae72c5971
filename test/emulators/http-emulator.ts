import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * The part every provider emulator shares: an in-process node:http server on
 * 127.0.0.1 (port 0), a request log, and fault knobs that act BEFORE the
 * provider logic runs (a load balancer failing) or AFTER it (the provider did
 * the work and the answer was lost), which is the case idempotency keys exist for.
 */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export type Handler = (req: RecordedRequest, url: URL) => Reply | Promise<Reply>;

interface Fault {
  kind: 'fail' | 'hang' | 'hang-after';
  status: number;
  match: RegExp | undefined;
}

export class HttpEmulator {
  readonly requests: RecordedRequest[] = [];
  private readonly server: Server;
  private readonly faults: Fault[] = [];
  private baseUrl = '';

  /** With `tls`, the emulator speaks HTTPS as `https://localhost:…` (a provider whose SDK speaks nothing else). */
  constructor(
    private readonly handler: Handler,
    private readonly tls?: { key: string; cert: string },
  ) {
    const serve = (req: IncomingMessage, res: ServerResponse) => void this.serve(req, res);
    this.server = tls ? createTlsServer({ key: tls.key, cert: tls.cert }, serve) : createServer(serve);
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const port = (this.server.address() as AddressInfo).port;
    this.baseUrl = this.tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`;
    return this;
  }

  get url(): string {
    return this.baseUrl;
  }

  async close(): Promise<void> {
    // Hanging requests hold their sockets open; drop them so close() returns.
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /**
   * The next `n` requests (those whose `METHOD /path` matches `match`, if given)
   * answer `status` without being processed.
   */
  failNext(n: number, status = 500, match?: RegExp): void {
    for (let i = 0; i < n; i++) this.faults.push({ kind: 'fail', status, match });
  }

  /** The next `n` requests never get an answer and are never processed (a timeout that did nothing). */
  hangNext(n: number, match?: RegExp): void {
    for (let i = 0; i < n; i++) this.faults.push({ kind: 'hang', status: 0, match });
  }

  /** The next `n` requests ARE processed, but the answer is never sent (a timeout after the money moved). */
  hangAfterNext(n: number, match?: RegExp): void {
    for (let i = 0; i < n; i++) this.faults.push({ kind: 'hang-after', status: 0, match });
  }

  /** Forget knobs and the request log between tests (state such as payments is the subclass's). */
  resetFaults(): void {
    this.faults.length = 0;
    this.requests.length = 0;
  }

  private takeFault(target: string): Fault | undefined {
    const i = this.faults.findIndex((f) => !f.match || f.match.test(target));
    return i === -1 ? undefined : this.faults.splice(i, 1)[0];
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://emulator');
    const recorded: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
    this.requests.push(recorded);

    const fault = this.takeFault(`${recorded.method} ${url.pathname}`);
    if (fault?.kind === 'hang') return;
    if (fault?.kind === 'fail') return send(res, { status: fault.status, body: { error: 'injected failure' } });
    let reply: Reply;
    try {
      reply = await this.handler(recorded, url);
    } catch (err) {
      reply = { status: 500, body: { error: String(err) } };
    }
    if (fault?.kind === 'hang-after') return;
    send(res, reply);
  }
}

function send(res: ServerResponse, reply: Reply): void {
  const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v));
  res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
  res.end(text);
}

/** Stable JSON of a request's parameters, to tell "same request again" from "same key, other request". */
export function fingerprint(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

/** Ids that look like the provider's and never collide inside one emulator. */
export function idFactory(): (prefix: string) => string {
  let n = 0;
  return (prefix) => `${prefix}${(++n).toString(36).padStart(6, '0')}${Math.random().toString(36).slice(2, 10)}`;
}
