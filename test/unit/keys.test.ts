import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, validateKey, validatePrefix } from '../../src/services/keys.js';
import { prefixUpperBound } from '../../src/drivers/local/key-range.js';

const rejects = (key: string, message: RegExp) =>
  expect(() => validateKey(key)).toThrowError(expect.objectContaining({ code: 'invalid_argument', message: expect.stringMatching(message) }));

describe('key validation', () => {
  it('accepts ordinary and unicode keys and normalizes them to NFC', () => {
    expect(validateKey('reports/2024/q1.md')).toBe('reports/2024/q1.md');
    expect(validateKey('a..b/..c/c..')).toBe('a..b/..c/c..');
    expect(validateKey('.hidden/.../x.')).toBe('.hidden/.../x.');
    expect(validateKey('日本語/🚀/#%')).toBe('日本語/🚀/#%');
    expect(validateKey('cafe\u0301')).toBe('caf\u00e9');
  });

  it('refuses empty, absolute, backslash and dot-segment keys', () => {
    rejects('', /key: must not be empty/);
    rejects('/etc/passwd', /must not start with "\/"/);
    rejects('a\\b', /must not contain "\\"/);
    for (const key of ['..', '.', '../x', './x', 'a/../b', 'a/..', 'a/./b', 'x/.', 'a//../b']) rejects(key, /"\." or "\.\." path segment/);
  });

  it('refuses control characters, lone surrogates and noncharacters', () => {
    rejects('a\u0000b', /control character/);
    rejects('a\nb', /control character/);
    rejects('a\u007fb', /control character/);
    rejects('a\u0085b', /control character/);
    rejects('a\ud800b', /unpaired UTF-16 surrogate/);
    rejects('a\uffff', /noncharacter/);
    rejects('a\u{10FFFF}', /noncharacter/);
  });

  it('limits keys to 512 UTF-8 bytes after normalization', () => {
    expect(validateKey('x'.repeat(512))).toHaveLength(512);
    rejects('x'.repeat(513), /513 bytes as UTF-8; the limit is 512/);
    rejects('é'.repeat(257), /514 bytes/);
  });

  it('names the field it checked', () => {
    expect(() => validateKey('', 'uri')).toThrowError(/^uri: /);
  });

  it('accepts empty prefixes and partial segments, refuses control characters', () => {
    expect(validatePrefix(undefined)).toBe('');
    expect(validatePrefix('')).toBe('');
    expect(validatePrefix('rep')).toBe('rep');
    expect(validatePrefix('a/..')).toBe('a/..');
    expect(() => validatePrefix('a\u0001')).toThrowError(/prefix: contains a control character/);
  });

  it('round-trips cursors and refuses forged ones', () => {
    const cursor = encodeCursor('日本/🚀 key')!;
    expect(decodeCursor(cursor)).toBe('日本/🚀 key');
    expect(encodeCursor(undefined)).toBeNull();
    expect(decodeCursor(undefined)).toBeUndefined();
    expect(() => decodeCursor('not a cursor!')).toThrowError(/cursor: is not a cursor/);
    expect(() => decodeCursor(Buffer.from([0xff, 0xfe]).toString('base64url'))).toThrowError(/cursor/);
  });
});

describe('prefix upper bound', () => {
  it('bounds exactly the strings that start with the prefix, in UTF-8 byte order', () => {
    const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
    const cases = ['a', 'ab/', '日本', '🚀', 'z\uD7FF', 'a\u{10FFFE}'.slice(0, 1)];
    for (const prefix of cases) {
      const upper = prefixUpperBound(prefix);
      for (const suffix of ['', 'x', '\u{10FFFD}', '🚀🚀', '\uffef']) {
        expect(byBytes(prefix + suffix, upper)).toBeLessThan(0);
      }
      expect(byBytes(prefix, upper)).toBeLessThan(0);
    }
    expect(prefixUpperBound('a')).toBe('b');
    expect(prefixUpperBound('z\uD7FF')).toBe('z\uE000');
    expect(prefixUpperBound('')).toBe('\u{10FFFF}');
  });
});
