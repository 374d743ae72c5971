import { createMollieClient } from '@mollie/api-client';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { Config } from '../config.js';
import { sdkTimeouts, type ProviderOptions } from './options.js';

export type MollieSettings = NonNullable<Config['mollie']>;

/**
 * `@mollie/api-client` speaks only HTTPS and, in 4.6, builds its one `https.Agent` inside
 * `createMollieClient` from its own pinned CA bundle: a `caCertificates` option is overwritten by
 * it, and NODE_EXTRA_CA_CERTS (which Node adds to its own store, not to that bundle) never reaches
 * it. It has no timeout either (node-fetch 2 without one waits forever). So, for the length of that
 * one synchronous call, the Agent class it constructs is ours: it trusts the process's store — Node's
 * roots plus NODE_EXTRA_CA_CERTS, as every other outbound TLS of the service does — and ends a
 * request whose socket stays silent longer than the timeout. This is the only place that does it.
 */
export type MollieClient = ReturnType<typeof createMollieClient>;

export function createMollie(settings: MollieSettings, options: ProviderOptions = {}): MollieClient {
  const { timeoutMs } = sdkTimeouts(options);
  const ca = processTrustStore();
  const LibraryAgent = https.Agent;
  class TrustingAgent extends LibraryAgent {
    constructor(agentOptions?: https.AgentOptions) {
      super({ ...agentOptions, ca });
    }
    override createConnection(
      ...args: Parameters<https.Agent['createConnection']>
    ): ReturnType<https.Agent['createConnection']> {
      const socket = super.createConnection(...args) as Socket | undefined;
      socket?.setTimeout(timeoutMs, () => socket.destroy(new Error(`mollie: no answer within ${timeoutMs} ms`)));
      return socket;
    }
  }
  const writable = https as { Agent: typeof https.Agent };
  writable.Agent = TrustingAgent;
  try {
    return createMollieClient({
      apiKey: settings.apiKey,
      ...(settings.apiBase ? { apiEndpoint: settings.apiBase } : {}),
      versionStrings: 'OrderApi/1.0',
    });
  } finally {
    writable.Agent = LibraryAgent;
  }
}

/**
 * The certificates this process trusts: Node 24's `tls.getCACertificates('default')` (its roots
 * and NODE_EXTRA_CA_CERTS as read at start-up); on older Node, its roots. The file NODE_EXTRA_CA_CERTS
 * names is read again here, so a CA named after start-up (a test's throw-away one) counts too.
 */
function processTrustStore(): string[] {
  const store = (tls as { getCACertificates?: (type: 'default') => string[] }).getCACertificates?.('default') ?? [
    ...tls.rootCertificates,
  ];
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  if (!extra) return store;
  try {
    return [...store, readFileSync(extra, 'utf8')];
  } catch {
    return store; // Node itself only warns about an unreadable file; so do we, by not trusting it
  }
}
