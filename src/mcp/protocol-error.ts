/**
 * A JSON-RPC error answer, thrown from a request handler: the SDK sends `code`, `message` and `data` as
 * they are. Not the SDK's McpError, whose message already begins "MCP error <code>: ", which the client
 * then prefixes again ("MCP error -32602: MCP error -32602: Unknown tool: x").
 */
export class ProtocolError extends Error {
  override name = 'ProtocolError';

  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}
