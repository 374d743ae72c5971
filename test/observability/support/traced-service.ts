import { randomBytes } from 'node:crypto';
import { startEmulators, type Emulators } from '../../emulators/index.js';
import { freshPgSchema } from '../../helpers/db.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../../helpers/otlp-receiver.js';
import { TEST_SECRET } from '../../helpers/app.js';
import { startServerProcess, type ServerProcess } from '../../helpers/server-process.js';
import { AMQP_URL, consumeOrderEvents, type EventConsumer } from '../../helpers/outbox/amqp.js';
import { waitFor } from '../../helpers/outbox/fixtures.js';
import { startHttpSink, type HttpSink } from '../../helpers/outbox/http-sink.js';
import { adminToken } from '../../e2e/support/service.js';

/**
 * The real service (`tsx src/server.ts`) with tracing on, exporting to an in-process OTLP
 * receiver, paying through the Stripe emulator, emailing an HTTP sink and publishing to the
 * machine's RabbitMQ; on the embedded database or on a fresh PostgreSQL schema.
 */
export interface TracedService {
  url: string;
  server: ServerProcess;
  receiver: OtlpReceiver;
  emulators: Emulators;
  sink: HttpSink;
  events: EventConsumer;
  admin: string;
  /** The spans of one trace received so far. */
  trace(traceId: string): ReceivedSpan[];
  /** Waits until the trace holds a span `match` accepts; returns it. */
  span(traceId: string, what: string, match: (s: ReceivedSpan) => boolean): Promise<ReceivedSpan>;
  stop(): Promise<void>;
}

export const SHIPPING = {
  name: 'Alice Liddell',
  line1: '1 Main St',
  line2: null,
  city: 'Springfield',
  postal_code: '12345',
  country: 'US',
};

/** A W3C traceparent of a caller's span: a new trace id and span id, sampled. */
export function callerTraceparent(): { traceparent: string; traceId: string; spanId: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceparent: `00-${traceId}-${spanId}-01`, traceId, spanId };
}

export async function startTracedService(
  database: 'pglite' | 'postgres',
  protocol: 'http/protobuf' | 'http/json' | undefined,
): Promise<TracedService> {
  const receiver = await startOtlpReceiver();
  const emulators = await startEmulators();
  const sink = await startHttpSink();
  const events = await consumeOrderEvents();
  const schema = database === 'postgres' ? await freshPgSchema() : null;
  const server = await startServerProcess(
    {
      DATABASE_URL: schema?.url ?? 'memory://',
      JWT_SECRET: TEST_SECRET,
      EMAIL_URL: sink.url,
      AMQP_URL,
      RATE_LIMIT_PER_MINUTE: '1000000',
      RATE_LIMIT_CREATE_PER_MINUTE: '1000000',
      OUTBOX_POLL_MS: '20',
      LOG_LEVEL: 'info',
      ...emulators.env,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      ...(protocol ? { OTEL_EXPORTER_OTLP_PROTOCOL: protocol } : {}),
      OTEL_BSP_SCHEDULE_DELAY: '50',
    },
    150_000,
  ); // three provider SDKs to load on a machine that may be busy
  const admin = await adminToken();
  for (const [id, name, price] of [
    ['sku_tshirt', 'T-shirt', 1999],
    ['sku_mug', 'Mug', 1250],
  ] as const) {
    const res = await fetch(`${server.url}/api/products/${id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name, price, currency: 'USD', active: true, stock: null }),
    });
    if (res.status !== 200) throw new Error(`PUT product ${id}: ${res.status} ${await res.text()}`);
  }
  const trace = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);
  return {
    url: server.url,
    server,
    receiver,
    emulators,
    sink,
    events,
    admin,
    trace,
    async span(traceId, what, match) {
      await waitFor(() => trace(traceId).some(match), `${what} in trace ${traceId}`, 15_000);
      return trace(traceId).find(match)!;
    },
    async stop() {
      await server.stop();
      await Promise.allSettled([receiver.close(), emulators.close(), sink.close(), events.close(), schema?.drop()]);
    },
  };
}
