import { Client, Environment } from '@paypal/paypal-server-sdk';
import { Agent } from 'node:https';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Config } from '../config.js';
import { sdkTimeouts, type ProviderOptions } from './options.js';

/**
 * The PayPal SDK client, shared by the provider and webhook verification.
 *
 * The SDK only knows PayPal's two hosts. PAYPAL_API_BASE naming either picks
 * that environment; naming anything else (a local emulator) keeps the SDK on
 * the sandbox URL but gives it an https agent whose sockets dial that address
 * instead, so every byte goes there and none to PayPal.
 */
export type PayPalSettings = NonNullable<Config['paypal']>;

const LIVE_HOST = 'api-m.paypal.com';
const SANDBOX_HOST = 'api-m.sandbox.paypal.com';
/** Seconds; the SDK doubles it on every retry. */
const RETRY_INTERVAL_S = 0.5;

export function createPayPalClient(settings: PayPalSettings, options: ProviderOptions = {}): Client {
  const { timeoutMs, maxRetries } = sdkTimeouts(options);
  const base = settings.apiBase ? new URL(settings.apiBase) : null;
  const live = base ? base.hostname === LIVE_HOST : options.production === true;
  const redirect = base !== null && base.hostname !== LIVE_HOST && base.hostname !== SANDBOX_HOST ? base : null;
  return new Client({
    environment: live ? Environment.Production : Environment.Sandbox,
    timeout: timeoutMs, // the SDK's default is 0: wait forever
    clientCredentialsAuthCredentials: { oAuthClientId: settings.clientId, oAuthClientSecret: settings.clientSecret },
    httpClientOptions: {
      timeout: timeoutMs,
      retryConfig: {
        maxNumberOfRetries: maxRetries,
        retryOnTimeout: true,
        retryInterval: RETRY_INTERVAL_S,
        backoffFactor: 2,
        // Total wait the SDK may spend between attempts (0, its default, disables retries).
        maximumRetryWaitTime: RETRY_INTERVAL_S * (2 ** maxRetries - 1) + 1,
        httpStatusCodesToRetry: [408, 429, 500, 502, 503, 504],
        // POST is safe to retry here: every POST we make carries a PayPal-Request-Id
        // (captures, refunds) or is the OAuth token request, which moves no money.
        httpMethodsToRetry: ['GET', 'POST'],
      },
      ...(redirect && { httpsAgent: redirectingAgent(redirect) }),
    },
    // No HTTPS_PROXY detour for an emulator address: the agent alone decides where bytes go.
    ...(redirect && { unstable_httpClientOptions: { proxy: false } }),
  });
}

function redirectingAgent(target: URL): Agent {
  const host = target.hostname;
  const port = Number(target.port || (target.protocol === 'https:' ? 443 : 80));
  const agent = new Agent({ keepAlive: false });
  agent.createConnection = () => (target.protocol === 'https:' ? tlsConnect({ host, port, servername: host }) : netConnect({ host, port }));
  return agent;
}
