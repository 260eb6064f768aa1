import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { allowedHostsFor, checkHostAndOrigin, hostAllowed } from '../../src/http/request-guard.js';

const request = (host: string, origin?: string) => ({ headers: { host, ...(origin !== undefined && { origin }) } }) as IncomingMessage;

describe('request guard (Host and Origin)', () => {
  const allowed = allowedHostsFor('0.0.0.0', 7907, ['mesh.example.com', 'other.example:443', 'plain.example:80', 'Fixed.Example:8080']);

  it('allows an entry without a port on any port, and without one', () => {
    expect(hostAllowed('mesh.example.com:7907', allowed)).toBe(true);
    expect(hostAllowed('mesh.example.com', allowed)).toBe(true);
    expect(hostAllowed('MESH.example.com:443', allowed)).toBe(true);
    expect(hostAllowed('evil-mesh.example.com', allowed)).toBe(false);
    expect(hostAllowed('mesh.example.com.evil:7907', allowed)).toBe(false);
  });

  it('lets :80 and :443 entries match the name without a port, other ports only exactly', () => {
    expect(hostAllowed('other.example', allowed)).toBe(true);
    expect(hostAllowed('other.example:443', allowed)).toBe(true);
    expect(hostAllowed('other.example:8443', allowed)).toBe(false);
    expect(hostAllowed('plain.example', allowed)).toBe(true);
    expect(hostAllowed('fixed.example:8080', allowed)).toBe(true);
    expect(hostAllowed('fixed.example', allowed)).toBe(false);
    expect(hostAllowed('fixed.example:80', allowed)).toBe(false);
  });

  it('keeps loopback to the server port, and refuses what is no host', () => {
    expect(hostAllowed('127.0.0.1:7907', allowed)).toBe(true);
    expect(hostAllowed('127.0.0.1:7908', allowed)).toBe(false);
    expect(hostAllowed('[::1]:7907', allowed)).toBe(true);
    expect(hostAllowed('', allowed)).toBe(false);
    expect(hostAllowed('a:b:c', allowed)).toBe(false);
  });

  it("checks an Origin by its URL.host, which drops default ports", () => {
    expect(checkHostAndOrigin(request('other.example', 'https://other.example'), allowed)).toBeUndefined();
    expect(checkHostAndOrigin(request('other.example:443', 'https://other.example:443'), allowed)).toBeUndefined();
    expect(checkHostAndOrigin(request('mesh.example.com:7907', 'http://mesh.example.com:7907'), allowed)).toBeUndefined();
    expect(checkHostAndOrigin(request('mesh.example.com:7907', 'http://evil.example'), allowed)).toMatch(/Origin "http:\/\/evil.example" is not allowed/);
    expect(checkHostAndOrigin(request('other.example:8443'), allowed)).toMatch(/Host "other.example:8443" is not this server/);
  });
});
