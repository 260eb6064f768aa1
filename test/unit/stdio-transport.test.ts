import { PassThrough } from 'node:stream';
import { JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { StdioServerTransport, isPlainRequestOrNotification } from '../../src/transport/stdio-server-transport.js';
import { Rng } from '../helpers/random.js';

const ids: unknown[] = [1, 0, -7, 2.5, 'a', '', null, true, {}, [], undefined];
const methods: unknown[] = ['tools/call', 'ping', '', 7, null, undefined];
const paramsList: unknown[] = [{ name: 'kv_get', arguments: { key: 'k' } }, {}, [], null, 'x', 3, { _meta: { progressToken: 1 } }, { _meta: 'bad' }, undefined];
const versions: unknown[] = ['2.0', '1.0', 2, undefined];
const extras: Record<string, unknown>[] = [{}, { result: {} }, { error: { code: 1, message: 'm' } }, { extra: 1 }, JSON.parse('{"__proto__": {"x": 1}}')];

describe('stdio transport message check', () => {
  it('takes the hand-checked path only for messages the SDK schema accepts', () => {
    const rng = new Rng(20261125);
    let fast = 0;
    for (let i = 0; i < 20000; i++) {
      const message: Record<string, unknown> = { ...rng.pick(extras) };
      for (const [key, choices] of [['jsonrpc', versions], ['id', ids], ['method', methods], ['params', paramsList]] as const) {
        const value = rng.pick(choices);
        if (value !== undefined) message[key] = value;
      }
      const parsed = JSON.parse(JSON.stringify(message)) as unknown;
      if (isPlainRequestOrNotification(parsed)) {
        fast++;
        expect(JSONRPCMessageSchema.safeParse(parsed).success, JSON.stringify(parsed)).toBe(true);
      }
    }
    expect(fast).toBeGreaterThan(50);
  });

  it('answers a line the schema refuses with Invalid Request and passes a valid one on as parsed', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const transport = new StdioServerTransport(input, output);
    const received: unknown[] = [];
    transport.onmessage = (message) => received.push(message);
    await transport.start();
    input.write('{"jsonrpc":"2.0","id":1,"method":"ping","extra":true}\n{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x","arguments":{"__proto__":1}}}\n');
    await new Promise((resolve) => setImmediate(resolve));
    expect(JSON.parse(String(output.read()))).toMatchObject({ id: 1, error: { code: -32600 } });
    expect(received).toEqual([JSON.parse('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x","arguments":{"__proto__":1}}}')]);
    await transport.close();
  });
});
