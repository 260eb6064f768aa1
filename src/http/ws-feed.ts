import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../logging.js';
import type { Services } from '../services/index.js';
import { hasPermission } from '../tenancy/permissions.js';
import type { Authenticated } from '../tenancy/auth/credential.js';
import { checkHostAndOrigin } from './request-guard.js';

/** A feed that cannot keep up loses messages rather than hold the server's memory. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

/** How often an open feed's credential is checked again (a key-store lookup): a revoked key's feed closes within this. */
export const CREDENTIAL_RECHECK_MS = 5_000;

/** The close code of a feed whose credential is no longer accepted (revoked, expired): RFC 6455 "policy violation". */
export const CLOSE_CREDENTIAL_REFUSED = 1008;

export interface FeedOptions {
  allowedHosts(): ReadonlySet<string>;
  /** Authenticates the upgrade request; browsers, which cannot set headers, send `?access_token=`. */
  authenticate(authorization: string | undefined): Promise<Authenticated>;
  services: Services;
  logger: Logger;
  /** Default CREDENTIAL_RECHECK_MS. */
  recheckMs?: number;
}

/**
 * The live feed at /ws: the caller's tenant's events as they are sent, its workflow transitions and its
 * rate-limit refusals, as JSON messages `{type, …}`. Nothing of another tenant ever reaches it. The
 * credential is checked again every few seconds and at its expiry: once revoked or expired, the socket is
 * closed with code 1008 and the reason ("credential revoked", "credential expired", …).
 */
export function attachFeed(http: HttpServer, options: FeedOptions): { count(): number; close(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://feed');
    const refuse = (status: number, reason: string) => {
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    };
    if (url.pathname !== '/ws') return refuse(404, 'Not Found');
    if (checkHostAndOrigin(req, options.allowedHosts())) return refuse(403, 'Forbidden');
    const token = url.searchParams.get('access_token');
    const authorization = req.headers.authorization ?? (token ? `Bearer ${token}` : undefined);
    options
      .authenticate(authorization)
      .then((authenticated) => wss.handleUpgrade(req, socket, head, (ws) => open(ws, authenticated, authorization)))
      .catch(() => refuse(401, 'Unauthorized'));
  });

  /** Closes the feed once its credential is refused or expires. */
  const watchCredential = (ws: WebSocket, { credential }: Authenticated, authorization: string | undefined): (() => void) => {
    const refuse = (reason: string) => {
      if (ws.readyState === ws.OPEN) ws.close(CLOSE_CREDENTIAL_REFUSED, reason.slice(0, 120));
    };
    let checking = false;
    const recheck = setInterval(() => {
      if (checking) return;
      checking = true;
      options
        .authenticate(authorization)
        .then(
          (again) => {
            if (again.credential.id !== credential.id) refuse('credential changed');
          },
          (error: unknown) => {
            const message = error instanceof Error ? error.message : String(error);
            refuse(/revoked/i.test(message) ? 'credential revoked' : /expired/i.test(message) ? 'credential expired' : `credential refused: ${message}`);
          },
        )
        .finally(() => (checking = false));
    }, options.recheckMs ?? CREDENTIAL_RECHECK_MS);
    recheck.unref();
    const expiry =
      credential.expiresAt === undefined ? undefined : setTimeout(() => refuse('credential expired'), Math.min(Math.max(0, credential.expiresAt - Date.now()), 2 ** 31 - 1));
    expiry?.unref();
    return () => {
      clearInterval(recheck);
      if (expiry) clearTimeout(expiry);
    };
  };

  const open = (ws: WebSocket, authenticated: Authenticated, authorization: string | undefined): void => {
    const { session } = authenticated;
    let dropped = 0;
    const send = (message: Record<string, unknown>): void => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        dropped++;
        return;
      }
      ws.send(JSON.stringify(dropped > 0 ? { ...message, dropped_before: dropped } : message));
      dropped = 0;
    };
    const { services } = options;
    const unsubscribe: (() => void)[] = [];
    if (hasPermission(session, 'events:read')) unsubscribe.push(services.listeners.subscribe(session, (event) => send({ type: 'event', event })));
    if (hasPermission(session, 'workflow:read')) {
      unsubscribe.push(
        services.workflows.watchTenant(session, (execution, transitions) =>
          send({ type: 'workflow', execution_id: execution.id, workflow: execution.workflow, status: execution.status, current_state: execution.currentState, transitions }),
        ),
      );
    }
    unsubscribe.push(
      services.limiter.onRejected((rejected, service, retryAfterMs) => {
        if (rejected.tenantId === session.tenantId) send({ type: 'rate_limited', service, user: rejected.userId, retry_after_ms: retryAfterMs });
      }),
    );
    unsubscribe.push(watchCredential(ws, authenticated, authorization));
    ws.on('close', () => unsubscribe.forEach((stop) => stop()));
    ws.on('error', (error) => options.logger.debug({ err: error }, 'feed socket error'));
    send({ type: 'hello', tenant: session.tenantId, user: session.userId });
  };

  return {
    count: () => wss.clients.size,
    close: () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}
