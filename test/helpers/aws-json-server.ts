import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An error an AWS JSON service answers with: an HTTP status (400 by default), a type and a message. */
export class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** How one service speaks the AWS JSON protocol. */
export interface AwsJsonProtocol {
  /** `application/x-amz-json-1.0` or `-1.1`. */
  contentType: string;
  /** Of X-Amz-Target, e.g. `AWSEvents.`. */
  targetPrefix: string;
  /** The type an unexpected failure is answered with. */
  internalErrorType: string;
  /** Put before the error type in the body's `__type` (Step Functions sends a qualified name). */
  errorTypePrefix?: string;
}

/**
 * One operation: returns its reply, or undefined and calls `reply` later (a long poll). Throwing an
 * AwsError answers with it.
 */
export type AwsOperation = (body: Record<string, unknown>, reply: (value: unknown) => void, res: ServerResponse) => unknown;

export interface AwsJsonServer {
  endpoint: string;
  /** Closes every connection, long polls included, then the server. */
  close(): Promise<void>;
}

/**
 * A loopback HTTP server for a fake AWS service: POST / with X-Amz-Target naming the operation and a JSON
 * body. `onCall` sees every well-formed request first (to record it, or to throw an injected failure).
 */
export async function startAwsJsonServer(
  protocol: AwsJsonProtocol,
  operations: Record<string, AwsOperation>,
  onCall: (operation: string, body: Record<string, unknown>) => void,
): Promise<AwsJsonServer> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith(protocol.targetPrefix) ? target.slice(protocol.targetPrefix.length) : target;
      let replied = false;
      const send = (status: number, value: unknown, errorType?: string): void => {
        if (replied || res.destroyed) return;
        replied = true;
        const payload = JSON.stringify(value);
        res.writeHead(status, {
          'content-type': protocol.contentType,
          'x-amzn-RequestId': randomUUID(),
          'content-length': Buffer.byteLength(payload),
          ...(errorType && { 'x-amzn-ErrorType': errorType }),
        });
        res.end(payload);
      };
      try {
        if (req.method !== 'POST' || !String(req.headers['content-type'] ?? '').startsWith(protocol.contentType)) {
          throw new AwsError('SerializationException', `expected POST with content-type ${protocol.contentType}`);
        }
        const text = Buffer.concat(chunks).toString('utf8');
        const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
        onCall(operation, body);
        const handler = operations[operation];
        if (!handler) throw new AwsError('UnknownOperationException', `the fake does not implement ${target || 'an empty X-Amz-Target'}`);
        const result = handler(body, (value) => send(200, value), res);
        if (result !== undefined) send(200, result);
      } catch (error) {
        const aws = error instanceof AwsError ? error : new AwsError(protocol.internalErrorType, (error as Error).message, 500);
        send(aws.status, { __type: `${protocol.errorTypePrefix ?? ''}${aws.type}`, message: aws.message }, aws.type);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
