import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import root from 'otlp-transformer-protobuf/build/src/generated/root.js';

/**
 * An OpenTelemetry collector's OTLP/HTTP trace endpoint, played on 127.0.0.1:0, for both encodings
 * the service may send (OTEL_EXPORTER_OTLP_PROTOCOL): `http/protobuf` is decoded with the protobuf
 * code generated from the official opentelemetry-proto definitions, as published by OpenTelemetry
 * in @opentelemetry/otlp-transformer up to 0.216 (installed as `otlp-transformer-protobuf`; later
 * versions only encode); `http/json` is OTLP's JSON mapping.
 */

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  /** Nanoseconds since the epoch, as a bigint: OTLP's fixed64. */
  start: bigint;
  end: bigint;
  attributes: Record<string, unknown>;
  /** OTLP's status code: 0 unset, 1 ok, 2 error. */
  status: number;
  service: string;
  scope: string;
}

export interface OtlpReceiver {
  /** The base URL, for OTEL_EXPORTER_OTLP_ENDPOINT (the exporter adds /v1/traces). */
  url: string;
  spans: ReceivedSpan[];
  /** The Content-Type of each export request received. */
  contentTypes: string[];
  close(): Promise<void>;
}

export const SPAN_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

interface Otlp {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: { scope?: { name?: string }; spans?: OtlpSpan[] }[];
  }[];
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}
interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: KeyValue[];
  status?: { code?: number };
}

type ProtoRoot = {
  opentelemetry: {
    proto: {
      collector: {
        trace: {
          v1: {
            ExportTraceServiceRequest: { decode(b: Uint8Array): unknown; toObject(m: unknown, o: object): unknown };
          };
        };
      };
    };
  };
};
const ExportTraceServiceRequest = (root as unknown as ProtoRoot).opentelemetry.proto.collector.trace.v1
  .ExportTraceServiceRequest;

/** Protobuf bytes come back as arrays of numbers (toObject's `bytes: Array`), JSON's ids as hex already. */
const hex = (v: unknown): string => (Array.isArray(v) ? Buffer.from(v as number[]).toString('hex') : String(v ?? ''));

function value(v: AnyValue | undefined): unknown {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(value);
  return undefined;
}

const attributes = (kvs: KeyValue[] | undefined): Record<string, unknown> =>
  Object.fromEntries((kvs ?? []).map((kv) => [kv.key, value(kv.value)]));

function flatten(body: Otlp): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const service = String(attributes(rs.resource?.attributes)['service.name'] ?? '');
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: s.name,
          kind: s.kind ?? 0,
          start: BigInt(s.startTimeUnixNano),
          end: BigInt(s.endTimeUnixNano),
          attributes: attributes(s.attributes),
          status: s.status?.code ?? 0,
          service,
          scope: ss.scope?.name ?? '',
        });
      }
    }
  }
  return out;
}

function decode(contentType: string, raw: Buffer): Otlp {
  if (contentType.startsWith('application/json')) return JSON.parse(raw.toString('utf8')) as Otlp;
  if (contentType.startsWith('application/x-protobuf')) {
    const message = ExportTraceServiceRequest.decode(raw);
    return ExportTraceServiceRequest.toObject(message, {
      longs: String,
      enums: Number,
      bytes: Array,
      defaults: false,
      oneofs: false,
    }) as Otlp;
  }
  throw new Error(`unexpected Content-Type ${contentType}`);
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const contentType = String(req.headers['content-type'] ?? '');
      try {
        if (req.method !== 'POST' || req.url !== '/v1/traces') throw new Error(`unexpected ${req.method} ${req.url}`);
        receiver.spans.push(...flatten(decode(contentType, Buffer.concat(chunks))));
        receiver.contentTypes.push(contentType);
        // An empty ExportTraceServiceResponse: zero bytes in protobuf, {} in JSON.
        res.writeHead(200, {
          'content-type': contentType.startsWith('application/json') ? 'application/json' : 'application/x-protobuf',
        });
        res.end(contentType.startsWith('application/json') ? '{}' : undefined);
      } catch (err) {
        res.writeHead(400).end(String(err));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const receiver: OtlpReceiver = {
    url: `http://127.0.0.1:${port}`,
    spans: [],
    contentTypes: [],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return receiver;
}
