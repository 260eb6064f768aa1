import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshError } from '../../src/errors.js';
import { createEgressPolicy, EGRESS_BLOCKED, parseEgressAllowlist, parseEgressUrl, type EgressPolicy } from '../../src/net/egress-policy.js';

/** Fake DNS: no real lookups leave the test. */
const DNS: Record<string, string[]> = {
  'example.com': ['93.184.216.34', '2606:2800:220:1::1'],
  'v6only.example': ['2606:2800:220:1::1'],
  'hooks.internal': ['10.1.2.3'],
  'rebind.example': ['127.0.0.1'],
  'mixed.example': ['93.184.216.34', '192.168.1.10'],
  localhost: ['127.0.0.1', '::1'],
  'metadata.google.internal': ['169.254.169.254'],
  'loopback.test': ['127.0.0.1'],
  'nat64.example': ['64:ff9b::a9fe:a9fe'],
};

async function resolver(host: string): Promise<string[]> {
  const answer = DNS[host];
  if (!answer) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return answer;
}

const policy = (allow: string[] = []): EgressPolicy => createEgressPolicy(allow, resolver);

async function refusal(p: EgressPolicy, url: string): Promise<MeshError> {
  try {
    await p.checkUrl(url, 'channel.url');
  } catch (error) {
    expect(error).toBeInstanceOf(MeshError);
    return error as MeshError;
  }
  throw new Error(`${url} was allowed`);
}

async function expectBlocked(url: string, reason: RegExp, p: EgressPolicy = policy()): Promise<void> {
  const error = await refusal(p, url);
  expect(error.code, `${url}: ${error.message}`).toBe('permission_denied');
  expect(error.message).toMatch(reason);
  expect(error.message).toContain('network.allow');
  expect(error.details.field).toBe('channel.url');
}

describe('EgressPolicy.checkUrl', () => {
  it('allows public addresses, literal or resolved', async () => {
    const p = policy();
    for (const url of ['https://example.com/hook', 'http://v6only.example:8080/x', 'http://93.184.216.34/', 'https://[2606:2800:220:1::1]/', 'http://8.8.8.8:1234/a?b=c']) {
      await expect(p.checkUrl(url, 'channel.url'), url).resolves.toBeInstanceOf(URL);
    }
  });

  it('returns the normalized URL', async () => {
    const url = await policy().checkUrl('  HTTPS://Example.COM/a%20b?x=1#frag ', 'channel.url');
    expect(url.href).toBe('https://example.com/a%20b?x=1');
  });

  it.each([
    ['http://127.0.0.1/', /loopback/],
    ['http://127.1.2.3:8080/', /loopback/],
    ['http://[::1]/', /loopback/],
    ['http://10.0.0.1/', /private/],
    ['http://172.16.5.4/', /private/],
    ['http://172.31.255.255/', /private/],
    ['http://192.168.0.1/', /private/],
    ['http://100.64.0.1/', /carrier-grade NAT/],
    ['http://100.127.255.254/', /carrier-grade NAT/],
    ['http://[fc00::1]/', /unique local/],
    ['http://[fd12:3456::1]/', /unique local/],
    ['http://169.254.1.1/', /link-local/],
    ['http://[fe80::1]/', /link-local/],
    ['http://0.0.0.0/', /unspecified/],
    ['http://0.1.2.3/', /reserved/],
    ['http://[::]/', /unspecified/],
    ['http://224.0.0.1/', /multicast/],
    ['http://239.255.255.250/', /multicast/],
    ['http://[ff02::1]/', /multicast/],
    ['http://255.255.255.255/', /broadcast/],
    ['http://240.0.0.1/', /reserved/],
    ['http://192.0.2.1/', /documentation/],
    ['http://198.18.0.1/', /benchmarking/],
    ['http://[2001:db8::1]/', /documentation/],
    ['http://[2001::1]/', /Teredo/],
    ['http://169.254.169.254/latest/meta-data/', /cloud metadata/],
    ['http://[fd00:ec2::254]/', /cloud metadata/],
    ['http://100.100.100.200/', /cloud metadata/],
    ['http://metadata.google.internal/computeMetadata/v1/', /cloud metadata host name/],
    ['http://METADATA.google.internal./', /cloud metadata host name/],
  ])('refuses %s', async (url, reason) => {
    await expectBlocked(url, reason);
  });

  it.each([
    ['http://2130706433/', /loopback/],
    ['http://0x7f.1/', /loopback/],
    ['http://017700000001/', /loopback/],
    ['http://0x7f000001/', /loopback/],
    ['http://127.1/', /loopback/],
    ['http://0177.0.0.1/', /loopback/],
    ['http://0xa9.0xfe.0xa9.0xfe/', /cloud metadata/],
    ['http://3232235777/', /private/],
  ])('refuses the odd IPv4 spelling %s', async (url, reason) => {
    await expectBlocked(url, reason);
  });

  it.each([
    ['http://[::ffff:127.0.0.1]/', /loopback.*127\.0\.0\.1.*IPv4-mapped/],
    ['http://[::ffff:7f00:1]/', /loopback.*IPv4-mapped/],
    ['http://[::ffff:a9fe:a9fe]/', /cloud metadata.*IPv4-mapped/],
    ['http://[::ffff:10.0.0.1]/', /private.*IPv4-mapped/],
    ['http://[::127.0.0.1]/', /loopback.*IPv4-compatible/],
    ['http://[::7f00:1]/', /loopback.*IPv4-compatible/],
    ['http://[64:ff9b::127.0.0.1]/', /loopback.*NAT64/],
    ['http://[64:ff9b::a9fe:a9fe]/', /cloud metadata.*NAT64/],
    ['http://[2002:7f00:1::]/', /loopback.*6to4/],
    ['http://[::8.8.8.8]/', /IPv4-compatible/],
    ['http://[64:ff9b:1::1]/', /local-use NAT64/],
  ])('refuses the IPv6 form %s', async (url, reason) => {
    await expectBlocked(url, reason);
  });

  it('allows NAT64 and mapped forms of public addresses', async () => {
    await expect(policy().checkUrl('http://[64:ff9b::8.8.8.8]/', 'u')).resolves.toBeInstanceOf(URL);
    await expect(policy().checkUrl('http://[::ffff:8.8.8.8]/', 'u')).resolves.toBeInstanceOf(URL);
  });

  it('checks what a host name resolves to, and names host and address in the refusal', async () => {
    const error = await refusal(policy(), 'https://rebind.example/hook');
    expect(error.code).toBe('permission_denied');
    expect(error.message).toContain('rebind.example');
    expect(error.message).toContain('127.0.0.1');
    expect(error.message).toMatch(/loopback/);
    expect(error.message).toMatch(/network\.allow list of the config file/);
    await expectBlocked('http://hooks.internal/', /private/);
    await expectBlocked('http://nat64.example/', /cloud metadata/);
  });

  it('refuses a host when any of its addresses is blocked', async () => {
    await expectBlocked('http://mixed.example/', /192\.168\.1\.10/);
  });

  it('refuses localhost by name, and whatever it resolves to', async () => {
    await expectBlocked('http://localhost:8080/', /loopback/);
    await expectBlocked('http://foo.localhost/', /loopback/);
  });

  it.each([
    ['file:///etc/passwd', /scheme "file"/],
    ['ftp://example.com/', /scheme "ftp"/],
    ['gopher://example.com:70/_x', /scheme "gopher"/],
    ['javascript:alert(1)', /scheme "javascript"/],
    ['not a url', /not a valid URL/],
    ['', /required/],
    ['http://user:pass@example.com/', /credentials/],
    ['https://token@example.com/', /credentials/],
  ])('refuses the bad URL %j as invalid_argument', async (url, reason) => {
    const error = await refusal(policy(), url);
    expect(error.code).toBe('invalid_argument');
    expect(error.details.field).toBe('channel.url');
    expect(error.message).toMatch(/^channel\.url: /);
    expect(error.message).toMatch(reason);
  });

  it('refuses a host that does not resolve as invalid_argument', async () => {
    const error = await refusal(policy(), 'https://nowhere.example/');
    expect(error.code).toBe('invalid_argument');
    expect(error.message).toMatch(/does not resolve/);
  });

  it('reports other DNS failures as unavailable', async () => {
    const p = createEgressPolicy([], async () => {
      throw Object.assign(new Error('queryA ETIMEOUT'), { code: 'EAI_AGAIN' });
    });
    expect((await refusal(p, 'https://example.com/')).code).toBe('unavailable');
  });

  it('parseEgressUrl does the synchronous part', () => {
    expect(parseEgressUrl('http://127.0.0.1:1/x', 'u').port).toBe('1');
    expect(() => parseEgressUrl('ftp://x/', 'u')).toThrow(MeshError);
  });
});

describe('the allowlist', () => {
  it('allows an IP address, loopback included', async () => {
    const p = policy(['127.0.0.1', '::1']);
    await expect(p.checkUrl('http://127.0.0.1:9999/', 'u')).resolves.toBeInstanceOf(URL);
    await expect(p.checkUrl('http://[::1]/', 'u')).resolves.toBeInstanceOf(URL);
    await expect(p.checkUrl('http://[::ffff:127.0.0.1]/', 'u')).resolves.toBeInstanceOf(URL);
    await expect(p.checkUrl('http://2130706433/', 'u')).resolves.toBeInstanceOf(URL);
    await expect(p.checkUrl('http://loopback.test/', 'u')).resolves.toBeInstanceOf(URL);
    await expectBlocked('http://127.0.0.2/', /loopback/, p);
  });

  it('allows a CIDR range', async () => {
    const p = policy(['10.0.0.0/8', 'fd00::/8']);
    await expect(p.checkUrl('http://10.200.3.4/', 'u')).resolves.toBeInstanceOf(URL);
    await expect(p.checkUrl('http://hooks.internal/', 'u')).resolves.toBeInstanceOf(URL);
    await expect(p.checkUrl('http://[fd12::1]/', 'u')).resolves.toBeInstanceOf(URL);
    await expectBlocked('http://two.example/', /192\.168\.0\.1/, createEgressPolicy(['10.0.0.0/8'], async () => ['10.0.0.1', '192.168.0.1']));
    await expectBlocked('http://[fc00::1]/', /unique local/, p);
    await expectBlocked('http://192.168.1.1/', /private/, p);
  });

  it('allows a host name, case-insensitively, whatever it resolves to', async () => {
    const p = policy(['Hooks.Internal', 'localhost', 'metadata.google.internal']);
    await expect(p.checkUrl('http://hooks.internal/', 'u')).resolves.toBeInstanceOf(URL);
    await expect(p.checkUrl('http://HOOKS.internal./', 'u')).resolves.toBeInstanceOf(URL);
    await expect(p.checkUrl('http://localhost:3000/', 'u')).resolves.toBeInstanceOf(URL);
    await expect(p.checkUrl('http://metadata.google.internal/', 'u')).resolves.toBeInstanceOf(URL);
    // the name allows the name, not its addresses under another name
    await expectBlocked('http://10.1.2.3/', /private/, p);
    await expectBlocked('http://rebind.example/', /loopback/, p);
  });

  it('with a port, allows only that port', async () => {
    const p = policy(['127.0.0.1:8080', 'localhost:9000', '[::1]:8443']);
    await expect(p.checkUrl('http://127.0.0.1:8080/', 'u')).resolves.toBeInstanceOf(URL);
    await expect(p.checkUrl('http://localhost:9000/', 'u')).resolves.toBeInstanceOf(URL);
    await expect(p.checkUrl('https://[::1]:8443/', 'u')).resolves.toBeInstanceOf(URL);
    await expectBlocked('http://127.0.0.1:8081/', /loopback/, p);
    await expectBlocked('http://127.0.0.1/', /loopback/, p);
    await expectBlocked('http://localhost:9001/', /loopback/, p);
    await expectBlocked('https://[::1]/', /loopback/, p);
    // default ports count
    const q = policy(['hooks.internal:443']);
    await expect(q.checkUrl('https://hooks.internal/', 'u')).resolves.toBeInstanceOf(URL);
    await expectBlocked('http://hooks.internal/', /private/, q);
  });

  it('parses valid entries', () => {
    expect(parseEgressAllowlist(['127.0.0.1', '::1', '10.0.0.0/8', 'fd00::/8', 'localhost', 'hooks.internal', '127.0.0.1:8080', 'localhost:9000', '[::1]:8080']).entries).toEqual([
      { kind: 'ip', address: '127.0.0.1' },
      { kind: 'ip', address: '::1' },
      { kind: 'cidr', network: '10.0.0.0', prefix: 8 },
      { kind: 'cidr', network: 'fd00::', prefix: 8 },
      { kind: 'host', host: 'localhost' },
      { kind: 'host', host: 'hooks.internal' },
      { kind: 'ip', address: '127.0.0.1', port: 8080 },
      { kind: 'host', host: 'localhost', port: 9000 },
      { kind: 'ip', address: '::1', port: 8080 },
    ]);
    expect(parseEgressAllowlist([]).ok).toBe(true);
  });

  it.each([
    '',
    '*.example.com',
    'http://example.com',
    '10.0.0.0/33',
    '10.0.0.0/x',
    'fd00::/129',
    'example.com/8',
    '300.1.1.1',
    '2130706433',
    'localhost:0',
    'localhost:70000',
    'localhost:http',
    '::1:8080:zz',
    '[example.com]:80',
    'exa mple.com',
    '-bad-.example',
  ])('refuses the entry %j, naming it', (entry) => {
    expect(() => parseEgressAllowlist(['127.0.0.1', entry])).toThrow(JSON.stringify(entry));
    expect(() => createEgressPolicy([entry])).toThrow(/network\.allow/);
  });

  it('refuses a non-string entry', () => {
    expect(() => parseEgressAllowlist([42])).toThrow('42');
  });
});

describe('EgressPolicy.lookup', () => {
  let server: http.Server;
  let port: number;
  let hits = 0;

  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      hits += 1;
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  function get(lookup: EgressPolicy['lookup'], host = 'loopback.test'): Promise<{ status: number } | { code: string | undefined; message: string }> {
    return new Promise((resolve) => {
      const request = http.get({ host, port, path: '/', lookup, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      });
      request.on('error', (error: NodeJS.ErrnoException) => resolve({ code: error.code, message: error.message }));
    });
  }

  it('fails the connection with EGRESS_BLOCKED when the host resolves to a blocked address', async () => {
    const before = hits;
    const result = await get(policy().lookup);
    expect(result).toMatchObject({ code: EGRESS_BLOCKED });
    expect('message' in result && result.message).toMatch(/loopback\.test.*127\.0\.0\.1/);
    expect(hits).toBe(before);
  });

  it('fails the connection for a blocked host name', async () => {
    expect(await get(policy().lookup, 'metadata.google.internal')).toMatchObject({ code: EGRESS_BLOCKED });
  });

  it('connects when the address is allowed', async () => {
    const before = hits;
    expect(await get(policy(['127.0.0.1']).lookup)).toEqual({ status: 200 });
    expect(hits).toBe(before + 1);
  });

  it('connects when the host name is allowed', async () => {
    expect(await get(policy(['loopback.test']).lookup)).toEqual({ status: 200 });
  });

  it('ignores port-bound entries (it cannot know the port), lookupFor(port) applies them', async () => {
    const p = policy([`127.0.0.1:${port}`]);
    expect(await get(p.lookup)).toMatchObject({ code: EGRESS_BLOCKED });
    expect(await get(p.lookupFor(port))).toEqual({ status: 200 });
    expect(await get(p.lookupFor(port + 1))).toMatchObject({ code: EGRESS_BLOCKED });
  });

  it('passes DNS failures through', async () => {
    expect(await get(policy().lookup, 'nowhere.example')).toMatchObject({ code: 'ENOTFOUND' });
  });

  it('answers both the single-address and the all-addresses form', async () => {
    const p = policy();
    const single = await new Promise<unknown[]>((resolve) => p.lookup('example.com', {}, (...args) => resolve(args)));
    expect(single).toEqual([null, '93.184.216.34', 4]);
    const v6 = await new Promise<unknown[]>((resolve) => p.lookup('example.com', { family: 6 }, (...args) => resolve(args)));
    expect(v6).toEqual([null, '2606:2800:220:1::1', 6]);
    const all = await new Promise<unknown[]>((resolve) => p.lookup('example.com', { all: true }, (...args) => resolve(args)));
    expect(all).toEqual([
      null,
      [
        { address: '93.184.216.34', family: 4 },
        { address: '2606:2800:220:1::1', family: 6 },
      ],
    ]);
  });
});
