import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SinkRequest {
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  /** The status the sink answered with. */
  status: number;
}

/**
 * The company's email service, played on 127.0.0.1:0. `respond` decides each
 * answer: a status code, or 'hang' to never answer (the relay's timeout must cut it).
 */
export interface HttpSink {
  url: string;
  requests: SinkRequest[];
  /** Requests whose body has arrived, answered or not (a hanging one counts at once). */
  started: number;
  /** Ids the sink accepted with a 2xx, in order: duplicates stay visible. */
  accepted: string[];
  respond: (req: { id: string; n: number }) => number | 'hang' | Promise<number | 'hang'>;
  close(): Promise<void>;
}

export async function startHttpSink(): Promise<HttpSink> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      sink.started++;
      const decision = await sink.respond({ id: String(body.id), n: sink.requests.length });
      if (decision === 'hang') {
        sink.requests.push({ headers: req.headers, body, status: 0 });
        return; // never answers; the socket is destroyed on close()
      }
      sink.requests.push({ headers: req.headers, body, status: decision });
      if (decision >= 200 && decision < 300) sink.accepted.push(String(body.id));
      res.writeHead(decision, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: decision < 300 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const sink: HttpSink = {
    url: `http://127.0.0.1:${port}/v1/send`,
    requests: [],
    started: 0,
    accepted: [],
    respond: () => 202,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return sink;
}
