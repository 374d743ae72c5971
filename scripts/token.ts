import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { loadConfig } from '../src/config.js';

/**
 * `npm run token -- --sub alice --email alice@example.com [--role admin] [--ttl 3600]`
 * prints an HS256 token for the configured (or development) secret.
 */
const { values } = parseArgs({
  options: {
    sub: { type: 'string' },
    email: { type: 'string' },
    role: { type: 'string', multiple: true },
    ttl: { type: 'string', default: '3600' },
  },
});
if (!values.sub) {
  console.error('usage: npm run token -- --sub <user id> [--email <address>] [--role admin] [--ttl <seconds>]');
  process.exit(2);
}
const config = loadConfig();
if (!config.jwt.secret) {
  console.error('JWT_SECRET is not set (tokens for a JWKS setup come from your identity provider)');
  process.exit(2);
}
let jwt = new SignJWT({ email: values.email, roles: values.role ?? [] })
  .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
  .setSubject(values.sub)
  .setIssuedAt()
  .setExpirationTime(`${Number(values.ttl)}s`);
if (config.jwt.issuer) jwt = jwt.setIssuer(config.jwt.issuer);
if (config.jwt.audience) jwt = jwt.setAudience(config.jwt.audience);
console.log(await jwt.sign(new TextEncoder().encode(config.jwt.secret)));
