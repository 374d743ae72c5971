import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  decodeOrderCursor,
  decodeProductCursor,
  encodeOrderCursor,
  encodeProductCursor,
} from '../../src/application/cursor.js';
import { DomainError } from '../../src/domain/errors.js';

/** Plain base64url of some JSON: what a client might guess a cursor is. */
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
/**
 * A cursor in the service's own format (checksum + JSON) around arbitrary
 * content, so the checks behind the checksum are exercised too. The first
 * test below proves this mirrors the real format.
 */
const forge = (v: unknown) => forgeRaw(JSON.stringify(v));
const forgeRaw = (text: string) => {
  const json = Buffer.from(text);
  const sum = createHash('sha256').update('order-api cursor\n').update(json).digest().subarray(0, 8);
  return Buffer.concat([sum, json]).toString('base64url');
};
const ID = '0b9f8e2a-4c1d-4e5f-8a7b-123456789abc';
const AT = '2026-11-26T10:00:00.000Z';

function expectInvalid(fn: () => unknown) {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(DomainError);
  expect((thrown as DomainError).code).toBe('invalid_cursor');
  expect((thrown as DomainError).status).toBe(422);
}

describe('order cursors', () => {
  it('the forge helper matches the issued format (so the shape cases below reach the shape checks)', () => {
    expect(forge(['o1', AT, ID])).toBe(encodeOrderCursor({ created_at: AT, id: ID }));
    expect(forge(['p1', 'sku_1'])).toBe(encodeProductCursor('sku_1'));
  });

  it.each([
    { created_at: AT, id: ID },
    { created_at: '1970-01-01T00:00:00.000Z', id: '00000000-0000-0000-0000-000000000000' },
    { created_at: '2999-12-31T23:59:59.999Z', id: 'ffffffff-ffff-ffff-ffff-ffffffffffff' },
  ])('round trip %j', (c) => {
    const s = encodeOrderCursor(c);
    expect(s).toMatch(/^[A-Za-z0-9_-]+$/); // URL-safe, opaque
    expect(decodeOrderCursor(s)).toEqual(c);
  });

  const good = encodeOrderCursor({ created_at: AT, id: ID });
  const cases: [string, string][] = [
    ['empty', ''],
    ['garbage', 'not a cursor!'],
    ['base64 of garbage', b64('hello world')],
    ['plain base64url JSON (no checksum)', b64(['o1', AT, ID])],
    ['with base64 padding', `${good}=`],
    ['standard base64 alphabet', Buffer.from(good, 'base64url').toString('base64').replace(/=+$/, '') + '+/'],
    ['truncated', good.slice(0, -3)],
    ['extended', `${good}AA`],
    ['only a checksum', good.slice(0, 11)],
    ['JSON object instead of array', b64({ tag: 'o1', created_at: AT, id: ID })],
    ['JSON object instead of array (checksummed)', forge({ tag: 'o1', created_at: AT, id: ID })],
    ['wrong tag', forge(['p1', AT, ID])],
    ['product cursor', encodeProductCursor('sku_1')],
    ['too short', forge(['o1', AT])],
    ['too long', forge(['o1', AT, ID, 'x'])],
    ['non-string part', forge(['o1', 1764151200000, ID])],
    ['bad date', forge(['o1', '2026-13-45T10:00:00.000Z', ID])],
    ['date not ISO', forge(['o1', 'yesterday', ID])],
    ['date without millis', forge(['o1', '2026-11-26T10:00:00Z', ID])],
    ['date with offset', forge(['o1', '2026-11-26T10:00:00.000+01:00', ID])],
    ['bad uuid', forge(['o1', AT, 'not-a-uuid'])],
    ['uuid with SQL', forge(['o1', AT, `${ID}' or 1=1 --`])],
    ['upper-case uuid', forge(['o1', AT, ID.toUpperCase()])],
    ['null', forge(null)],
    ['not JSON behind a valid checksum', forgeRaw('{not json')],
  ];
  it.each(cases)('%s → invalid_cursor', (_name, cursor) => {
    expectInvalid(() => decodeOrderCursor(cursor));
  });

  it('every single-character edit of an issued cursor is refused', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    let edits = 0;
    for (let i = 0; i < good.length; i++) {
      for (const ch of [
        alphabet[(alphabet.indexOf(good[i]!) + 1) % 64]!,
        alphabet[(alphabet.indexOf(good[i]!) + 17) % 64]!,
      ]) {
        const edited = good.slice(0, i) + ch + good.slice(i + 1);
        expectInvalid(() => decodeOrderCursor(edited));
        edits++;
      }
    }
    expect(edits).toBe(good.length * 2);
  });
});

describe('product cursors', () => {
  it.each(['sku_1', 'A', 'a.b-c_d', 'x'.repeat(64)])('round trip %s', (id) => {
    expect(decodeProductCursor(encodeProductCursor(id))).toBe(id);
  });

  it.each([
    ['garbage', '%%%'],
    ['order cursor', encodeOrderCursor({ created_at: AT, id: ID })],
    ['plain base64url JSON (no checksum)', b64(['p1', 'sku_1'])],
    ['wrong length', forge(['p1', 'a', 'b'])],
    ['id with bad characters', forge(['p1', 'a b'])],
    ['id too long', forge(['p1', 'x'.repeat(65)])],
    ['empty id', forge(['p1', ''])],
  ])('%s → invalid_cursor', (_name, cursor) => {
    expectInvalid(() => decodeProductCursor(cursor));
  });
});
