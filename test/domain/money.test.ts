import { describe, expect, it } from 'vitest';
import {
  MAX_AMOUNT,
  assertSafeAmount,
  currencyExponent,
  formatMoney,
  fromMajorString,
  multiply,
  sum,
  toMajorString,
} from '../../src/domain/money.js';

/** Intl uses non-breaking spaces in some currency formats; compare on plain spaces. */
const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

describe('currencyExponent (ISO 4217 minor units)', () => {
  it.each([
    ['USD', 2],
    ['EUR', 2],
    ['GBP', 2],
    ['CHF', 2],
    ['JPY', 0],
    ['KRW', 0],
    ['VND', 0],
    ['CLP', 0],
    ['ISK', 0],
    ['XOF', 0],
    ['KWD', 3],
    ['BHD', 3],
    ['JOD', 3],
    ['OMR', 3],
    ['TND', 3],
    ['IQD', 3],
    ['LYD', 3],
    ['CLF', 4],
    ['UYW', 4],
    ['usd', 2],
    ['jpy', 0],
    ['kwd', 3],
  ])('%s has %i decimals', (currency, exp) => {
    expect(currencyExponent(currency)).toBe(exp);
  });
});

describe('toMajorString', () => {
  it.each([
    [1999, 'USD', '19.99'],
    [5, 'USD', '0.05'],
    [0, 'USD', '0.00'],
    [100, 'USD', '1.00'],
    [500, 'JPY', '500'],
    [0, 'JPY', '0'],
    [1234, 'KWD', '1.234'],
    [1, 'KWD', '0.001'],
    [12345, 'CLF', '1.2345'],
    [MAX_AMOUNT, 'USD', '90071992547409.91'],
    [MAX_AMOUNT, 'JPY', '9007199254740991'],
  ])('%i %s → %s', (minor, currency, major) => {
    expect(toMajorString(minor, currency)).toBe(major);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_AMOUNT + 1])(
    'rejects %s (not a safe non-negative integer)',
    (minor) => {
      expect(() => toMajorString(minor, 'USD')).toThrow(RangeError);
    },
  );
});

describe('fromMajorString', () => {
  it.each([
    ['19.99', 'USD', 1999],
    ['19.9', 'USD', 1990],
    ['19', 'USD', 1900],
    ['0.05', 'USD', 5],
    ['19.990', 'USD', 1999], // trailing zeros beyond the exponent are harmless
    [' 19.99 ', 'USD', 1999],
    ['500', 'JPY', 500],
    ['500.0', 'JPY', 500],
    ['1.234', 'KWD', 1234],
    ['0.001', 'KWD', 1],
    ['1.2345', 'CLF', 12345],
    ['90071992547409.91', 'USD', MAX_AMOUNT],
  ])('"%s" %s → %i', (major, currency, minor) => {
    expect(fromMajorString(major, currency)).toBe(minor);
  });

  it.each([
    ['19.991', 'USD'], // more decimals than USD has
    ['500.5', 'JPY'],
    ['1.2345', 'KWD'],
    ['-1.00', 'USD'],
    ['1e3', 'USD'],
    ['', 'USD'],
    ['.50', 'USD'],
    ['1.', 'USD'],
    ['1,000.00', 'USD'],
    ['abc', 'USD'],
    ['0x10', 'USD'],
    ['Infinity', 'USD'],
    ['90071992547409.92', 'USD'], // one past MAX_SAFE_INTEGER minor units
    ['99999999999999999999', 'JPY'],
  ])('rejects "%s" %s', (major, currency) => {
    expect(() => fromMajorString(major, currency)).toThrow(RangeError);
  });

  it.each([
    [0, 'USD'],
    [1, 'USD'],
    [1999, 'USD'],
    [10_000_000_00, 'USD'],
    [MAX_AMOUNT, 'USD'],
    [0, 'JPY'],
    [7, 'JPY'],
    [MAX_AMOUNT, 'JPY'],
    [1, 'KWD'],
    [1234, 'KWD'],
    [MAX_AMOUNT, 'KWD'],
    [12345, 'CLF'],
  ])('round trip %i %s', (minor, currency) => {
    expect(fromMajorString(toMajorString(minor, currency), currency)).toBe(minor);
  });
});

describe('multiply and sum guard against overflow', () => {
  it('multiplies exactly within range', () => {
    expect(multiply(1999, 3)).toBe(5997);
    expect(multiply(0, 1000)).toBe(0);
    expect(multiply(MAX_AMOUNT, 1)).toBe(MAX_AMOUNT);
  });

  it.each([
    [MAX_AMOUNT, 2],
    [2 ** 40, 2 ** 20],
    [-1, 2],
    [1.5, 2],
  ])('multiply(%s, %s) refuses', (a, b) => {
    expect(() => multiply(a, b)).toThrow(RangeError);
  });

  it('sums exactly within range', () => {
    expect(sum([])).toBe(0);
    expect(sum([1999, 1, 0])).toBe(2000);
    expect(sum([MAX_AMOUNT - 1, 1])).toBe(MAX_AMOUNT);
  });

  it.each([[[MAX_AMOUNT, 1]], [[MAX_AMOUNT, MAX_AMOUNT]], [[1, -2]], [[0.1, 0.2]]])('sum(%j) refuses', (amounts) => {
    expect(() => sum(amounts)).toThrow(RangeError);
  });

  it('assertSafeAmount passes safe integers through', () => {
    expect(assertSafeAmount(0)).toBe(0);
    expect(assertSafeAmount(MAX_AMOUNT)).toBe(MAX_AMOUNT);
  });
});

describe('formatMoney', () => {
  it.each([
    [1999, 'USD', '$19.99'],
    [5, 'USD', '$0.05'],
    [0, 'USD', '$0.00'],
    [123456789, 'USD', '$1,234,567.89'],
    [500, 'JPY', '¥500'],
    [1234, 'KWD', 'KWD 1.234'],
    [5, 'EUR', '€0.05'],
    // exact at the top of the range: no float rounding on the way to the string
    [MAX_AMOUNT, 'USD', '$90,071,992,547,409.91'],
    [MAX_AMOUNT - 1, 'KWD', 'KWD 9,007,199,254,740.990'],
  ])('%i %s → %s', (minor, currency, text) => {
    expect(plain(formatMoney(minor, currency))).toBe(text);
  });

  it('honours the locale', () => {
    expect(plain(formatMoney(123456, 'EUR', 'de-DE'))).toBe('1.234,56 €');
  });

  it('refuses unsafe amounts', () => {
    expect(() => formatMoney(-1, 'USD')).toThrow(RangeError);
    expect(() => formatMoney(1.5, 'USD')).toThrow(RangeError);
  });
});
