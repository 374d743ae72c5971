import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScratch } from '../helpers/run-scratch.js';

/**
 * A throw-away certificate authority and a `localhost` certificate it signed, made by the openssl
 * CLI (Node can sign with a key but cannot build an X.509 certificate), once per process. For an
 * emulator whose provider's SDK speaks only HTTPS (Mollie): the service trusts `caFile` the way an
 * operator would trust a private CA, through NODE_EXTRA_CA_CERTS.
 */
export interface ThrowAwayTls {
  caFile: string;
  key: string;
  cert: string;
}

let made: ThrowAwayTls | undefined;

export function throwAwayTls(): ThrowAwayTls {
  if (made) return made;
  const dir = mkdtempSync(join(runScratch(), 'order-api-ca-'));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => {
    try {
      execFileSync('openssl', args, { stdio: 'pipe' });
    } catch (err) {
      throw new Error(
        `openssl ${args[0]} failed (the HTTPS emulators need the openssl CLI; Debian: apt-get install openssl): ${String(err)}`,
      );
    }
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=order-api throw-away test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  openssl('req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=localhost');
  writeFileSync(
    file('server.ext'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  );
  openssl(
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-out',
    file('server.pem'),
    '-days',
    '2',
    '-extfile',
    file('server.ext'),
  );
  made = {
    caFile: file('ca.pem'),
    key: readFileSync(file('server.key'), 'utf8'),
    cert: readFileSync(file('server.pem'), 'utf8'),
  };
  return made;
}

/**
 * This process trusts the throw-away CA as a deployment would trust a private one: named by
 * NODE_EXTRA_CA_CERTS (with whatever that named before). The service reads it when it builds its
 * Mollie client (src/payments/mollie-client.ts); Node itself read it at start-up, before the CA existed.
 */
export function trustThrowAwayCa(): void {
  const { caFile } = throwAwayTls();
  const before = process.env.NODE_EXTRA_CA_CERTS;
  if (!before || before === caFile || before.endsWith('with-throw-away-ca.pem')) {
    process.env.NODE_EXTRA_CA_CERTS = before?.endsWith('with-throw-away-ca.pem') ? before : caFile;
    return;
  }
  const both = join(mkdtempSync(join(runScratch(), 'order-api-ca-')), 'with-throw-away-ca.pem');
  writeFileSync(both, `${readFileSync(before, 'utf8')}\n${readFileSync(caFile, 'utf8')}`);
  process.env.NODE_EXTRA_CA_CERTS = both;
}
