import { errors } from '../domain/errors.js';

/**
 * Opaque keyset cursors: base64url of a small tagged JSON array. Decoding is
 * strict, so any string the service did not issue is `invalid_cursor`.
 */
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PRODUCT_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export interface OrderCursor {
  created_at: string;
  id: string;
}

function encode(parts: string[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

function decode(cursor: string, tag: string, length: number): string[] {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw errors.invalidCursor();
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw errors.invalidCursor();
  }
  if (!Array.isArray(parts) || parts.length !== length || parts[0] !== tag || !parts.every((p) => typeof p === 'string')) {
    throw errors.invalidCursor();
  }
  return parts as string[];
}

export function encodeOrderCursor(c: OrderCursor): string {
  return encode(['o1', c.created_at, c.id]);
}

export function decodeOrderCursor(cursor: string): OrderCursor {
  const [, createdAt, id] = decode(cursor, 'o1', 3);
  if (!createdAt || !ISO.test(createdAt) || Number.isNaN(Date.parse(createdAt)) || !id || !UUID.test(id)) throw errors.invalidCursor();
  return { created_at: createdAt, id };
}

export function encodeProductCursor(id: string): string {
  return encode(['p1', id]);
}

export function decodeProductCursor(cursor: string): string {
  const [, id] = decode(cursor, 'p1', 2);
  if (!id || !PRODUCT_ID.test(id)) throw errors.invalidCursor();
  return id;
}
