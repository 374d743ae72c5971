import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { JSONWebKeySet, JWK } from 'jose';

/** The development provider's signing keys: private ones for it, public ones for the API's verifier. */
export interface DevIdpKeys {
  private: JWK[];
  public: JSONWebKeySet;
}

/**
 * One ES256 key, made once and kept in ./data beside the development JWT secret (so tokens and
 * sessions outlive a restart of `npm start`), or in memory for a memory:// database.
 */
export function loadDevIdpKeys(file: string | null): DevIdpKeys {
  const keys = file ? (readKeys(file) ?? saveKeys(file, [newKey()])) : [newKey()];
  return {
    private: keys,
    public: { keys: keys.map(({ kty, crv, x, y, kid, alg, use }) => ({ kty, crv, x, y, kid, alg, use })) },
  };
}

function newKey(): JWK {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...(privateKey.export({ format: 'jwk' }) as JWK), kid: randomUUID(), alg: 'ES256', use: 'sig' };
}

function readKeys(file: string): JWK[] | null {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { keys: JWK[] }).keys : null;
}

function saveKeys(file: string, keys: JWK[]): JWK[] {
  mkdirSync(dirname(file), { recursive: true });
  try {
    writeFileSync(file, JSON.stringify({ keys }) + '\n', { mode: 0o600, flag: 'wx' });
    return keys;
  } catch (err) {
    // Another process made them first: theirs are the keys.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readKeys(file) as JWK[];
    throw err;
  }
}
