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
/**
 * The SDK's own retries are off. Its retry loop (@apimatic/core) sees every error answer as a
 * timeout: with `retryOnTimeout` it sent each decline and each 404 twice, half a second apart;
 * without it, it retried nothing, 5xx included. `paypalCall` (paypal-errors.ts) retries instead,
 * only what can succeed the second time, this many times per call.
 */
const RETRIES = new WeakMap<Client, number>();

export function retriesOf(client: Client): number {
  return RETRIES.get(client) ?? 0;
}

export function createPayPalClient(settings: PayPalSettings, options: ProviderOptions = {}): Client {
  const { timeoutMs, maxRetries } = sdkTimeouts(options);
  const base = settings.apiBase ? new URL(settings.apiBase) : null;
  const live = base ? base.hostname === LIVE_HOST : options.production === true;
  const redirect = base !== null && base.hostname !== LIVE_HOST && base.hostname !== SANDBOX_HOST ? base : null;
  const client = new Client({
    environment: live ? Environment.Production : Environment.Sandbox,
    timeout: timeoutMs, // the SDK's default is 0: wait forever
    clientCredentialsAuthCredentials: { oAuthClientId: settings.clientId, oAuthClientSecret: settings.clientSecret },
    httpClientOptions: {
      timeout: timeoutMs,
      retryConfig: { maxNumberOfRetries: 0 },
      ...(redirect && { httpsAgent: redirectingAgent(redirect) }),
    },
    // No HTTPS_PROXY detour for an emulator address: the agent alone decides where bytes go.
    ...(redirect && { unstable_httpClientOptions: { proxy: false } }),
  });
  RETRIES.set(client, maxRetries);
  return client;
}

function redirectingAgent(target: URL): Agent {
  const host = target.hostname;
  const port = Number(target.port || (target.protocol === 'https:' ? 443 : 80));
  const agent = new Agent({ keepAlive: false });
  agent.createConnection = () =>
    target.protocol === 'https:' ? tlsConnect({ host, port, servername: host }) : netConnect({ host, port });
  return agent;
}
