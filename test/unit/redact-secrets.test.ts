import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../../src/drivers/mcp/redact-secrets.js';

describe('redactSecrets', () => {
  it('hides every occurrence, the longest secret first, and leaves values too short to be secrets', () => {
    expect(redactSecrets('token abcd1234 and abcd1234abcd1234, mode on', ['abcd1234', 'abcd1234abcd1234', 'on'])).toBe('token *** and ***, mode on');
  });

  it('hides the lines of a multi-line secret, so a part of a PEM key shows nothing of it', () => {
    const pem = '-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----';
    expect(redactSecrets('…MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----\nexit', [pem])).toBe('…***\n***\nexit');
  });

  it('drops the start of a tail, where the end of a cut-off secret may stand', () => {
    const secret = 'tok-SECRET-123';
    const tail = `RET-123 then ${secret} again`;
    expect(redactSecrets(tail, [secret], true)).toBe(' then *** again');
    expect(redactSecrets(tail, [secret])).toBe('RET-123 then *** again');
  });
});
