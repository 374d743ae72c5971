import { isIP } from 'node:net';

/**
 * `payment.return_url`: where a provider sends the customer back. An absolute `https://` URL, or
 * `http://` on a loopback host (a developer's machine); the length is the schema's (2,048). A
 * customer's browser is sent there by a provider, so nothing else — no `javascript:`, no
 * credentials in it, no plain http across a network.
 */
export function isReturnUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  if (url.protocol === 'https:') return url.hostname !== '';
  return url.protocol === 'http:' && isLoopback(url.hostname);
}

function isLoopback(hostname: string): boolean {
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return isIP(host) === 6 && host === '::1';
}
