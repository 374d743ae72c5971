import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The company's email service as API.md describes it (POST JSON, any 2xx is delivered), that can be
 * taken down: while down its port refuses connections, as a crashed service's does. What it
 * received (duplicates kept) is served at `GET /records` for the audit.
 */
export interface EmailSink {
  url: string;
  recordsUrl: string;
  port: number;
  /**
   * From now on an email is received (recorded) but not answered until `answer()`: its sender is
   * left mid-delivery, as when the service took it and the answer was lost. `heldPorts()` are the
   * client ports of the deliveries held now.
   */
  hold(): void;
  heldPorts(): number[];
  answer(): void;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export interface ReceivedEmail {
  id: string;
  kind: string;
  order_id: string | null;
}

export async function startEmailSink(): Promise<EmailSink> {
  const received: ReceivedEmail[] = [];
  let holding = false;
  const held = new Map<number, () => void>();
  const make = () =>
    createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/records')
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(received));
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        try {
          const mail = JSON.parse(body) as { id: unknown; kind: unknown; order_id?: unknown };
          received.push({
            id: String(mail.id),
            kind: String(mail.kind),
            order_id: typeof mail.order_id === 'string' ? mail.order_id : null,
          });
          const port = req.socket.remotePort ?? 0;
          if (!holding) return void res.writeHead(202).end();
          held.set(port, () => res.writeHead(202).end());
          req.socket.once('close', () => held.delete(port));
        } catch {
          res.writeHead(400).end();
        }
      });
    });
  let server: Server | null = make();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const down = async () => {
    if (!server) return;
    const s = server;
    server = null;
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  };
  return {
    url: `http://127.0.0.1:${port}/emails`,
    recordsUrl: `http://127.0.0.1:${port}/records`,
    port,
    hold: () => void (holding = true),
    heldPorts: () => [...held.keys()],
    answer: () => {
      holding = false;
      for (const send of held.values()) send();
      held.clear();
    },
    down,
    up: async () => {
      if (server) return;
      server = make();
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
    close: down,
  };
}
