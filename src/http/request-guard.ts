import type { IncomingMessage } from 'node:http';

/**
 * DNS-rebinding protection (MCP transport spec): the Host header must name this server, and an Origin,
 * when a browser sends one, must too. Loopback names with the server's port are always allowed.
 */
export function allowedHostsFor(host: string, port: number, extra: readonly string[]): Set<string> {
  const hosts = new Set(extra.map((h) => h.toLowerCase()));
  for (const name of ['127.0.0.1', 'localhost', '[::1]']) hosts.add(`${name}:${port}`);
  if (host !== '0.0.0.0' && host !== '::') hosts.add(`${host.includes(':') ? `[${host}]` : host}:${port}`.toLowerCase());
  return hosts;
}

export function checkHostAndOrigin(req: IncomingMessage, allowed: ReadonlySet<string>): string | undefined {
  const host = (req.headers.host ?? '').toLowerCase();
  if (!allowed.has(host)) return `Host "${host}" is not this server (allowed: ${[...allowed].join(', ')})`;
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  try {
    const url = new URL(origin);
    if ((url.protocol === 'http:' || url.protocol === 'https:') && allowed.has(url.host.toLowerCase())) return undefined;
  } catch {
    // fall through
  }
  return `Origin "${origin}" is not allowed`;
}

export const isLoopback = (host: string): boolean => host === '127.0.0.1' || host === '::1' || host === 'localhost' || host.startsWith('127.');
