import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { MeshError } from '../errors.js';
import { toolError } from './errors.js';

/**
 * The answer to a call a shutting-down server cannot finish: a tool error `unavailable` for tools/call (so
 * clients see it like any refused call), a JSON-RPC error with data.code "unavailable" otherwise.
 */
export function shutdownAnswer(id: RequestId, method: string): JSONRPCMessage {
  const error = new MeshError('unavailable', 'the server is shutting down before this call finished; call again (it may or may not have taken effect)');
  if (method === 'tools/call') return { jsonrpc: '2.0', id, result: toolError(error) };
  return { jsonrpc: '2.0', id, error: { code: -32000, message: `unavailable: ${error.message}`, data: { code: 'unavailable' } } };
}
