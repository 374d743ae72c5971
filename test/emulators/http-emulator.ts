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

type FaultKind = 'fail' | 'hang' | 'hang-after';

interface Fault {
  kind: FaultKind;
  status: number;
  match: RegExp | undefined;
}

/**
 * What a provider holds for one payment, the same shape for every emulator, so a reader outside
 * this process (the soak's audit) can compare it with our ledger without knowing the provider.
 * `transactionId` is our transaction id as the provider knows it (metadata, reference id, request
 * id); `ledgerId` is the ledger row a capture or refund was made for (its metadata or key), null
 * for what was done at the provider (a dashboard refund) or by the charge itself.
 */
export interface ProviderPayment {
  id: string;
  transactionId: string | null;
  currency: string;
  /** Authorized and not yet captured nor released. */
  held: number;
  captured: number;
  captures: { id: string; amount: number; ledgerId: string | null }[];
  refunds: { id: string; amount: number; status: 'succeeded' | 'pending' | 'failed'; ledgerId: string | null }[];
}

/** Where the control endpoints live on every emulator: never a path of a real provider. */
const CONTROL = '/__emulator/';

/** A request a `hang` fault holds unanswered, with the client's port (to tell which process sent it). */
export interface HeldRequest {
  method: string;
  path: string;
  remotePort: number;
}

export class HttpEmulator {
  readonly requests: RecordedRequest[] = [];
  private readonly held = new Set<HeldRequest>();
  private readonly server: Server;
  private readonly faults: Fault[] = [];
  private outage: { kind: FaultKind; status: number; until: number } | null = null;
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

  /** For `ms` milliseconds every request meets `kind` (a provider outage rather than one bad answer). */
  startOutage(kind: FaultKind, ms: number, status = 500): void {
    this.outage = { kind, status, until: Date.now() + ms };
  }

  /** Forget knobs and the request log between tests (state such as payments is the subclass's). */
  resetFaults(): void {
    this.faults.length = 0;
    this.requests.length = 0;
    this.outage = null;
  }

  /** Every payment this provider holds, in the shape every emulator shares (see ProviderPayment). */
  protected records(): ProviderPayment[] {
    return [];
  }

  private takeFault(target: string): Fault | undefined {
    if (this.outage && Date.now() < this.outage.until)
      return { kind: this.outage.kind, status: this.outage.status, match: undefined };
    const i = this.faults.findIndex((f) => !f.match || f.match.test(target));
    return i === -1 ? undefined : this.faults.splice(i, 1)[0];
  }

  /**
   * The emulator's own endpoints, for a driver in another process (or one that must not share our
   * objects, like the soak's audit): `GET records`, `POST outage {kind, ms, status?}`,
   * `POST faults {kind, n, status?, match?}` (`match`: a RegExp source for `METHOD /path`), `GET held`
   * (the requests a hang holds now), `POST reset`. Never recorded, never faulted.
   */
  private control(method: string, name: string, body: string): Reply {
    const input = (body ? JSON.parse(body) : {}) as {
      kind?: FaultKind;
      ms?: number;
      n?: number;
      status?: number;
      match?: string;
    };
    const kinds: FaultKind[] = ['fail', 'hang', 'hang-after'];
    if (method === 'GET' && name === 'records') return { status: 200, body: { payments: this.records() } };
    if (method === 'GET' && name === 'held') return { status: 200, body: { held: [...this.held] } };
    if (method === 'POST' && name === 'reset') {
      this.faults.length = 0;
      this.outage = null;
      return { status: 204, body: '' };
    }
    if (method === 'POST' && (name === 'outage' || name === 'faults') && input.kind && kinds.includes(input.kind)) {
      if (name === 'outage') this.startOutage(input.kind, input.ms ?? 1000, input.status);
      else
        for (let i = 0; i < (input.n ?? 1); i++)
          this.faults.push({
            kind: input.kind,
            status: input.status ?? 500,
            match: input.match === undefined ? undefined : new RegExp(input.match),
          });
      return { status: 204, body: '' };
    }
    return { status: 404, body: { error: `no control endpoint ${method} ${name}` } };
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://emulator');
    if (url.pathname.startsWith(CONTROL)) {
      try {
        return send(
          res,
          this.control(req.method ?? 'GET', url.pathname.slice(CONTROL.length), Buffer.concat(chunks).toString('utf8')),
        );
      } catch (err) {
        return send(res, { status: 400, body: { error: String(err) } });
      }
    }
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    this.requests.push(recorded);

    const fault = this.takeFault(`${recorded.method} ${url.pathname}`);
    if (fault?.kind === 'hang') {
      const held = { method: recorded.method, path: url.pathname, remotePort: req.socket.remotePort ?? 0 };
      this.held.add(held);
      req.socket.once('close', () => this.held.delete(held));
      return;
    }
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
  const text =
    typeof reply.body === 'string'
      ? reply.body
      : JSON.stringify(reply.body, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v));
  res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
  res.end(text);
}

/** Stable JSON of a request's parameters, to tell "same request again" from "same key, other request". */
export function fingerprint(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

/** Ids that look like the provider's and never collide inside one emulator. */
export function idFactory(): (prefix: string) => string {
  let n = 0;
  return (prefix) => `${prefix}${(++n).toString(36).padStart(6, '0')}${Math.random().toString(36).slice(2, 10)}`;
}
