import type { IncomingMessage } from 'node:http';

/**
 * DNS-rebinding protection (MCP transport spec): the Host header must name this server, and an Origin,
 * when a browser sends one, must too. Loopback names with the server's port are always allowed; `extra`
 * entries (--allowed-hosts) are "name" (any port) or "name:port".
 */
export function allowedHostsFor(host: string, port: number, extra: readonly string[]): Set<string> {
  const hosts = new Set(extra.map((h) => h.toLowerCase()));
  for (const name of ['127.0.0.1', 'localhost', '[::1]']) hosts.add(`${name}:${port}`);
  if (host !== '0.0.0.0' && host !== '::') hosts.add(`${host.includes(':') ? `[${host}]` : host}:${port}`.toLowerCase());
  return hosts;
}

/** "name:port" into its parts; "[v6]" keeps its brackets. Undefined when it is no host at all. */
function splitHost(value: string): { name: string; port?: string } | undefined {
  const match = /^(\[[0-9a-f:.]*\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(value.toLowerCase());
  if (!match) return undefined;
  return { name: match[1]!.replace(/\.$/, ''), ...(match[2] !== undefined && { port: match[2] }) };
}

/**
 * Whether a Host header value (or an Origin's URL.host) names an allowed entry. An entry without a port
 * allows that name on any port; one with :80 or :443 also allows the name without a port (how browsers
 * and clients write default ports).
 */
export function hostAllowed(host: string, allowed: ReadonlySet<string>): boolean {
  const given = splitHost(host);
  if (!given) return false;
  for (const entry of allowed) {
    const wanted = splitHost(entry);
    if (!wanted || wanted.name !== given.name) continue;
    if (wanted.port === undefined || wanted.port === given.port) return true;
    if (given.port === undefined && (wanted.port === '80' || wanted.port === '443')) return true;
  }
  return false;
}

export function checkHostAndOrigin(req: IncomingMessage, allowed: ReadonlySet<string>): string | undefined {
  const host = (req.headers.host ?? '').toLowerCase();
  if (!hostAllowed(host, allowed)) return `Host "${host}" is not this server (allowed: ${[...allowed].join(', ')})`;
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  try {
    const url = new URL(origin);
    if ((url.protocol === 'http:' || url.protocol === 'https:') && hostAllowed(url.host, allowed)) return undefined;
  } catch {
    // fall through
  }
  return `Origin "${origin}" is not allowed`;
}

export const isLoopback = (host: string): boolean => host === '127.0.0.1' || host === '::1' || host === 'localhost' || host.startsWith('127.');
