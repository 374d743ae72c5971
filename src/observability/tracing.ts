/**
 * What the service asks of tracing, without loading OpenTelemetry: with no OTLP endpoint
 * configured (the default) none of its modules is ever imported, and every call below is a
 * plain call of the function it wraps. startTracing() loads the SDK (tracing-sdk.ts) and installs
 * the real implementation. docs/adr/0020-tracing.md says why it is shaped like this.
 */

/** The W3C trace context of a change, as it travels: stored beside an outbox message, sent on. */
export interface TraceHeaders {
  traceparent: string;
  tracestate: string | null;
}

type AttributeValue = string | number | boolean;

export interface SpanOptions {
  kind?: 'internal' | 'client' | 'producer' | 'consumer';
  attributes?: Record<string, AttributeValue | undefined>;
  /** Continue this stored context instead of the current one (an outbox message's). */
  parent?: TraceHeaders | null;
  /** Start a new trace even inside another span (a worker's pass). */
  root?: boolean;
  /** Only inside a trace: a statement run by a worker between passes is not a trace of its own. */
  requireParent?: boolean;
}

export interface Tracer {
  span<T>(name: string, options: SpanOptions, fn: () => Promise<T>): Promise<T>;
  current(): TraceHeaders | null;
  /** trace_id and span_id of the current span, for log lines written outside pino (createJsonLogger). */
  logFields(): { trace_id: string; span_id: string } | null;
}

export interface RunningTracing {
  /** Flushes what is buffered (bounded by the exporter's timeout) and stops. */
  shutdown(): Promise<void>;
}

let tracer: Tracer | null = null;

/** Tracing is on when an OTLP endpoint is configured (API.md, "Tracing"), unless OTEL_SDK_DISABLED. */
function tracingConfigured(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  return !!(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

/**
 * Starts the SDK when configured. Must run before pg, amqplib, ioredis, pino and fastify are
 * imported: their instrumentations patch them as they load (server.ts imports the app after this).
 */
export async function startTracing(env: NodeJS.ProcessEnv = process.env): Promise<RunningTracing | null> {
  if (!tracingConfigured(env)) return null;
  const sdk = await import('./tracing-sdk.js');
  const started = await sdk.startSdk();
  tracer = started.tracer;
  return started;
}

export function tracingActive(): boolean {
  return tracer !== null;
}

/** Runs `fn` in a span named `name`; with tracing off, just runs it. */
export function withSpan<T>(name: string, options: SpanOptions, fn: () => Promise<T>): Promise<T> {
  return tracer ? tracer.span(name, options, fn) : fn();
}

/** The current trace context, to store with an outbox message; null with tracing off or outside a trace. */
export function currentTraceHeaders(): TraceHeaders | null {
  return tracer ? tracer.current() : null;
}

export function traceLogFields(): { trace_id: string; span_id: string } | null {
  return tracer ? tracer.logFields() : null;
}
