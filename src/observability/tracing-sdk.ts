import { register } from 'node:module';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import {
  context,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AmqplibInstrumentation } from '@opentelemetry/instrumentation-amqplib';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import { statementSpanName } from './statement-span.js';
import type { RunningTracing, SpanOptions, TraceHeaders, Tracer } from './tracing.js';

/** Probes and scrapes: a trace every few seconds that tells nobody anything. */
const UNTRACED_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

const pathOf = (url: string | undefined): string => (url ?? '').split('?')[0]!;
const queryNames = (url: string | undefined): string | undefined => {
  const query = url?.split('?')[1];
  return query ? [...new URLSearchParams(query).keys()].map((name) => `${name}=REDACTED`).join('&') : undefined;
};

const KINDS = {
  internal: SpanKind.INTERNAL,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
} as const;

/**
 * The OpenTelemetry SDK, loaded by startTracing() only when an OTLP endpoint is configured.
 * Everything else comes from the standard OTEL_* variables through NodeSDK: the exporter and its
 * protocol (http/protobuf by default, http/json), endpoint, headers, timeout, sampler, batch sizes,
 * resource attributes. Only traces: metrics stay Prometheus and logs stay on stdout (ADR 0020).
 */
export async function startSdk(): Promise<RunningTracing & { tracer: Tracer }> {
  // ESM imports are patched through import-in-the-middle's loader hook; in this mode it wraps only
  // the modules an instrumentation asked for (pg, amqplib, ioredis…), not every file of the app.
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);

  const sdk = new NodeSDK({
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) override this default.
    resource: defaultResource().merge(resourceFromAttributes({ 'service.name': 'order-api' })),
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      // The request's server span: it opens before Fastify routes the request, so every log line of
      // the request (Fastify's "incoming request" too) carries its trace, and it continues an
      // incoming traceparent. Fastify's instrumentation names it by the route template when the
      // response is sent (`POST /api/orders/:id`) and adds the request's and the handler's spans.
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => UNTRACED_ROUTES.has(pathOf(req.url)),
        // Parameter values can be personal (a search by email): only their names are kept.
        startIncomingSpanHook: (req) => ({ 'url.query': queryNames(req.url) }),
      }),
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        // The handler's span, not one per hook (a dozen per request): they tripled a read's CPU.
        instrumentHooks: false,
        ignorePaths: (route) => UNTRACED_ROUTES.has(pathOf(route.url)),
        requestHook: (span, request) => span.setAttribute('url.path', pathOf(request.url)),
      }),
      new UndiciInstrumentation(),
      new PgInstrumentation({
        ignoreConnectSpans: true,
        // A worker's poll between passes is not a trace of its own (one a second per relay).
        requireParentSpan: true,
        // The statements are named prepared statements (persistence/db.ts): name the span by its
        // operation, as for the embedded database, rather than by the statement's hashed name.
        requestHook: (span, { query, connection }) =>
          span.updateName(statementSpanName(query.text, connection.database)),
      }),
      new AmqplibInstrumentation(),
      new IORedisInstrumentation(),
      new PinoInstrumentation({ disableLogSending: true }),
    ],
  });
  sdk.start();
  await waitForAllMessagesAcknowledged();
  return { tracer: createTracer(), shutdown: () => sdk.shutdown() };
}

function createTracer(): Tracer {
  const tracer = trace.getTracer('order-api');
  // Stored and restored as W3C trace context whatever OTEL_PROPAGATORS says: it is our own format.
  const w3c = new W3CTraceContextPropagator();
  const getter = {
    get: (c: TraceHeaders, key: string) =>
      key === 'traceparent' ? c.traceparent : key === 'tracestate' ? (c.tracestate ?? undefined) : undefined,
    keys: () => ['traceparent', 'tracestate'],
  };

  return {
    span(name, options: SpanOptions, fn) {
      if (options.requireParent && !trace.getSpan(context.active())) return fn();
      const parent = options.parent
        ? w3c.extract(ROOT_CONTEXT, options.parent, getter)
        : options.root
          ? ROOT_CONTEXT
          : context.active();
      const attributes = Object.fromEntries(
        Object.entries(options.attributes ?? {}).filter(([, v]) => v !== undefined),
      ) as Record<string, string | number | boolean>;
      return tracer.startActiveSpan(
        name,
        { kind: KINDS[options.kind ?? 'internal'], attributes },
        parent,
        async (span: Span) => {
          try {
            return await fn();
          } catch (err) {
            // The error's type only: messages can quote what the provider or the database said.
            span.setStatus({ code: SpanStatusCode.ERROR });
            span.setAttribute('error.type', err instanceof Error ? err.name : typeof err);
            throw err;
          } finally {
            span.end();
          }
        },
      );
    },
    current() {
      const carrier: Record<string, string> = {};
      w3c.inject(context.active(), carrier, { set: (c, k, v) => void (c[k] = v) });
      return carrier.traceparent ? { traceparent: carrier.traceparent, tracestate: carrier.tracestate ?? null } : null;
    },
    logFields() {
      const sc = trace.getActiveSpan()?.spanContext();
      return sc && isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : null;
    },
  };
}
