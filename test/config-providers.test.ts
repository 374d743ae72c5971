import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

/** ADYEN_*, MOLLIE_* and PUBLIC_BASE_URL: a provider is off until configured, a half configuration fails at boot. */
const dataDir = mkdtempSync(join(tmpdir(), 'order-api-config-providers-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const BASE = { NODE_ENV: 'test', JWT_SECRET: 'a-test-secret-of-at-least-32-characters!', DATA_DIR: dataDir };
const ADYEN = {
  ADYEN_API_KEY: 'AQE-key',
  ADYEN_MERCHANT_ACCOUNT: 'ShopECOM',
  ADYEN_HMAC_KEY: '44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056',
};
const MOLLIE_KEY = 'test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM';

const load = (env: Record<string, string>) => loadConfig({ ...BASE, ...env });
function problemsOf(env: Record<string, string>): string[] {
  try {
    load(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected loadConfig to refuse');
}

describe('Adyen', () => {
  it('is off without configuration', () => {
    expect(load({}).adyen).toBeNull();
  });

  it('is on with the key, the merchant account and the HMAC key; TEST by default', () => {
    expect(load({ ...ADYEN, ADYEN_API_BASE: 'http://127.0.0.1:9999' }).adyen).toEqual({
      apiKey: 'AQE-key',
      merchantAccount: 'ShopECOM',
      hmacKey: ADYEN.ADYEN_HMAC_KEY,
      environment: 'TEST',
      liveUrlPrefix: null,
      apiBase: 'http://127.0.0.1:9999',
    });
  });

  it.each([
    [{ ADYEN_API_KEY: 'AQE-key' }, 'ADYEN_MERCHANT_ACCOUNT, ADYEN_HMAC_KEY'],
    [{ ADYEN_API_KEY: 'AQE-key', ADYEN_MERCHANT_ACCOUNT: 'ShopECOM' }, 'ADYEN_HMAC_KEY'],
    [{ ADYEN_HMAC_KEY: ADYEN.ADYEN_HMAC_KEY }, 'ADYEN_API_KEY, ADYEN_MERCHANT_ACCOUNT'],
    [{ ADYEN_ENVIRONMENT: 'TEST' }, 'ADYEN_API_KEY, ADYEN_MERCHANT_ACCOUNT, ADYEN_HMAC_KEY'],
  ])('a half configuration %j fails at boot, naming what is missing', (env, missing) => {
    expect(problemsOf(env)).toEqual([expect.stringContaining(`Adyen is half configured: ${missing} missing`)]);
  });

  it('refuses a HMAC key that is not hex, an unknown environment, and LIVE without its URL prefix', () => {
    expect(problemsOf({ ...ADYEN, ADYEN_HMAC_KEY: 'not-hex' })).toEqual([
      expect.stringMatching(/ADYEN_HMAC_KEY must be the hexadecimal key/),
    ]);
    expect(problemsOf({ ...ADYEN, ADYEN_ENVIRONMENT: 'PROD' })).toEqual([
      expect.stringMatching(/ADYEN_ENVIRONMENT must be TEST or LIVE/),
    ]);
    expect(problemsOf({ ...ADYEN, ADYEN_ENVIRONMENT: 'LIVE' })).toEqual([
      expect.stringMatching(/ADYEN_LIVE_URL_PREFIX/),
    ]);
    expect(
      load({ ...ADYEN, ADYEN_ENVIRONMENT: 'LIVE', ADYEN_LIVE_URL_PREFIX: '1797a841fbb37ca7-AdyenDemo' }).adyen,
    ).toMatchObject({
      environment: 'LIVE',
      liveUrlPrefix: '1797a841fbb37ca7-AdyenDemo',
    });
  });
});

describe('Mollie', () => {
  it('is off without configuration, on with its API key', () => {
    expect(load({}).mollie).toBeNull();
    expect(load({ MOLLIE_API_KEY: MOLLIE_KEY }).mollie).toEqual({ apiKey: MOLLIE_KEY, apiBase: null });
    expect(load({ MOLLIE_API_KEY: MOLLIE_KEY, MOLLIE_API_BASE: 'https://localhost:8443/v2/' }).mollie).toEqual({
      apiKey: MOLLIE_KEY,
      apiBase: 'https://localhost:8443/v2/',
    });
  });

  it('MOLLIE_API_BASE alone is a half configuration; a base that is not https:// and a key that is not Mollie’s are refused', () => {
    expect(problemsOf({ MOLLIE_API_BASE: 'https://localhost:8443/v2/' })).toEqual([
      expect.stringContaining('Mollie is half configured'),
    ]);
    expect(problemsOf({ MOLLIE_API_KEY: MOLLIE_KEY, MOLLIE_API_BASE: 'http://localhost:8080/v2/' })).toEqual([
      expect.stringMatching(/MOLLIE_API_BASE must be an https:\/\/ URL/),
    ]);
    expect(problemsOf({ MOLLIE_API_KEY: 'sk_live_123' })).toEqual([
      expect.stringMatching(/MOLLIE_API_KEY must be a Mollie API key/),
    ]);
  });
});

describe('PUBLIC_BASE_URL', () => {
  it('defaults to http://localhost:{PORT}; a trailing slash is dropped; a non-URL is refused', () => {
    expect(load({ PORT: '8123' }).publicBaseUrl).toBe('http://localhost:8123');
    expect(load({ PUBLIC_BASE_URL: 'https://shop.example.com/' }).publicBaseUrl).toBe('https://shop.example.com');
    expect(problemsOf({ PUBLIC_BASE_URL: 'shop' })).toEqual([expect.stringMatching(/PUBLIC_BASE_URL is not a URL/)]);
  });
});
