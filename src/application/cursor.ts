import { createHash } from 'node:crypto';
import { errors } from '../domain/errors.js';

/**
 * Opaque keyset cursors: base64url of an 8-byte checksum followed by a small
 * tagged JSON array. Decoding is strict (canonical base64url, checksum, tag,
 * shapes), so a garbled or edited cursor is `invalid_cursor` rather than a
 * silently different page. The checksum is not a secret: a cursor only
 * positions a page inside the caller's own results, so forging one gains
 * nothing; it is there so that any string the service did not issue is refused.
 */
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PRODUCT_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export interface OrderCursor {
  created_at: string;
  id: string;
}

const CHECK_BYTES = 8;
const checksum = (json: Buffer) =>
  createHash('sha256').update('order-api cursor\n').update(json).digest().subarray(0, CHECK_BYTES);

function encode(parts: string[]): string {
  const json = Buffer.from(JSON.stringify(parts));
  return Buffer.concat([checksum(json), json]).toString('base64url');
}

/** Longer than any cursor the service issues: refused before any decoding work. */
export const MAX_CURSOR_LENGTH = 512;

function decode(cursor: string, tag: string, length: number): string[] {
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw errors.invalidCursor();
  const raw = Buffer.from(cursor, 'base64url');
  // Canonical only: base64url ignores some bits of the last character, which would let two strings decode alike.
  if (raw.length <= CHECK_BYTES || raw.toString('base64url') !== cursor) throw errors.invalidCursor();
  const json = raw.subarray(CHECK_BYTES);
  if (!checksum(json).equals(raw.subarray(0, CHECK_BYTES))) throw errors.invalidCursor();
  let parts: unknown;
  try {
    parts = JSON.parse(json.toString('utf8'));
  } catch {
    throw errors.invalidCursor();
  }
  if (
    !Array.isArray(parts) ||
    parts.length !== length ||
    parts[0] !== tag ||
    !parts.every((p) => typeof p === 'string')
  ) {
    throw errors.invalidCursor();
  }
  return parts as string[];
}

export function encodeOrderCursor(c: OrderCursor): string {
  return encode(['o1', c.created_at, c.id]);
}

export function decodeOrderCursor(cursor: string): OrderCursor {
  const [, createdAt, id] = decode(cursor, 'o1', 3);
  if (!createdAt || !ISO.test(createdAt) || Number.isNaN(Date.parse(createdAt)) || !id || !UUID.test(id))
    throw errors.invalidCursor();
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
