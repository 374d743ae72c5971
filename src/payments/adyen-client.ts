import {
  CheckoutAPI,
  Client,
  EnvironmentEnum,
  HttpClientException,
  type Config as AdyenConfig,
} from '@adyen/api-library';
import type { IRequest } from '@adyen/api-library/lib/src/typings/requestOptions.js';
import pRetry from 'p-retry';
import type { Config } from '../config.js';
import { sdkTimeouts, type ProviderOptions } from './options.js';

export type AdyenSettings = NonNullable<Config['adyen']>;

/** Answers worth asking again (with the same Idempotency-Key, so Adyen does the work once). */
const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
const RETRY_DELAY_MS = 300;

/**
 * Adyen's Checkout API through `@adyen/api-library`. The library has no base-URL option for
 * Checkout (it builds `https://checkout-test.adyen.com/v72/…`, or the LIVE host from the prefix) and
 * no retries; it does accept its own HTTP client (`new Client(config, httpClient)`). Ours sends the
 * library's request, with the library's headers (X-API-Key, Idempotency-Key), to ADYEN_API_BASE
 * when set (a local emulator) — only the origin is replaced, the versioned path stays — and bounds
 * each attempt by the timeout and retries timeouts, failed connections and 408/429/5xx.
 */
export function createAdyenCheckout(settings: AdyenSettings, options: ProviderOptions = {}): CheckoutAPI {
  const { timeoutMs, maxRetries } = sdkTimeouts(options);
  const client = new Client(
    {
      apiKey: settings.apiKey,
      environment: settings.environment === 'LIVE' ? EnvironmentEnum.LIVE : EnvironmentEnum.TEST,
      ...(settings.liveUrlPrefix ? { liveEndpointUrlPrefix: settings.liveUrlPrefix } : {}),
      connectionTimeoutMillis: timeoutMs,
      applicationName: 'order-api',
    },
    {
      request: (endpoint, json, config, _apiKeyRequired, requestOptions) =>
        send(settings.apiBase, endpoint, json, config, requestOptions, timeoutMs, maxRetries),
    },
  );
  return new CheckoutAPI(client);
}

async function send(
  apiBase: string | null,
  endpoint: string,
  json: string | Buffer,
  config: AdyenConfig,
  requestOptions: IRequest.Options | undefined,
  timeoutMs: number,
  retries: number,
): Promise<string> {
  const target = apiBase
    ? rebase(endpoint, apiBase, requestOptions?.params)
    : withParams(endpoint, requestOptions?.params);
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    Accept: 'application/json',
    'X-API-Key': config.apiKey ?? '',
    'User-Agent': `${config.applicationName ?? 'order-api'} adyen-node-api-library`,
  };
  if (requestOptions?.idempotencyKey) headers['Idempotency-Key'] = requestOptions.idempotencyKey;
  const method = requestOptions?.method ?? 'POST';
  return pRetry(
    async () => {
      const res = await fetch(target, {
        method,
        headers,
        body: method === 'GET' ? undefined : json.toString(),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const body = await res.text();
      if (res.ok) return body;
      throw exception(res.status, body);
    },
    {
      retries,
      factor: 2,
      minTimeout: RETRY_DELAY_MS,
      randomize: false,
      shouldRetry: ({ error }) => !(error instanceof HttpClientException) || RETRY_STATUSES.has(error.statusCode),
    },
  );
}

/** The library's own exception for an error answer, with Adyen's `errorCode` when the body is Adyen's ServiceError. */
function exception(statusCode: number, responseBody: string): HttpClientException {
  let apiError: { status?: number; errorCode?: string; message?: string; errorType?: string } | undefined;
  try {
    apiError = JSON.parse(responseBody) as typeof apiError;
  } catch {
    apiError = undefined;
  }
  return new HttpClientException({
    message: `HTTP Exception: ${statusCode}${apiError?.message ? `: ${apiError.message}` : ''}`,
    statusCode,
    errorCode: apiError?.errorCode,
    responseBody,
  });
}

function rebase(endpoint: string, apiBase: string, params: IRequest.Options['params']): string {
  const url = new URL(endpoint);
  return withParams(apiBase.replace(/\/+$/, '') + url.pathname + url.search, params);
}

function withParams(url: string, params: IRequest.Options['params']): string {
  if (!params || Object.keys(params).length === 0) return url;
  return `${url}${url.includes('?') ? '&' : '?'}${new URLSearchParams(params as Record<string, string>).toString()}`;
}
