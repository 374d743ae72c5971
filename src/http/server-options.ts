import { readFileSync } from 'node:fs';
import type { SecureServerOptions } from 'node:http2';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { FastifyHttpOptions, RawServerDefault } from 'fastify';
import type { Config } from '../config.js';

/**
 * What the listening server needs from the configuration: TLS (and HTTP/2 over it), the socket
 * timeouts and the header/path limits. buildApp spreads this into Fastify's options, so tests that
 * build the app from a config get exactly the server that production runs.
 */
interface ListenOptions {
  connectionTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  http2SessionTimeout: number;
  routerOptions: { maxParamLength: number };
  http?: { maxHeaderSize: number; connectionsCheckingInterval: number };
  https?: HttpsServerOptions | SecureServerOptions;
  http2?: true;
}

/**
 * Typed as HTTP/1 options on purpose: with HTTP2=true Fastify serves through node:http2's
 * compatibility API (with allowHTTP1), whose request and reply have the shape our routes use, so the
 * app keeps one type whichever way it listens. `listenOptions` keeps the precise type for tests.
 */
export function serverOptions(config: Readonly<Config>): FastifyHttpOptions<RawServerDefault> {
  return listenOptions(config) as FastifyHttpOptions<RawServerDefault>;
}

function listenOptions(config: Readonly<Config>): ListenOptions {
  const { http } = config;
  const base = {
    // Idle sockets (slow clients, stuck peers) are cut; a request must arrive whole within its timeout
    // (Fastify's default of 0 would switch off Node's own slowloris guard).
    connectionTimeout: http.connectionTimeoutMs,
    requestTimeout: http.requestTimeoutMs,
    // Longer than the load balancer's idle upstream timeout, so the balancer closes first and never
    // sends a request on a connection we are closing (nginx: keepalive_timeout 60s in deploy/nginx).
    keepAliveTimeout: http.keepAliveTimeoutMs,
    http2SessionTimeout: http.keepAliveTimeoutMs,
    routerOptions: { maxParamLength: http.maxParamLength },
  };
  // Node checks request timeouts on this interval (30 s by default), so a short timeout needs a short one.
  const connectionsCheckingInterval = Math.min(30_000, Math.max(250, Math.floor(http.requestTimeoutMs / 2) || 30_000));
  if (!config.tls) return { ...base, http: { maxHeaderSize: http.maxHeaderSize, connectionsCheckingInterval } };

  const tls = {
    cert: readFileSync(config.tls.certFile),
    key: readFileSync(config.tls.keyFile),
    minVersion: 'TLSv1.2' as const,
    maxHeaderSize: http.maxHeaderSize,
    connectionsCheckingInterval,
  };
  if (!config.http2) return { ...base, https: tls };
  // HTTP/2 with ALPN fallback: clients that only speak HTTP/1.1 (curl --http1.1, health probes) still work.
  return {
    ...base,
    http2: true,
    https: { ...tls, allowHTTP1: true, settings: { maxHeaderListSize: http.maxHeaderSize } },
  };
}
