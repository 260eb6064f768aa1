import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { MeshError } from '../../errors.js';
import { EGRESS_BLOCKED, parseEgressUrl, urlPort, type EgressPolicy } from '../../net/egress-policy.js';
import type { AlertChannel, AlertMessage, AlertSink, DeliveryOutcome } from '../../ports/alert-sink.js';
import type { TenantSession } from '../../tenancy/session.js';

export interface WebhookAlertSinkOptions {
  /** Decides which hosts a webhook may reach; applied to the connection itself (see EgressPolicy.lookup). */
  policy: EgressPolicy;
  /** Covers connecting, sending, and reading the response. */
  timeoutMs: number;
  userAgent: string;
}

/** How much of a response body is read (and discarded) before the connection is dropped. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** Headers the sink sets itself, or that would break the request; a channel cannot set them. */
const RESERVED_HEADERS = new Set([
  'content-type',
  'content-length',
  'host',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'proxy-connection',
  'x-agent-mesh-delivery',
  'x-agent-mesh-attempt',
]);

/** Statuses after which the same request can succeed later. */
const RETRYABLE_STATUSES = new Set([408, 425, 429]);

/**
 * Delivers alerts as JSON POSTs to the channel's URL. Uses node:http(s) rather than fetch so that the egress
 * policy's `lookup` decides where the connection actually goes (no DNS rebinding past the check). Redirects
 * are not followed. Never throws for a failed delivery: the outcome says what happened and whether to retry.
 */
export class WebhookAlertSink implements AlertSink {
  readonly type = 'webhook' as const;

  constructor(private readonly options: WebhookAlertSinkOptions) {}

  async deliver(session: TenantSession, channel: AlertChannel, message: AlertMessage): Promise<DeliveryOutcome> {
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    const fail = (error: string, retryable: boolean, status?: number): DeliveryOutcome =>
      status === undefined ? { ok: false, error, retryable, durationMs: elapsed() } : { ok: false, status, error, retryable, durationMs: elapsed() };

    if (channel.type !== 'webhook') return fail(`the webhook sink cannot deliver to a channel of type "${channel.type}"`, false);

    let url: URL;
    try {
      url = parseEgressUrl(channel.url, 'channel.url');
      // A literal IP is connected to without a lookup, so it is checked here; a host name is checked by the lookup.
      if (isIP(bareHost(url.hostname)) !== 0) url = await this.options.policy.checkUrl(channel.url, 'channel.url');
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return fail(reason, error instanceof MeshError && error.code === 'unavailable');
    }

    const body = Buffer.from(
      JSON.stringify({
        alert: message.alertName,
        tenant_id: session.tenantId,
        delivery_id: message.deliveryId,
        attempt: message.attempt,
        event: message.event,
      }),
    );

    const headers: Record<string, string> = { 'user-agent': this.options.userAgent };
    for (const [name, value] of Object.entries(channel.headers ?? {})) {
      const lower = name.toLowerCase();
      if (RESERVED_HEADERS.has(lower)) continue;
      try {
        http.validateHeaderName(lower);
        http.validateHeaderValue(lower, value);
      } catch {
        return fail(`the channel header "${name}" is not a valid HTTP header`, false);
      }
      headers[lower] = value;
    }
    Object.assign(headers, {
      'content-type': 'application/json',
      'content-length': String(body.length),
      'x-agent-mesh-delivery': message.deliveryId,
      'x-agent-mesh-attempt': String(message.attempt),
    });

    const result = await this.post(url, headers, body);
    if ('error' in result) return fail(result.error, result.retryable);
    const { status, statusText } = result;
    if (status >= 200 && status < 300) return { ok: true, status, retryable: false, durationMs: elapsed() };
    const line = `HTTP ${status}${statusText ? ` ${statusText}` : ''}`;
    if (status >= 300 && status < 400) return fail(`${line}: redirects are not followed; point the channel at the final URL`, false, status);
    if (RETRYABLE_STATUSES.has(status) || status >= 500) return fail(line, true, status);
    return fail(line, false, status);
  }

  private post(
    url: URL,
    headers: Record<string, string>,
    body: Buffer,
  ): Promise<{ status: number; statusText: string } | { error: string; retryable: boolean }> {
    const { policy, timeoutMs } = this.options;
    return new Promise((resolve) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const settle = (value: { status: number; statusText: string } | { error: string; retryable: boolean }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      };

      let request: http.ClientRequest;
      try {
        request = (url.protocol === 'https:' ? https : http).request({
          protocol: url.protocol,
          hostname: bareHost(url.hostname),
          port: urlPort(url),
          path: `${url.pathname}${url.search}`,
          method: 'POST',
          headers,
          agent: false,
          lookup: policy.lookupFor(urlPort(url)),
        });
      } catch (error) {
        settle({ error: `request not sent: ${error instanceof Error ? error.message : String(error)}`, retryable: false });
        return;
      }

      timer = setTimeout(() => {
        settle({ error: `no response within ${timeoutMs} ms`, retryable: true });
        request.destroy();
      }, timeoutMs);

      request.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === EGRESS_BLOCKED) settle({ error: error.message, retryable: false });
        else settle({ error: `request failed: ${describeError(error)}`, retryable: true });
      });

      request.on('response', (response) => {
        const status = response.statusCode ?? 0;
        const statusText = response.statusMessage ?? '';
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > MAX_RESPONSE_BYTES) {
            settle({ status, statusText });
            response.destroy();
            request.destroy();
          }
        });
        response.on('end', () => settle({ status, statusText }));
        // The status line arrived, so a body cut short does not change the outcome.
        response.on('error', () => settle({ status, statusText }));
        response.on('aborted', () => settle({ status, statusText }));
      });

      request.end(body);
    });
  }
}

function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

/** One line for a connection error; happy-eyeballs failures come as an AggregateError with an empty message. */
function describeError(error: NodeJS.ErrnoException): string {
  const inner = error instanceof AggregateError ? (error.errors as NodeJS.ErrnoException[]).map((e) => e.message).filter(Boolean).join('; ') : '';
  const text = error.message || inner || 'connection failed';
  return error.code && !text.includes(error.code) ? `${error.code}: ${text}` : text;
}
