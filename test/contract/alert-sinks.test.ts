import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SmtpAlertSink, parseSmtpUrl } from '../../src/drivers/net/smtp-alert-sink.js';
import { WebhookAlertSink } from '../../src/drivers/net/webhook-alert-sink.js';
import { createEgressPolicy, type EgressPolicy } from '../../src/net/egress-policy.js';
import type { AlertChannel, AlertMessage } from '../../src/ports/alert-sink.js';
import { ORDER_PLACED } from '../helpers/events.js';
import { testSession } from '../helpers/sessions.js';

const session = testSession('acme');

const event = ORDER_PLACED;

const message: AlertMessage = { alertName: 'big-orders', deliveryId: 'dlv-123', attempt: 2, event };

/** Fake DNS for host names the tests use; nothing leaves loopback. */
const resolver = async (host: string): Promise<string[]> => {
  if (host === 'hooks.test') return ['127.0.0.1'];
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
};

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('WebhookAlertSink', () => {
  interface Seen {
    method: string | undefined;
    url: string | undefined;
    headers: http.IncomingHttpHeaders;
    body: string;
  }
  const seen: Seen[] = [];
  /** What the server does, by path. */
  const behaviour: Record<string, (res: http.ServerResponse) => void> = {
    '/ok': (res) => res.writeHead(204).end(),
    '/big': (res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(1024 * 1024)),
    '/500': (res) => res.writeHead(500).end('boom'),
    '/503': (res) => res.writeHead(503).end(),
    '/429': (res) => res.writeHead(429).end(),
    '/408': (res) => res.writeHead(408).end(),
    '/404': (res) => res.writeHead(404).end('no such hook'),
    '/401': (res) => res.writeHead(401).end(),
    '/302': (res) => res.writeHead(302, { location: '/ok' }).end(),
    '/hang': () => {},
  };
  let server: http.Server;
  let port: number;
  const hanging = new Set<http.ServerResponse>();

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const path = (req.url ?? '').split('?')[0]!;
        if (path === '/hang') hanging.add(res);
        (behaviour[path] ?? ((r: http.ServerResponse) => r.writeHead(418).end()))(res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const allowed = createEgressPolicy(['127.0.0.1'], resolver);
  const sink = (policy: EgressPolicy = allowed, timeoutMs = 2_000): WebhookAlertSink => new WebhookAlertSink({ policy, timeoutMs, userAgent: 'agent-mesh/test' });
  const channel = (path: string, headers?: Record<string, string>): AlertChannel => ({ type: 'webhook', url: `http://127.0.0.1:${port}${path}`, ...(headers ? { headers } : {}) });

  it('POSTs the alert as JSON with the delivery headers and the channel headers', async () => {
    const before = seen.length;
    const outcome = await sink().deliver(
      session,
      channel('/ok?key=1', {
        Authorization: 'Bearer s3cret',
        'X-Custom': 'yes',
        'Content-Type': 'text/plain',
        Host: 'evil.example',
        'Content-Length': '1',
        'X-Agent-Mesh-Delivery': 'forged',
      }),
      message,
    );
    expect(outcome).toMatchObject({ ok: true, status: 204, retryable: false });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(0);
    expect(seen.length).toBe(before + 1);
    const request = seen.at(-1)!;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/ok?key=1');
    expect(JSON.parse(request.body)).toEqual({ alert: 'big-orders', tenant_id: 'acme', delivery_id: 'dlv-123', attempt: 2, event });
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['content-length']).toBe(String(Buffer.byteLength(request.body)));
    expect(request.headers.host).toBe(`127.0.0.1:${port}`);
    expect(request.headers['user-agent']).toBe('agent-mesh/test');
    expect(request.headers['x-agent-mesh-delivery']).toBe('dlv-123');
    expect(request.headers['x-agent-mesh-attempt']).toBe('2');
    expect(request.headers.authorization).toBe('Bearer s3cret');
    expect(request.headers['x-custom']).toBe('yes');
  });

  it('connects through a host name that the allowlist names, checking the address it resolves to', async () => {
    const policy = createEgressPolicy(['hooks.test'], resolver);
    const outcome = await sink(policy).deliver(session, { type: 'webhook', url: `http://hooks.test:${port}/ok` }, message);
    expect(outcome).toMatchObject({ ok: true, status: 204 });
    expect(seen.at(-1)!.headers.host).toBe(`hooks.test:${port}`);
  });

  it('reads and discards a large response body', async () => {
    expect(await sink().deliver(session, channel('/big'), message)).toMatchObject({ ok: true, status: 200 });
  });

  it.each([
    ['/500', 500, true],
    ['/503', 503, true],
    ['/429', 429, true],
    ['/408', 408, true],
    ['/404', 404, false],
    ['/401', 401, false],
  ])('maps %s to status %i, retryable %s', async (path, status, retryable) => {
    const outcome = await sink().deliver(session, channel(path), message);
    expect(outcome).toMatchObject({ ok: false, status, retryable });
    expect(outcome.error).toContain(String(status));
  });

  it('does not follow a redirect', async () => {
    const before = seen.length;
    const outcome = await sink().deliver(session, channel('/302'), message);
    expect(outcome).toMatchObject({ ok: false, status: 302, retryable: false });
    expect(outcome.error).toMatch(/redirects are not followed/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen.length).toBe(before + 1);
  });

  it('times out a server that never answers, within timeoutMs, as retryable', async () => {
    const outcome = await sink(allowed, 300).deliver(session, channel('/hang'), message);
    expect(outcome).toMatchObject({ ok: false, retryable: true });
    expect(outcome.status).toBeUndefined();
    expect(outcome.error).toMatch(/300 ms/);
    expect(outcome.durationMs).toBeGreaterThanOrEqual(250);
    expect(outcome.durationMs).toBeLessThan(1_500);
  });

  it('reports a closed port as a retryable connection error', async () => {
    const closed = await closedPort();
    const outcome = await sink().deliver(session, { type: 'webhook', url: `http://127.0.0.1:${closed}/ok` }, message);
    expect(outcome).toMatchObject({ ok: false, retryable: true });
    expect(outcome.status).toBeUndefined();
    expect(outcome.error).toMatch(/ECONNREFUSED/);
  });

  it('refuses a blocked address without sending anything, not retryable', async () => {
    const before = seen.length;
    const blocked = createEgressPolicy([], resolver);
    const literal = await sink(blocked).deliver(session, channel('/ok'), message);
    expect(literal).toMatchObject({ ok: false, retryable: false });
    expect(literal.error).toMatch(/127\.0\.0\.1.*loopback.*network\.allow/);
    const named = await sink(blocked).deliver(session, { type: 'webhook', url: `http://hooks.test:${port}/ok` }, message);
    expect(named).toMatchObject({ ok: false, retryable: false });
    expect(named.error).toMatch(/hooks\.test.*127\.0\.0\.1.*loopback/);
    const mapped = await sink(blocked).deliver(session, { type: 'webhook', url: `http://[::ffff:127.0.0.1]:${port}/ok` }, message);
    expect(mapped).toMatchObject({ ok: false, retryable: false });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen.length).toBe(before);
  });

  it('refuses a port the allowlist does not name', async () => {
    const before = seen.length;
    const policy = createEgressPolicy([`hooks.test:${port + 1}`, `127.0.0.1:${port + 1}`], resolver);
    expect(await sink(policy).deliver(session, channel('/ok'), message)).toMatchObject({ ok: false, retryable: false });
    expect(await sink(policy).deliver(session, { type: 'webhook', url: `http://hooks.test:${port}/ok` }, message)).toMatchObject({ ok: false, retryable: false });
    expect(seen.length).toBe(before);
  });

  it('refuses bad URLs and headers, not retryable', async () => {
    expect(await sink().deliver(session, { type: 'webhook', url: 'file:///etc/passwd' }, message)).toMatchObject({ ok: false, retryable: false });
    expect(await sink().deliver(session, { type: 'webhook', url: `http://u:p@127.0.0.1:${port}/ok` }, message)).toMatchObject({ ok: false, retryable: false });
    const badHeader = await sink().deliver(session, channel('/ok', { 'X-Bad': 'a\r\nInjected: 1' }), message);
    expect(badHeader).toMatchObject({ ok: false, retryable: false });
    expect(badHeader.error).toMatch(/X-Bad/);
  });

  it('refuses a channel of another type', async () => {
    expect(await sink().deliver(session, { type: 'email', to: ['a@b.c'] }, message)).toMatchObject({ ok: false, retryable: false });
  });
});

describe('SmtpAlertSink', () => {
  interface Received {
    from: string | undefined;
    to: string[];
    data: string;
  }
  const received: Received[] = [];
  const servers: SMTPServer[] = [];
  const sinks: SmtpAlertSink[] = [];

  async function startSmtp(options: Partial<SMTPServerOptions> = {}): Promise<number> {
    const server = new SMTPServer({
      authOptional: true,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth(auth, _session, callback) {
        if (auth.username === 'mesh' && auth.password === 'pw') callback(null, { user: 'mesh' });
        else callback(new Error('bad credentials'));
      },
      onData(stream, smtpSession, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const envelope = smtpSession.envelope;
          received.push({
            from: envelope.mailFrom === false ? undefined : envelope.mailFrom.address,
            to: envelope.rcptTo.map((r) => r.address),
            data: Buffer.concat(chunks).toString('utf8'),
          });
          callback();
        });
      },
      ...options,
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return (server.server.address() as AddressInfo).port;
  }

  const sink = (url: string, timeoutMs = 2_000): SmtpAlertSink => {
    const created = new SmtpAlertSink({ url, from: 'alerts@mesh.test', timeoutMs });
    sinks.push(created);
    return created;
  };

  afterEach(async () => {
    for (const created of sinks.splice(0)) created.close();
    await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  });

  const channel: AlertChannel = { type: 'email', to: ['ops@example.test', 'oncall@example.test'] };

  it('delivers the alert with from, to, subject and the event JSON in the body', async () => {
    const port = await startSmtp();
    const before = received.length;
    const outcome = await sink(`smtp://mesh:pw@127.0.0.1:${port}`).deliver(session, channel, message);
    expect(outcome).toMatchObject({ ok: true, status: 250, retryable: false });
    expect(received.length).toBe(before + 1);
    const mail = received.at(-1)!;
    expect(mail.from).toBe('alerts@mesh.test');
    expect(mail.to).toEqual(['ops@example.test', 'oncall@example.test']);
    const [head, ...rest] = mail.data.split('\r\n\r\n');
    const body = rest.join('\r\n\r\n').replace(/=\r\n/g, '');
    expect(head).toMatch(/^From: alerts@mesh\.test$/m);
    expect(head).toMatch(/^To: ops@example\.test, oncall@example\.test$/m);
    expect(head).toMatch(/^Subject: \[agent-mesh\] big-orders: OrderPlaced from shop\.orders$/m);
    expect(head).toMatch(/^X-Agent-Mesh-Delivery: dlv-123$/m);
    expect(body).toContain('big-orders');
    expect(body).toContain(JSON.stringify(event, null, 2).replace(/\n/g, '\r\n'));
  });

  it('uses the channel subject when there is one', async () => {
    const port = await startSmtp();
    await sink(`smtp://127.0.0.1:${port}`).deliver(session, { type: 'email', to: ['ops@example.test'], subject: 'Orders!' }, message);
    expect(received.at(-1)!.data).toMatch(/^Subject: Orders!$/m);
  });

  it('maps a 550 recipient refusal to not retryable', async () => {
    const port = await startSmtp({
      onRcptTo(_address, _session, callback) {
        callback(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
      },
    });
    const outcome = await sink(`smtp://127.0.0.1:${port}`).deliver(session, channel, message);
    expect(outcome).toMatchObject({ ok: false, status: 550, retryable: false });
    expect(outcome.error).toMatch(/550/);
  });

  it('maps a 451 refusal to retryable', async () => {
    const port = await startSmtp({
      onRcptTo(_address, _session, callback) {
        callback(Object.assign(new Error('try again later'), { responseCode: 451 }));
      },
    });
    const outcome = await sink(`smtp://127.0.0.1:${port}`).deliver(session, channel, message);
    expect(outcome).toMatchObject({ ok: false, status: 451, retryable: true });
  });

  it('reports a partly refused recipient list as delivered, naming the refused ones', async () => {
    const port = await startSmtp({
      onRcptTo(address, _session, callback) {
        callback(address.address.startsWith('oncall') ? Object.assign(new Error('no such user'), { responseCode: 550 }) : undefined);
      },
    });
    const outcome = await sink(`smtp://127.0.0.1:${port}`).deliver(session, channel, message);
    expect(outcome).toMatchObject({ ok: true, retryable: false });
    expect(outcome.error).toMatch(/oncall@example\.test/);
  });

  it('maps a refused login to not retryable', async () => {
    const port = await startSmtp();
    const outcome = await sink(`smtp://mesh:wrong@127.0.0.1:${port}`).deliver(session, channel, message);
    expect(outcome).toMatchObject({ ok: false, retryable: false });
    expect(outcome.status).toBeGreaterThanOrEqual(500);
  });

  it('maps a server that is down to retryable', async () => {
    const port = await closedPort();
    const outcome = await sink(`smtp://127.0.0.1:${port}`).deliver(session, channel, message);
    expect(outcome).toMatchObject({ ok: false, retryable: true });
    expect(outcome.status).toBeUndefined();
  });

  it('maps a server that never greets to a retryable timeout within timeoutMs', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const outcome = await sink(`smtp://127.0.0.1:${port}`, 300).deliver(session, channel, message);
      expect(outcome).toMatchObject({ ok: false, retryable: true });
      expect(outcome.durationMs).toBeLessThan(1_500);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('refuses a channel of another type', async () => {
    const port = await startSmtp();
    expect(await sink(`smtp://127.0.0.1:${port}`).deliver(session, { type: 'webhook', url: 'http://x/' }, message)).toMatchObject({ ok: false, retryable: false });
  });

  it('parseSmtpUrl accepts smtp:// and smtps:// URLs with a host and nothing else', () => {
    expect(() => parseSmtpUrl('smtp://user:pass@mail.example.com:587')).not.toThrow();
    expect(() => parseSmtpUrl('smtps://mail.example.com')).not.toThrow();
    expect(() => parseSmtpUrl('http://mail.example.com')).toThrow(/smtp:\/\/ or smtps:\/\//);
    expect(() => parseSmtpUrl('mail.example.com:25')).toThrow(/smtp:\/\/ or smtps:\/\//);
    expect(() => parseSmtpUrl('not a url')).toThrow(/not a valid URL/);
    expect(() => parseSmtpUrl('smtp://')).toThrow(/no host/);
    expect(() => parseSmtpUrl('smtp://u:secret@:25')).toThrow();
    try {
      parseSmtpUrl('ftp://u:secret@host');
    } catch (error) {
      expect((error as Error).message).not.toContain('secret');
    }
  });
});
