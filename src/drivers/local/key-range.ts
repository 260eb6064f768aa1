/**
 * SQLite compares TEXT as UTF-8 bytes, which orders like code points. Every string that starts with
 * `prefix` sorts before the prefix with its last code point raised by one. Keys never contain the
 * noncharacter U+10FFFF, so it bounds the empty prefix.
 */
export function prefixUpperBound(prefix: string): string {
  const points = Array.from(prefix, (ch) => ch.codePointAt(0)!);
  while (points.length > 0) {
    let last = points.pop()! + 1;
    if (last >= 0xd800 && last <= 0xdfff) last = 0xe000;
    if (last <= 0x10ffff) return String.fromCodePoint(...points, last);
  }
  return '\u{10FFFF}';
}
