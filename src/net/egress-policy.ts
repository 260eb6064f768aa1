import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { MeshError, invalidArgument } from '../errors.js';

/**
 * Which addresses the server may send requests to (SSRF protection). A tenant hands the server URLs (alert
 * webhooks, later HTTP MCP upstreams); without this check such a URL could reach the server's own loopback
 * services, the private network around it, or a cloud metadata endpoint. Public unicast addresses are always
 * allowed; everything else only when the operator names it in the `network.allow` list of the config file.
 */
export interface EgressPolicy {
  /**
   * Parses and checks a URL a tenant gave: http/https only, no credentials in the URL, and a host that neither
   * is nor resolves to a blocked address unless the allowlist names it. Throws MeshError invalid_argument (a bad
   * URL or a host that does not resolve; `details.field` is `field`), permission_denied (a blocked address), or
   * unavailable (DNS failed for another reason). Returns the normalized URL.
   */
  checkUrl(raw: string, field: string): Promise<URL>;
  /**
   * A `lookup` for node:http/https/net request options: resolves like dns.lookup and fails the connection with
   * an error whose code is 'EGRESS_BLOCKED' when the host or an address it resolves to is blocked, so DNS
   * rebinding between `checkUrl` and the connect cannot reach a blocked address. It does not know the port,
   * so allowlist entries that name a port do not apply to it: use `lookupFor(port)` where the port is known.
   */
  readonly lookup: LookupFunction;
  /** Like `lookup`, for a connection to `port`: allowlist entries for that port (or for any port) apply. */
  lookupFor(port: number): LookupFunction;
}

/** One parsed entry of `network.allow`. */
export type EgressAllowEntry =
  | { kind: 'host'; host: string; port?: number }
  | { kind: 'ip'; address: string; port?: number }
  | { kind: 'cidr'; network: string; prefix: number };

/** The error code of a connection refused by `EgressPolicy.lookup`. */
export const EGRESS_BLOCKED = 'EGRESS_BLOCKED';

// ---------------------------------------------------------------------------------------------------------
// IP addresses as numbers

interface Ip {
  version: 4 | 6;
  value: bigint;
}

function parseIp(text: string): Ip | undefined {
  const bare = stripBrackets(text);
  const version = isIP(bare);
  if (version === 4) {
    const parts = bare.split('.').map(Number);
    return { version: 4, value: parts.reduce((acc, part) => (acc << 8n) | BigInt(part), 0n) };
  }
  if (version === 6) return { version: 6, value: parseIpv6(bare.split('%')[0]!) };
  return undefined;
}

/** `text` is a valid IPv6 address (isIP said so), without a zone. */
function parseIpv6(text: string): bigint {
  let address = text;
  const lastColon = address.lastIndexOf(':');
  const tail = address.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    address = `${address.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = address.split('::') as [string, string | undefined];
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups = rest === undefined ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - restGroups.length).fill('0'), ...restGroups];
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(Number.parseInt(group, 16)), 0n);
}

function formatIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => ((value >> shift) & 0xffn).toString()).join('.');
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

interface Range {
  version: 4 | 6;
  network: bigint;
  prefix: number;
}

function inRange(ip: Ip, range: Range): boolean {
  if (ip.version !== range.version) return false;
  const shift = BigInt((ip.version === 4 ? 32 : 128) - range.prefix);
  return ip.value >> shift === range.network >> shift;
}

function range(cidr: string): Range {
  const [address, prefix] = cidr.split('/') as [string, string];
  const ip = parseIp(address)!;
  return { version: ip.version, network: ip.value, prefix: Number(prefix) };
}

/** Blocked ranges, most specific first; the first match names the reason. */
const BLOCKED: ReadonlyArray<{ range: Range; reason: string }> = [
  ['169.254.169.254/32', 'a cloud metadata address'],
  ['100.100.100.200/32', 'a cloud metadata address'],
  ['fd00:ec2::254/128', 'a cloud metadata address'],
  ['0.0.0.0/32', 'the unspecified address'],
  ['0.0.0.0/8', 'a reserved ("this network") address'],
  ['10.0.0.0/8', 'a private (RFC 1918) address'],
  ['100.64.0.0/10', 'a private (carrier-grade NAT, RFC 6598) address'],
  ['127.0.0.0/8', 'a loopback address'],
  ['169.254.0.0/16', 'a link-local address'],
  ['172.16.0.0/12', 'a private (RFC 1918) address'],
  ['192.0.0.0/24', 'a reserved (IETF protocol assignment) address'],
  ['192.0.2.0/24', 'a reserved (documentation) address'],
  ['192.88.99.0/24', 'a reserved (6to4 relay) address'],
  ['192.168.0.0/16', 'a private (RFC 1918) address'],
  ['198.18.0.0/15', 'a reserved (benchmarking) address'],
  ['198.51.100.0/24', 'a reserved (documentation) address'],
  ['203.0.113.0/24', 'a reserved (documentation) address'],
  ['224.0.0.0/4', 'a multicast address'],
  ['255.255.255.255/32', 'the broadcast address'],
  ['240.0.0.0/4', 'a reserved address'],
  ['::/128', 'the unspecified address'],
  ['::1/128', 'a loopback address'],
  ['64:ff9b:1::/48', 'a reserved (local-use NAT64) address'],
  ['100::/64', 'a reserved (discard-only) address'],
  ['2001:db8::/32', 'a reserved (documentation) address'],
  ['2001::/23', 'a reserved (IETF protocol assignment, e.g. Teredo) address'],
  ['3fff::/20', 'a reserved (documentation) address'],
  ['5f00::/16', 'a reserved (segment routing) address'],
  ['fc00::/7', 'a private (unique local) address'],
  ['fe80::/10', 'a link-local address'],
  ['fec0::/10', 'a reserved (site-local) address'],
  ['ff00::/8', 'a multicast address'],
].map(([cidr, reason]) => ({ range: range(cidr!), reason: reason! }));

/** IPv6 ranges that carry an IPv4 address, and where. */
const EMBEDDING: ReadonlyArray<{ range: Range; shift: bigint; form: string }> = [
  { range: range('::ffff:0:0/96'), shift: 0n, form: 'IPv4-mapped' },
  { range: range('::/96'), shift: 0n, form: 'IPv4-compatible' },
  { range: range('64:ff9b::/96'), shift: 0n, form: 'NAT64' },
  { range: range('2002::/16'), shift: 80n, form: '6to4' },
];

const GLOBAL_UNICAST_V6 = range('2000::/3');

function embeddedIpv4(ip: Ip): { ipv4: Ip; form: string } | undefined {
  if (ip.version !== 6 || ip.value <= 1n) return undefined; // :: and ::1 are themselves, not IPv4-compatible forms
  for (const embedding of EMBEDDING) {
    if (inRange(ip, embedding.range)) return { ipv4: { version: 4, value: (ip.value >> embedding.shift) & 0xffffffffn }, form: embedding.form };
  }
  return undefined;
}

/** Why the server may not connect to `ip`, or undefined when it may (before the allowlist is consulted). */
function blockReason(ip: Ip): string | undefined {
  const embedded = embeddedIpv4(ip);
  if (embedded) {
    const reason = blockReason(embedded.ipv4);
    if (reason) return `${reason} (${formatIpv4(embedded.ipv4.value)}, in ${embedded.form} IPv6 form)`;
    if (embedded.form === 'IPv4-compatible') return 'a reserved (IPv4-compatible IPv6) address';
    return undefined;
  }
  for (const { range: blocked, reason } of BLOCKED) if (inRange(ip, blocked)) return reason;
  if (ip.version === 6 && !inRange(ip, GLOBAL_UNICAST_V6)) return 'a reserved address';
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Host names

/** Names that are internal whatever DNS says about them. */
const BLOCKED_NAMES: ReadonlyArray<{ test: (host: string) => boolean; reason: string }> = [
  { test: (host) => host === 'metadata.google.internal' || host === 'metadata', reason: 'a cloud metadata host name' },
  { test: (host) => host === 'localhost' || host.endsWith('.localhost'), reason: 'a loopback host name' },
];

function normalizeHost(host: string): string {
  const lower = host.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

const HOST_LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

function isHostName(host: string): boolean {
  if (host.length === 0 || host.length > 253) return false;
  const labels = host.split('.');
  // A name whose last label is numeric would be read as an IPv4 address by URL parsers (e.g. "2130706433").
  if (/^(0x[0-9a-f]*|[0-9]+)$/.test(labels.at(-1)!)) return false;
  return labels.every((label) => HOST_LABEL.test(label));
}

// ---------------------------------------------------------------------------------------------------------
// The allowlist

function badEntry(entry: unknown, reason: string): Error {
  return new Error(`network.allow entry ${JSON.stringify(entry)} ${reason}`);
}

function parsePort(entry: string, text: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) throw badEntry(entry, `has an invalid port "${text}" (1-65535)`);
  return Number(text);
}

function parseEntry(entry: unknown): EgressAllowEntry {
  if (typeof entry !== 'string') throw badEntry(entry, 'is not a string');
  const text = entry.trim();
  if (text === '') throw badEntry(entry, 'is empty');
  if (text.includes('*')) throw badEntry(entry, 'uses a wildcard; name each host exactly, or use a CIDR range for addresses');
  if (text.includes('://') || (text.includes('/') && !/^[0-9a-f:.]+\/[0-9]+$/i.test(text))) {
    throw badEntry(entry, 'is not an IP address, CIDR range or host name; write e.g. "10.0.0.0/8", "hooks.internal" or "127.0.0.1:8080"');
  }

  if (text.includes('/')) {
    const [address, prefixText] = text.split('/') as [string, string];
    const ip = parseIp(address);
    if (!ip || address.includes('[')) throw badEntry(entry, 'is not a valid CIDR range: the part before "/" is not an IP address');
    const max = ip.version === 4 ? 32 : 128;
    const prefix = Number(prefixText);
    if (!/^[0-9]{1,3}$/.test(prefixText) || prefix > max) throw badEntry(entry, `is not a valid CIDR range: the prefix length must be 0-${max}`);
    return { kind: 'cidr', network: address, prefix };
  }

  // [v6]:port or [v6]
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    const address = bracketed[1]!;
    if (isIP(address) !== 6) throw badEntry(entry, 'has brackets around something that is not an IPv6 address');
    return bracketed[2] === undefined ? { kind: 'ip', address } : { kind: 'ip', address, port: parsePort(entry, bracketed[2]) };
  }
  if (isIP(text) !== 0) return { kind: 'ip', address: text };
  if (text.split(':').length > 2) throw badEntry(entry, 'is not a valid IPv6 address (to add a port to an IPv6 address, write "[::1]:8080")');

  const [hostText, portText] = text.split(':') as [string, string | undefined];
  const port = portText === undefined ? undefined : parsePort(entry, portText);
  if (isIP(hostText) === 4) return port === undefined ? { kind: 'ip', address: hostText } : { kind: 'ip', address: hostText, port };
  const host = normalizeHost(hostText);
  if (!isHostName(host)) throw badEntry(entry, 'is not an IP address, CIDR range or host name');
  return port === undefined ? { kind: 'host', host } : { kind: 'host', host, port };
}

/**
 * Validates the `network.allow` list of the config file: each entry an IP (`127.0.0.1`, `::1`), a CIDR range
 * (`10.0.0.0/8`, `fd00::/8`), or an exact host name (`localhost`, `hooks.internal`, case-insensitive), the IP
 * or host name optionally with a port (`127.0.0.1:8080`, `localhost:9000`, `[::1]:8080`) that then is the only
 * port allowed. Throws an Error naming the first bad entry.
 */
export function parseEgressAllowlist(entries: readonly unknown[]): { ok: true; entries: EgressAllowEntry[] } {
  if (!Array.isArray(entries)) throw new Error('network.allow must be a list of strings');
  return { ok: true, entries: entries.map(parseEntry) };
}

interface CompiledEntry {
  port: number | undefined;
  matchesHost(host: string): boolean;
  matchesIp(ip: Ip): boolean;
}

function compile(entry: EgressAllowEntry): CompiledEntry {
  switch (entry.kind) {
    case 'host':
      return { port: entry.port, matchesHost: (host) => host === entry.host, matchesIp: () => false };
    case 'ip': {
      const allowed = parseIp(entry.address)!;
      return { port: entry.port, matchesHost: () => false, matchesIp: (ip) => ip.version === allowed.version && ip.value === allowed.value };
    }
    case 'cidr': {
      const allowed = parseIp(entry.network)!;
      const cidr: Range = { version: allowed.version, network: allowed.value, prefix: entry.prefix };
      return { port: undefined, matchesHost: () => false, matchesIp: (ip) => inRange(ip, cidr) };
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// URLs

/**
 * The synchronous part of `EgressPolicy.checkUrl`: parses `raw` and refuses anything but an http(s) URL with a
 * host and without credentials. Throws MeshError invalid_argument with `details.field` set to `field`.
 */
export function parseEgressUrl(raw: string, field: string): URL {
  if (typeof raw !== 'string' || raw.trim() === '') throw invalidArgument(field, 'a URL is required');
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw invalidArgument(field, 'is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidArgument(field, `the scheme "${url.protocol.slice(0, -1)}" is not allowed; use an http:// or https:// URL`);
  }
  if (url.username !== '' || url.password !== '') {
    throw invalidArgument(field, 'credentials in the URL are not allowed; send them in a header instead');
  }
  if (url.hostname === '') throw invalidArgument(field, 'the URL has no host');
  url.hash = '';
  return url;
}

/** The port a URL connects to. */
export function urlPort(url: URL): number {
  return url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

// ---------------------------------------------------------------------------------------------------------
// The policy

type Resolver = (host: string) => Promise<string[]>;

const defaultResolver: Resolver = async (host) => (await dnsLookup(host, { all: true, verbatim: true })).map((answer) => answer.address);

interface Blocked {
  host: string;
  address: string | undefined;
  reason: string;
}

function blockedMessage({ host, address, reason }: Blocked, port: number | undefined): string {
  const named = address !== undefined && address !== host;
  const target = named ? `"${host}" (resolved to ${address})` : `"${host}"`;
  const withPort = (entry: string): string => `"${entry.includes(':') ? `[${entry}]` : entry}:${port}"`;
  const entries = named ? [host, address] : [host];
  const suggestion =
    entries.map((entry) => `"${entry}"`).join(' or ') +
    (port === undefined ? '' : ` (or, for port ${port} only, ${entries.map(withPort).join(' or ')})`);
  return `requests to ${target} are not allowed: it is ${reason}. An operator can allow it by adding ${suggestion} to the network.allow list of the config file`;
}

function egressError(blocked: Blocked, port: number | undefined): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(blockedMessage(blocked, port));
  error.code = EGRESS_BLOCKED;
  return error;
}

export function createEgressPolicy(allow: readonly string[], resolver: Resolver = defaultResolver): EgressPolicy {
  const entries = parseEgressAllowlist(allow).entries.map(compile);
  const applies = (entry: CompiledEntry, port: number | undefined): boolean => entry.port === undefined || entry.port === port;
  const hostAllowed = (host: string, port: number | undefined): boolean => entries.some((e) => applies(e, port) && e.matchesHost(host));
  const ipAllowed = (ip: Ip, port: number | undefined): boolean => {
    const embedded = embeddedIpv4(ip);
    return entries.some((e) => applies(e, port) && (e.matchesIp(ip) || (embedded !== undefined && e.matchesIp(embedded.ipv4))));
  };

  /** Why `address` (which `host` resolved to) is blocked on `port`, or undefined. */
  const checkAddress = (host: string, address: string, port: number | undefined): Blocked | undefined => {
    const ip = parseIp(address);
    if (!ip) return { host, address, reason: 'not an IP address' };
    const reason = blockReason(ip);
    return reason !== undefined && !ipAllowed(ip, port) ? { host, address, reason } : undefined;
  };

  /** Resolves `host` and checks it and every address; `port` undefined means "unknown". */
  const resolveChecked = async (rawHost: string, port: number | undefined): Promise<{ addresses: string[]; blocked?: Blocked }> => {
    const host = normalizeHost(stripBrackets(rawHost));
    if (isIP(host) !== 0) {
      const blocked = checkAddress(host, host, port);
      return blocked ? { addresses: [host], blocked } : { addresses: [host] };
    }
    const allowedByName = hostAllowed(host, port);
    if (!allowedByName) {
      const named = BLOCKED_NAMES.find((name) => name.test(host));
      if (named) return { addresses: [], blocked: { host, address: undefined, reason: named.reason } };
    }
    const addresses = await resolver(host);
    if (allowedByName) return { addresses };
    for (const address of addresses) {
      const blocked = checkAddress(host, address, port);
      if (blocked) return { addresses, blocked };
    }
    return { addresses };
  };

  const lookupFor = (port: number | undefined): LookupFunction => {
    return (hostname: string, options: LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
      const family = typeof options === 'number' ? options : options?.family === 'IPv4' ? 4 : options?.family === 'IPv6' ? 6 : (options?.family ?? 0);
      const all = typeof options === 'object' && options?.all === true;
      resolveChecked(hostname, port).then(
        ({ addresses, blocked }) => {
          if (blocked) return callback(egressError(blocked, port), all ? [] : '', 0);
          const answers = addresses
            .map((address) => ({ address, family: isIP(address) }))
            .filter((answer) => answer.family !== 0 && (family === 0 || answer.family === family));
          const first = answers[0];
          if (!first) {
            const error: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
            error.code = 'ENOTFOUND';
            return callback(error, all ? [] : '', 0);
          }
          if (all) return callback(null, answers);
          return callback(null, first.address, first.family);
        },
        (error: NodeJS.ErrnoException) => callback(error, all ? [] : '', 0),
      );
    };
  };

  return {
    async checkUrl(raw, field) {
      const url = parseEgressUrl(raw, field);
      const port = urlPort(url);
      let result: Awaited<ReturnType<typeof resolveChecked>>;
      try {
        result = await resolveChecked(url.hostname, port);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOTFOUND' || code === 'ENODATA') throw invalidArgument(field, `the host "${url.hostname}" does not resolve`);
        throw new MeshError('unavailable', `${field}: could not resolve the host "${url.hostname}" (${code ?? 'DNS error'}); retry shortly`, { field });
      }
      if (result.blocked) throw new MeshError('permission_denied', `${field}: ${blockedMessage(result.blocked, port)}`, { field });
      if (result.addresses.length === 0 && isIP(stripBrackets(url.hostname)) === 0) {
        throw invalidArgument(field, `the host "${url.hostname}" does not resolve`);
      }
      return url;
    },
    lookup: lookupFor(undefined),
    lookupFor,
  };
}
