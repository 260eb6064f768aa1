import { performance } from 'node:perf_hooks';
import nodemailer, { type NodemailerError, type SMTPSentMessageInfo, type Transporter } from 'nodemailer';
import type { AlertChannel, AlertMessage, AlertSink, DeliveryOutcome } from '../../ports/alert-sink.js';
import type { TenantSession } from '../../tenancy/session.js';

export interface SmtpAlertSinkOptions {
  /** `smtp://user:pass@host:port` (STARTTLS when the server offers it) or `smtps://...` (TLS from the start). */
  url: string;
  /** The From address of every alert mail. */
  from: string;
  /** Covers connecting, the SMTP dialogue and the upload of one message. */
  timeoutMs: number;
}

/**
 * Checks an SMTP URL (AGENT_MESH_SMTP_URL): smtp:// or smtps:// with a host, and a valid port if one is
 * given. Throws an Error saying what is wrong; the message never repeats the URL, which may hold a password.
 */
export function parseSmtpUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('the SMTP URL is not a valid URL; expected smtp://user:pass@host:port or smtps://user:pass@host:port');
  }
  if (parsed.protocol !== 'smtp:' && parsed.protocol !== 'smtps:') {
    throw new Error(`the SMTP URL must start with smtp:// or smtps:// (it starts with ${parsed.protocol}//)`);
  }
  if (parsed.hostname === '') throw new Error('the SMTP URL has no host; expected smtp://user:pass@host:port');
  if (parsed.pathname !== '' && parsed.pathname !== '/') throw new Error('the SMTP URL must not have a path; expected smtp://user:pass@host:port');
}

/** Nodemailer error codes after which the same message can go through later. */
const TRANSIENT_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ETLS', 'EPROTOCOL', 'EABORT', 'ECONNREFUSED', 'ECONNRESET']);

/**
 * Delivers alerts as plain-text mail through one SMTP server. SMTP 4xx replies, connection errors and
 * timeouts are retryable; 5xx replies (e.g. 550 mailbox unavailable) are not. Never throws for a failed
 * delivery. Call `close()` at shutdown.
 */
export class SmtpAlertSink implements AlertSink {
  readonly type = 'email' as const;
  private readonly transport: Transporter<SMTPSentMessageInfo>;

  constructor(private readonly options: SmtpAlertSinkOptions) {
    parseSmtpUrl(options.url);
    this.transport = nodemailer.createTransport({
      url: options.url,
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
      dnsTimeout: options.timeoutMs,
      socketCloseTimeout: 0,
    });
  }

  async deliver(session: TenantSession, channel: AlertChannel, message: AlertMessage): Promise<DeliveryOutcome> {
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    if (channel.type !== 'email') {
      return { ok: false, error: `the email sink cannot deliver to a channel of type "${channel.type}"`, retryable: false, durationMs: elapsed() };
    }
    if (channel.to.length === 0) return { ok: false, error: 'the channel has no recipients', retryable: false, durationMs: elapsed() };

    const { event } = message;
    const subject = oneLine(channel.subject ?? `[agent-mesh] ${message.alertName}: ${event['detail-type']} from ${event.source}`);
    const text =
      `Alert "${message.alertName}" of tenant ${session.tenantId} matched event ${event.id} ` +
      `(${event['detail-type']} from ${event.source}, ${event.time}). Delivery ${message.deliveryId}, attempt ${message.attempt}.\n\n` +
      `${JSON.stringify(event, null, 2)}\n`;

    try {
      const info = await this.transport.sendMail({
        from: this.options.from,
        to: channel.to,
        subject,
        text,
        headers: {
          'X-Agent-Mesh-Delivery': message.deliveryId,
          'X-Agent-Mesh-Attempt': String(message.attempt),
        },
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      const status = replyCode(info.response) ?? 250;
      const rejected = info.rejected ?? [];
      return rejected.length > 0
        ? { ok: true, status, error: `the server refused ${rejected.length} of ${channel.to.length} recipients: ${rejected.join(', ')}`, retryable: false, durationMs: elapsed() }
        : { ok: true, status, retryable: false, durationMs: elapsed() };
    } catch (error) {
      return { ...describeFailure(error as NodemailerError, this.options.timeoutMs), durationMs: elapsed() };
    }
  }

  /** Closes the SMTP connection(s). */
  close(): void {
    this.transport.close();
  }
}

function describeFailure(error: NodemailerError, timeoutMs: number): Omit<DeliveryOutcome, 'durationMs'> {
  const status = error.responseCode ?? replyCode(error.response);
  if (status !== undefined && status >= 400 && status < 600) {
    // RFC 5321: 4yz replies are transient, 5yz permanent; 503 (bad sequence) only says this session went wrong.
    const retryable = status < 500 || status === 503;
    return { ok: false, status, error: `SMTP ${oneLine(error.response ?? error.message)}`, retryable };
  }
  const code = error.code ?? '';
  if (code === 'EABORT' || code === 'ETIMEDOUT' || error.name === 'TimeoutError') {
    return { ok: false, error: `the SMTP server did not finish within ${timeoutMs} ms`, retryable: true };
  }
  const retryable = TRANSIENT_CODES.has(code) || TRANSIENT_CODES.has(error.originalCode ?? '');
  return { ok: false, error: oneLine(`SMTP delivery failed: ${code ? `${code} ` : ''}${error.message}`), retryable };
}

function replyCode(response: string | undefined): number | undefined {
  const match = /^([2-5][0-9][0-9])\b/.exec(response ?? '');
  return match ? Number(match[1]) : undefined;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').trim();
}
