import { createServer, connect, type Server, type Socket } from 'node:net';
import { freePort } from '../../helpers/server-process.js';
import type { HttpSink } from '../../helpers/outbox/http-sink.js';

export type GateMode = 'up' | 'hang' | 'down';

/**
 * A TCP gate in front of the HTTP email sink, on a port of its own that the
 * service is configured with (EMAIL_URL), so the email service can be:
 * - `up`: connections are passed through to the sink;
 * - `hang`: connections are accepted and then nothing is read or answered, ever;
 * - `down`: nothing listens on the port (connection refused).
 * Changing the mode drops every open connection, keep-alive ones included, so
 * the next request sees the new mode.
 */
export interface EmailGate {
  url: string;
  mode: GateMode;
  /** Connections accepted while hanging. */
  hung: number;
  set(mode: GateMode): Promise<void>;
  close(): Promise<void>;
}

export async function startEmailGate(sink: HttpSink, initial: GateMode = 'up'): Promise<EmailGate> {
  const target = new URL(sink.url);
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | null = null;

  const track = (s: Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };

  const listen = async (): Promise<void> => {
    const srv = createServer((client) => {
      track(client);
      if (gate.mode === 'hang') {
        gate.hung++;
        client.pause(); // accepted; never read, never answered
        return;
      }
      const upstream = connect(Number(target.port), target.hostname);
      track(upstream);
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => resolve());
    });
    server = srv;
  };

  const shut = async (): Promise<void> => {
    const srv = server;
    server = null;
    for (const s of sockets) s.destroy();
    if (srv) await new Promise<void>((resolve) => srv.close(() => resolve()));
  };

  const gate: EmailGate = {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    mode: initial,
    hung: 0,
    async set(mode) {
      gate.mode = mode;
      for (const s of sockets) s.destroy();
      if (mode === 'down') await shut();
      else if (!server) await listen();
    },
    close: shut,
  };
  if (initial !== 'down') await listen();
  return gate;
}
