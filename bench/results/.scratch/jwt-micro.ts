import { SignJWT, jwtVerify } from 'jose';
import { createHmac } from 'node:crypto';
const secret = 'x'.repeat(43);
const key = new TextEncoder().encode(secret);
const token = await new SignJWT({ email: 'a@b.c', roles: [] }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject('100001').setIssuedAt().setExpirationTime('1h').sign(key);
const ck = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
async function bench(name: string, fn: () => Promise<unknown>, n = 20000) {
  for (let i = 0; i < 2000; i++) await fn();
  const c0 = process.cpuUsage(); const t = performance.now();
  let i = 0; await Promise.all(Array.from({ length: 32 }, async () => { while (i++ < n) await fn(); }));
  const c = process.cpuUsage(c0); const ms = performance.now() - t;
  console.log(name, (ms * 1000 / n).toFixed(1), 'µs wall/op', ((c.user + c.system) / n).toFixed(1), 'µs cpu/op');
}
const opts = { clockTolerance: 30, requiredClaims: ['sub'], algorithms: ['HS256'] };
await bench('jose Uint8Array', () => jwtVerify(token, key, opts));
await bench('jose CryptoKey', () => jwtVerify(token, ck, opts));
await bench('createHmac', async () => createHmac('sha256', key).update(token.slice(0, token.lastIndexOf('.'))).digest('base64url'));
