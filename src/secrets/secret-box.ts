import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM for secrets at rest (integration headers and env values). The associated data binds a
 * sealed value to where it belongs (tenant, integration, field), so a value copied to another row
 * does not open.
 */
export class SecretBox {
  private loaded: Buffer | undefined;

  /** `key` may be a function, called once on first use (so no key file appears until a secret is stored). */
  constructor(private readonly key: Buffer | (() => Buffer)) {}

  private get secretKey(): Buffer {
    if (!this.loaded) {
      const key = typeof this.key === 'function' ? this.key() : this.key;
      if (key.length !== 32) throw new Error('a secret key is 32 bytes');
      this.loaded = key;
    }
    return this.loaded;
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.secretKey, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  /** Throws when the value was not sealed with this key for this context. */
  open(sealed: string, context: string): string {
    const [version, payload] = sealed.split(':', 2);
    if (version !== VERSION || !payload) throw new Error('not a sealed secret');
    const raw = Buffer.from(payload, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.secretKey, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  }
}
