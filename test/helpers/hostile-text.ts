import fc from 'fast-check';

/**
 * Text an attacker (or an unlucky client) sends: what PostgreSQL cannot store (NUL, unpaired
 * surrogates — JSON.stringify writes them as `\u0000` and `\ud800` escapes), what looks like
 * something else (bidi overrides, zero-width joiners, stacked combining marks, SQL, markup,
 * prototype keys), and sheer size (10 KB, or 10 KB of multi-byte UTF-8).
 */
const HOSTILE_TEXT = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff',
  'x\udc00y',
  '\ud83d', // half an emoji
  '\udc00\ud800', // both halves, the wrong way round
  '\u202Eevil\u202C',
  'A\u200Flice\u200E',
  '\u2066\u2067\u2068\u2069',
  '\u200B\u200C\u200D\u2060\uFEFF',
  'e\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308',
  'Z\u0364\u0311\u0313a\u0308\u0356\u032dl\u036e\u0312g\u030c\u0317o\u0319\u0314',
  '\u{1F469}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}',
  '\u{1F1FA}\u{1F1F8}',
  '\uFFFF\uFFFE',
  '\u0085\u2028\u2029',
  '\u001b[31mred\u001b[0m',
  "'; drop table orders; --",
  "' or '1'='1",
  '" or ""="',
  '\\',
  '%00',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  '${7*7}{{7*7}}',
  '\r\n',
  '\t',
  ' ',
  '',
  'null',
  '-1',
  '1e309',
  '__proto__',
  'constructor',
  'a'.repeat(10_240),
  '\u20AC'.repeat(3_500),
  '\u{1F600}'.repeat(2_600),
];

/** Any UTF-16 code unit, so unpaired surrogates come up as often as anything else. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

/** A hostile string: a known one, random code units, random graphemes, or a known one inside random text. */
export const hostileText: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...HOSTILE_TEXT), weight: 4 },
  { arbitrary: fc.string({ unit: codeUnit, maxLength: 40 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }), weight: 1 },
  {
    arbitrary: fc
      .tuple(fc.string({ maxLength: 8 }), fc.constantFrom(...HOSTILE_TEXT), fc.string({ maxLength: 8 }))
      .map(([a, b, c]) => a + b + c),
    weight: 1,
  },
);

/** How the hostile text meets the field's valid value: instead of it, or glued to either end. */
export const placement = fc.constantFrom('replace', 'append', 'prepend') as fc.Arbitrary<
  'replace' | 'append' | 'prepend'
>;

export function place(valid: unknown, text: string, how: 'replace' | 'append' | 'prepend'): string {
  if (how === 'replace' || typeof valid !== 'string') return text;
  return how === 'append' ? valid + text : text + valid;
}

/**
 * Percent-encoding for a URL path segment or query value that, unlike encodeURIComponent (which
 * throws), also writes an unpaired surrogate: as the three bytes a WTF-8 encoder would send
 * (`\ud800` → `%ED%A0%80`), which is no UTF-8 at all — what a hostile client can put on the wire.
 */
export function encodeUrlText(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const next = s.charCodeAt(i + 1);
    if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      out += encodeURIComponent(s[i]! + s[i + 1]!);
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out += [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    } else {
      out += encodeURIComponent(s[i]!);
    }
  }
  return out;
}

/** Broken percent-encoding, sent as is: a lone `%`, non-hex digits, bytes that are not UTF-8, an overlong NUL. */
export const RAW_URL_TEXT = ['%', '%zz', '%FF%FE', '%C0%80', '%ED%A0%80', '%E2%80', '%%00'];

/** A header can carry only visible ASCII and spaces: anything else is percent-encoded first. */
export const headerSafe = (s: string) => (/^[\x20-\x7E]*$/.test(s) ? s : encodeUrlText(s));
