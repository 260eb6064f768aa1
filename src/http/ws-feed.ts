import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../logging.js';
import type { Services } from '../services/index.js';
import { hasPermission } from '../tenancy/permissions.js';
import type { Authenticated } from '../tenancy/auth/credential.js';
import type { TenantSession } from '../tenancy/session.js';
import { checkHostAndOrigin } from './request-guard.js';

/** A feed that cannot keep up loses messages rather than hold the server's memory. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

export interface FeedOptions {
  allowedHosts(): ReadonlySet<string>;
  /** Authenticates the upgrade request; browsers, which cannot set headers, send `?access_token=`. */
  authenticate(authorization: string | undefined): Promise<Authenticated>;
  services: Services;
  logger: Logger;
}

/**
 * The live feed at /ws: the caller's tenant's events as they are sent, its workflow transitions and its
 * rate-limit refusals, as JSON messages `{type, …}`. Nothing of another tenant ever reaches it.
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
    options
      .authenticate(req.headers.authorization ?? (token ? `Bearer ${token}` : undefined))
      .then(({ session }) => wss.handleUpgrade(req, socket, head, (ws) => open(ws, session)))
      .catch(() => refuse(401, 'Unauthorized'));
  });

  const open = (ws: WebSocket, session: TenantSession): void => {
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
