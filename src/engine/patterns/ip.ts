/**
 * IP address handling as event-ruler (the engine behind EventBridge) does it.
 *
 * An address is represented by the upper-case hexadecimal string of its bytes (8 digits for IPv4, 32 for
 * IPv6), so that a CIDR block is a closed range of equal-length strings and membership is two string
 * comparisons. Only literals that look like addresses are considered (event-ruler's two regular
 * expressions); an IPv4-mapped IPv6 literal (::ffff:a.b.c.d written in hex) is an IPv4 address, as
 * java.net.InetAddress makes it.
 */

const IPV4_SHAPE = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/;
const IPV6_SHAPE = /^[0-9a-fA-F:]*:[0-9a-fA-F:]*$/;
const HEX = '0123456789ABCDEF';

/** Whether a string has the shape of an IP address literal (it may still not be a valid one). */
export function looksLikeIp(text: string): boolean {
  return IPV4_SHAPE.test(text) || IPV6_SHAPE.test(text);
}

function parseIpv4(text: string): number[] | null {
  if (!IPV4_SHAPE.test(text)) return null;
  const bytes: number[] = [];
  for (const part of text.split('.')) {
    // Octets are read as decimal, leading zeros included (0177 is 177, not octal); above 255 is no literal.
    const n = Number(part);
    if (n > 255) return null;
    bytes.push(n);
  }
  return bytes;
}

function parseGroups(text: string): number[] | null {
  if (text === '') return [];
  const groups: number[] = [];
  for (const group of text.split(':')) {
    if (group.length === 0 || group.length > 4) return null;
    groups.push(parseInt(group, 16));
  }
  return groups;
}

function parseIpv6(text: string): number[] | null {
  if (!IPV6_SHAPE.test(text)) return null;
  const halves = text.split('::');
  let groups: number[];
  if (halves.length === 1) {
    const all = parseGroups(text);
    if (all === null || all.length !== 8) return null;
    groups = all;
  } else if (halves.length === 2) {
    const head = parseGroups(halves[0]!);
    const tail = parseGroups(halves[1]!);
    if (head === null || tail === null || head.length + tail.length > 7) return null;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    return null;
  }
  const bytes: number[] = [];
  for (const g of groups) bytes.push(g >> 8, g & 0xff);
  // ::ffff:w.x.y.z (IPv4-mapped) is an IPv4 address to Java.
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12);
  return bytes;
}

/** The bytes of an IPv4 or IPv6 literal, or null when the text is not one. */
export function ipBytes(text: string): number[] | null {
  return parseIpv4(text) ?? parseIpv6(text);
}

export function toHex(bytes: readonly number[]): string {
  let out = '';
  for (const b of bytes) out += HEX[b >> 4]! + HEX[b & 0x0f]!;
  return out;
}

/** The hexadecimal form of an IP literal, or null when the text is not an IP address. */
export function ipHex(text: string): string | null {
  if (text.length < 2 || text.length > 39) return null;
  const bytes = ipBytes(text);
  return bytes === null ? null : toHex(bytes);
}

export interface IpRange {
  readonly low: string;
  readonly high: string;
}

/** Splits like java.lang.String#split: trailing empty strings are removed. */
function javaSplit(text: string, separator: string): string[] {
  const parts = text.split(separator);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/**
 * Parses a CIDR block into a range, or returns the reason it is refused (event-ruler's CIDR.cidr rules:
 * exactly one '/', an integer mask, IPv4 masks below 32 and IPv6 masks below 128). As in event-ruler the
 * range runs from the address with all host bits cleared to the address with all host bits set.
 */
export function parseCidr(text: string): IpRange | string {
  const slashed = javaSplit(text, '/');
  if (slashed.length !== 2) return "malformed CIDR, exactly one '/' is required";
  const maskText = slashed[1]!;
  if (!/^[+-]?[0-9]+$/.test(maskText)) return 'malformed CIDR, the mask bits must be an integer';
  const mask = Number(maskText);
  if (!Number.isSafeInteger(mask)) return 'malformed CIDR, the mask bits must be an integer';
  if (mask < 0) return 'malformed CIDR, the mask bits must not be negative';
  const address = slashed[0]!;
  const bytes = ipBytes(address);
  if (bytes === null) {
    return looksLikeIp(address) ? `invalid IP address: ${address}` : `nonstandard IP address: ${address}`;
  }
  if (bytes.length === 4 && mask > 31) return 'IPv4 mask bits must be < 32';
  if (bytes.length === 16 && mask > 127) return 'IPv6 mask bits must be < 128';
  let hostBits = bytes.length * 8 - mask;
  const low = bytes.slice();
  const high = bytes.slice();
  for (let i = bytes.length - 1; i >= 0 && hostBits > 0; i--, hostBits -= 8) {
    const ones = hostBits >= 8 ? 0xff : (1 << hostBits) - 1;
    low[i] = bytes[i]! & ~ones & 0xff;
    high[i] = bytes[i]! | ones;
  }
  return { low: toHex(low), high: toHex(high) };
}

export function inRange(range: IpRange, hex: string): boolean {
  return hex.length === range.low.length && hex >= range.low && hex <= range.high;
}
