import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, SignJWT, UnsecuredJWT, type CryptoKey, type JWTPayload } from 'jose';
import { loadConfig, type Config } from '../../src/config/config.js';
import { assertSession } from '../../src/tenancy/session.js';
import { checkJwtSettings, JwtAuthError, jwtAuthenticator, type JwtSettings } from '../../src/tenancy/auth/jwt.js';

const AUDIENCE = 'agent-mesh';
const ISSUER = 'https://issuer.example';
const SECRET = 'a-shared-secret-of-at-least-32-bytes!!';

function testConfig(): Config {
  const dir = mkdtempSync(join(tmpdir(), 'agent-mesh-jwt-'));
  const path = join(dir, 'mesh.json');
  writeFileSync(
    path,
    JSON.stringify({
      defaults: { permissions: ['kv:read'] },
      tenants: { acme: { permissions: ['kv:read', 'kv:write', 'events:*'], limits: { maxValueBytes: 1234 } } },
    }),
  );
  return loadConfig({ AGENT_MESH_CONFIG: path, AGENT_MESH_DATA_DIR: dir });
}

const now = (): number => Math.floor(Date.now() / 1000);

interface SignOptions {
  alg: string;
  key: CryptoKey | Uint8Array;
  kid?: string;
  audience?: string;
  issuer?: string;
  exp?: number;
  nbf?: number;
}

function sign(claims: JWTPayload, options: SignOptions): Promise<string> {
  const jwt = new SignJWT(claims)
    .setProtectedHeader(options.kid ? { alg: options.alg, kid: options.kid } : { alg: options.alg })
    .setIssuedAt()
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuer(options.issuer ?? ISSUER)
    .setExpirationTime(options.exp ?? now() + 300);
  if (options.nbf !== undefined) jwt.setNotBefore(options.nbf);
  return jwt.sign(options.key);
}

const bearer = (token: string): string => `Bearer ${token}`;
const baseClaims = { tenant: 'acme', sub: 'alice' };
const settingsFor = (key: Pick<JwtSettings, 'jwksUrl' | 'publicKey' | 'secret'>, more: Partial<JwtSettings> = {}): JwtSettings => ({
  ...key,
  audience: AUDIENCE,
  issuer: ISSUER,
  claims: { tenant: 'tenant', user: 'sub', permissions: 'permissions' },
  ...more,
});

async function refused(promise: Promise<unknown>, reason: RegExp): Promise<void> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(JwtAuthError);
  expect((error as Error).message).toMatch(reason);
}

let config: Config;
let rsa: { publicKey: CryptoKey; privateKey: CryptoKey; pem: string };
let es: { publicKey: CryptoKey; privateKey: CryptoKey; pem: string };
let ed: { publicKey: CryptoKey; privateKey: CryptoKey; pem: string };
let otherRsa: { publicKey: CryptoKey; privateKey: CryptoKey };
const hmacKey = new TextEncoder().encode(SECRET);

beforeAll(async () => {
  config = testConfig();
  const pair = async (alg: string) => {
    const keys = await generateKeyPair(alg, { extractable: true });
    return { ...keys, pem: await exportSPKI(keys.publicKey) };
  };
  rsa = await pair('RS256');
  es = await pair('ES256');
  ed = await pair('EdDSA');
  otherRsa = await generateKeyPair('RS256');
});

describe('jwtAuthenticator with a PEM public key', () => {
  it("issues a session with tenant, user and the permissions of an array claim, within the tenant's policy", async () => {
    const auth = jwtAuthenticator(settingsFor({ publicKey: rsa.pem }), config);
    // acme's policy is kv:read, kv:write, events:*: a claim narrows it, and artifacts:* is not in it.
    const token = await sign({ ...baseClaims, permissions: ['kv:read', 'artifacts:*', 'kv:read'] }, { alg: 'RS256', key: rsa.privateKey });
    const session = await auth(bearer(token));
    assertSession(session);
    expect(session.tenantId).toBe('acme');
    expect(session.userId).toBe('alice');
    expect(session.contextType).toBe('agent');
    expect(session.permissions).toEqual(['kv:read']);
    expect(session.limits.maxValueBytes).toBe(1234);
    expect(session.rateLimits).toEqual(config.policyFor('acme').rateLimits);
  });

  it('reads a space-separated (OAuth scope style) permissions claim', async () => {
    const auth = jwtAuthenticator(settingsFor({ publicKey: es.pem }, { claims: { tenant: 'tenant', user: 'sub', permissions: 'scope' } }), config);
    const token = await sign({ ...baseClaims, scope: 'kv:read  events:write' }, { alg: 'ES256', key: es.privateKey });
    expect((await auth(bearer(token))).permissions).toEqual(['kv:read', 'events:write']);
    // A claim never widens the policy: "*" is the tenant's own permissions, workflow:write is not among them.
    const wide = await sign({ ...baseClaims, scope: 'workflow:write *' }, { alg: 'ES256', key: es.privateKey });
    expect((await auth(bearer(wide))).permissions).toEqual(['kv:read', 'kv:write', 'events:*']);
  });

  it('uses the tenant permissions when the claim is absent or not configured', async () => {
    const token = await sign(baseClaims, { alg: 'ES256', key: es.privateKey });
    const withClaim = jwtAuthenticator(settingsFor({ publicKey: es.pem }), config);
    expect((await withClaim(bearer(token))).permissions).toEqual(['kv:read', 'kv:write', 'events:*']);
    const withoutClaim = jwtAuthenticator(settingsFor({ publicKey: es.pem }, { claims: { tenant: 'tenant', user: 'sub' } }), config);
    const other = await sign({ tenant: 'globex', sub: 'bob', permissions: ['*'] }, { alg: 'ES256', key: es.privateKey });
    const session = await withoutClaim(bearer(other));
    expect(session.tenantId).toBe('globex');
    expect(session.permissions).toEqual(['kv:read']); // the defaults: the claim is ignored when not configured
  });

  it('accepts Ed25519 keys', async () => {
    const auth = jwtAuthenticator(settingsFor({ publicKey: ed.pem }), config);
    const token = await sign(baseClaims, { alg: 'EdDSA', key: ed.privateKey });
    expect((await auth(bearer(token))).userId).toBe('alice');
  });

  it('follows dotted claim paths, preferring a claim whose name has dots', async () => {
    const auth = jwtAuthenticator(
      settingsFor({ publicKey: rsa.pem }, { claims: { tenant: 'org.tenant', user: 'https://issuer.example/user', permissions: 'org.access.perms' } }),
      config,
    );
    const token = await sign(
      { org: { tenant: 'acme', access: { perms: 'kv:write' } }, 'https://issuer.example/user': 'carol' },
      { alg: 'RS256', key: rsa.privateKey },
    );
    const session = await auth(bearer(token));
    expect([session.tenantId, session.userId, session.permissions]).toEqual(['acme', 'carol', ['kv:write']]);
    const missing = await sign({ org: { name: 'acme' }, 'https://issuer.example/user': 'carol' }, { alg: 'RS256', key: rsa.privateKey });
    await refused(auth(bearer(missing)), /tenant claim "org.tenant" missing/);
    // Paths never walk into the prototype.
    const proto = await sign({ org: { tenant: 'constructor' }, 'https://issuer.example/user': 'x' }, { alg: 'RS256', key: rsa.privateKey });
    const protoAuth = jwtAuthenticator(settingsFor({ publicKey: rsa.pem }, { claims: { tenant: 'org.tenant', user: 'org.__proto__.x' } }), config);
    await refused(protoAuth(bearer(proto)), /user claim "org.__proto__.x" missing/);
  });

  it('refuses a wrong audience or issuer', async () => {
    const auth = jwtAuthenticator(settingsFor({ publicKey: rsa.pem }), config);
    await refused(auth(bearer(await sign(baseClaims, { alg: 'RS256', key: rsa.privateKey, audience: 'someone-else' }))), /audience/);
    await refused(auth(bearer(await sign(baseClaims, { alg: 'RS256', key: rsa.privateKey, issuer: 'https://evil.example' }))), /issuer/);
  });

  it('accepts any of several audiences and issuers', async () => {
    const auth = jwtAuthenticator(settingsFor({ publicKey: rsa.pem }, { audience: ['x', AUDIENCE], issuer: ['https://other', ISSUER] }), config);
    expect((await auth(bearer(await sign(baseClaims, { alg: 'RS256', key: rsa.privateKey })))).tenantId).toBe('acme');
  });

  it('refuses expired tokens and tokens not yet valid, within the clock tolerance', async () => {
    const auth = jwtAuthenticator(settingsFor({ publicKey: rsa.pem }), config);
    const strict = jwtAuthenticator(settingsFor({ publicKey: rsa.pem }, { clockToleranceSeconds: 0 }), config);
    const key = rsa.privateKey;
    await refused(auth(bearer(await sign(baseClaims, { alg: 'RS256', key, exp: now() - 120 }))), /^token expired$/);
    await refused(auth(bearer(await sign(baseClaims, { alg: 'RS256', key, nbf: now() + 120 }))), /^token not yet valid$/);
    // 10 seconds off: within the default tolerance of 30 seconds, outside a tolerance of 0.
    const justExpired = await sign(baseClaims, { alg: 'RS256', key, exp: now() - 10 });
    const almostValid = await sign(baseClaims, { alg: 'RS256', key, nbf: now() + 10 });
    expect((await auth(bearer(justExpired))).userId).toBe('alice');
    expect((await auth(bearer(almostValid))).userId).toBe('alice');
    await refused(strict(bearer(justExpired)), /^token expired$/);
    await refused(strict(bearer(almostValid)), /^token not yet valid$/);
  });

  it('refuses a token without exp', async () => {
    const auth = jwtAuthenticator(settingsFor({ publicKey: rsa.pem }), config);
    const token = await new SignJWT(baseClaims).setProtectedHeader({ alg: 'RS256' }).setAudience(AUDIENCE).setIssuer(ISSUER).sign(rsa.privateKey);
    await refused(auth(bearer(token)), /"exp" missing/);
  });

  it('refuses a bad signature', async () => {
    const auth = jwtAuthenticator(settingsFor({ publicKey: rsa.pem }), config);
    await refused(auth(bearer(await sign(baseClaims, { alg: 'RS256', key: otherRsa.privateKey }))), /signature invalid/);
    const [header, , signature] = (await sign(baseClaims, { alg: 'RS256', key: rsa.privateKey })).split('.');
    const forged = Buffer.from(JSON.stringify({ ...baseClaims, tenant: 'globex', aud: AUDIENCE, iss: ISSUER, exp: now() + 60 })).toString('base64url');
    await refused(auth(bearer(`${header}.${forged}.${signature}`)), /signature invalid/);
  });

  it('refuses alg none', async () => {
    const auth = jwtAuthenticator(settingsFor({ publicKey: rsa.pem }), config);
    const token = new UnsecuredJWT({ ...baseClaims }).setAudience(AUDIENCE).setIssuer(ISSUER).setExpirationTime(now() + 60).encode();
    await refused(auth(bearer(token)), /algorithm not allowed/);
    const hmac = jwtAuthenticator(settingsFor({ secret: SECRET }), config);
    await refused(hmac(bearer(token)), /algorithm not allowed/);
  });

  it('refuses an HS token when an RS key is configured, even one keyed with the PEM text', async () => {
    const auth = jwtAuthenticator(settingsFor({ publicKey: rsa.pem }), config);
    await refused(auth(bearer(await sign(baseClaims, { alg: 'HS256', key: hmacKey }))), /algorithm not allowed/);
    const confused = await sign(baseClaims, { alg: 'HS256', key: new TextEncoder().encode(rsa.pem) });
    await refused(auth(bearer(confused)), /algorithm not allowed/);
  });

  it('refuses an algorithm the configured list leaves out', async () => {
    const auth = jwtAuthenticator(settingsFor({ publicKey: rsa.pem }, { algorithms: ['PS256'] }), config);
    await refused(auth(bearer(await sign(baseClaims, { alg: 'RS256', key: rsa.privateKey }))), /algorithm not allowed/);
    const pss = await importPKCS8(await exportPKCS8(rsa.privateKey), 'PS256');
    expect((await auth(bearer(await sign(baseClaims, { alg: 'PS256', key: pss })))).userId).toBe('alice');
  });

  it('refuses missing or invalid tenant and user claims', async () => {
    const auth = jwtAuthenticator(settingsFor({ publicKey: es.pem }), config);
    const key = es.privateKey;
    await refused(auth(bearer(await sign({ sub: 'alice' }, { alg: 'ES256', key }))), /tenant claim "tenant" missing/);
    for (const tenant of ['../etc', '', 'a'.repeat(65), 42, ['acme']]) {
      await refused(auth(bearer(await sign({ sub: 'alice', tenant }, { alg: 'ES256', key }))), /tenant claim "tenant" is not a tenant id/);
    }
    await refused(auth(bearer(await sign({ tenant: 'acme' }, { alg: 'ES256', key }))), /user claim "sub" missing/);
    for (const sub of ['', 'x'.repeat(129), 'a\nb']) {
      await refused(auth(bearer(await sign({ tenant: 'acme', sub }, { alg: 'ES256', key }))), /user claim "sub" must be 1-128 characters/);
    }
    expect((await auth(bearer(await sign({ tenant: 'acme', sub: 'x'.repeat(128) }, { alg: 'ES256', key })))).userId).toHaveLength(128);
  });

  it('refuses a token with an unknown permission or a malformed permissions claim', async () => {
    const auth = jwtAuthenticator(settingsFor({ publicKey: es.pem }), config);
    const key = es.privateKey;
    await refused(
      auth(bearer(await sign({ ...baseClaims, permissions: ['kv:read', 'kv:delete'] }, { alg: 'ES256', key }))),
      /permissions claim "permissions" holds an unknown permission "kv:delete"/,
    );
    await refused(
      auth(bearer(await sign({ ...baseClaims, permissions: 'kv:read openid' }, { alg: 'ES256', key }))),
      /holds an unknown permission "openid"/,
    );
    await refused(auth(bearer(await sign({ ...baseClaims, permissions: ['kv:read', 7] }, { alg: 'ES256', key }))), /must hold only strings/);
    await refused(auth(bearer(await sign({ ...baseClaims, permissions: { kv: 'read' } }, { alg: 'ES256', key }))), /must be a list of strings/);
  });

  it('refuses missing or malformed bearer headers without echoing the token', async () => {
    const auth = jwtAuthenticator(settingsFor({ publicKey: rsa.pem }), config);
    await refused(auth(undefined), /missing bearer token/);
    await refused(auth('Basic abc'), /missing bearer token/);
    const error: unknown = await auth('Bearer not.a.jwt-secret-value').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JwtAuthError);
    expect((error as Error).message).not.toContain('jwt-secret-value');
    await refused(auth(`Bearer ${'a'.repeat(20_000)}`), /too long/);
  });
});

describe('jwtAuthenticator with a shared secret', () => {
  it('accepts HS256 and refuses other secrets and RS tokens', async () => {
    const auth = jwtAuthenticator(settingsFor({ secret: SECRET }), config);
    expect((await auth(bearer(await sign(baseClaims, { alg: 'HS256', key: hmacKey })))).tenantId).toBe('acme');
    const wrong = new TextEncoder().encode('another-secret-of-at-least-32-bytes!!!');
    await refused(auth(bearer(await sign(baseClaims, { alg: 'HS256', key: wrong }))), /signature invalid/);
    await refused(auth(bearer(await sign(baseClaims, { alg: 'RS256', key: rsa.privateKey }))), /algorithm not allowed/);
    // HS384 only when configured.
    await refused(auth(bearer(await sign(baseClaims, { alg: 'HS384', key: hmacKey }))), /algorithm not allowed/);
    const hs384 = jwtAuthenticator(settingsFor({ secret: SECRET }, { algorithms: ['HS384'] }), config);
    expect((await hs384(bearer(await sign(baseClaims, { alg: 'HS384', key: hmacKey })))).userId).toBe('alice');
  });
});

describe('jwtAuthenticator with a JWKS', () => {
  let server: Server;
  let jwksUrl: string;
  let requests = 0;
  let signer: { rs: CryptoKey; es: CryptoKey; stranger: CryptoKey };

  beforeAll(async () => {
    const rsJwk = { ...(await exportJWK(rsa.publicKey)), kid: 'rs-1', alg: 'RS256', use: 'sig' };
    const esJwk = { ...(await exportJWK(es.publicKey)), kid: 'es-1', alg: 'ES256', use: 'sig' };
    const body = JSON.stringify({ keys: [rsJwk, esJwk] });
    server = createServer((req, res) => {
      requests++;
      if (req.url !== '/.well-known/jwks.json') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    jwksUrl = `http://127.0.0.1:${port}/.well-known/jwks.json`;
    signer = { rs: rsa.privateKey, es: es.privateKey, stranger: otherRsa.privateKey };
  });

  afterAll(async () => {
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  });

  it('verifies tokens by kid against the fetched key set, and caches it', async () => {
    const auth = jwtAuthenticator(settingsFor({ jwksUrl }), config);
    const before = requests;
    const rsToken = await sign({ ...baseClaims, permissions: ['kv:read'] }, { alg: 'RS256', key: signer.rs, kid: 'rs-1' });
    const esToken = await sign({ ...baseClaims, sub: 'bob' }, { alg: 'ES256', key: signer.es, kid: 'es-1' });
    expect((await auth(bearer(rsToken))).permissions).toEqual(['kv:read']);
    expect((await auth(bearer(esToken))).userId).toBe('bob');
    expect((await auth(bearer(rsToken))).tenantId).toBe('acme');
    expect(requests - before).toBe(1);
  });

  it('refuses a token signed by a key not in the key set', async () => {
    const auth = jwtAuthenticator(settingsFor({ jwksUrl }), config);
    await refused(auth(bearer(await sign(baseClaims, { alg: 'RS256', key: signer.stranger, kid: 'stranger' }))), /unknown key/);
    // Claiming a known kid does not help: the signature does not verify.
    await refused(auth(bearer(await sign(baseClaims, { alg: 'RS256', key: signer.stranger, kid: 'rs-1' }))), /signature invalid/);
  });

  it('refuses HS and none tokens against a key set', async () => {
    const auth = jwtAuthenticator(settingsFor({ jwksUrl }), config);
    await refused(auth(bearer(await sign(baseClaims, { alg: 'HS256', key: hmacKey, kid: 'rs-1' }))), /algorithm not allowed/);
    const none = new UnsecuredJWT({ ...baseClaims }).setAudience(AUDIENCE).setIssuer(ISSUER).setExpirationTime(now() + 60).encode();
    await refused(auth(bearer(none)), /algorithm not allowed/);
  });

  it('reports an unreachable key set as a refusal without the token', async () => {
    const auth = jwtAuthenticator(settingsFor({ jwksUrl: jwksUrl.replace('jwks.json', 'missing.json') }), config);
    await refused(auth(bearer(await sign(baseClaims, { alg: 'RS256', key: signer.rs, kid: 'rs-1' }))), /key set unavailable/);
  });
});

describe('checkJwtSettings', () => {
  const valid = { secret: SECRET, audience: AUDIENCE, issuer: ISSUER, claims: { tenant: 'tid', user: 'sub' } };
  const fails = (settings: unknown, message: RegExp) => expect(() => checkJwtSettings(settings)).toThrowError(message);

  it('accepts and copies valid settings', () => {
    expect(checkJwtSettings({ ...valid, clockToleranceSeconds: 5 })).toEqual({ ...valid, clockToleranceSeconds: 5 });
    expect(checkJwtSettings({ ...valid, secret: undefined, publicKey: rsa.pem, algorithms: ['RS256', 'PS512'] }).algorithms).toEqual(['RS256', 'PS512']);
    expect(checkJwtSettings({ ...valid, secret: undefined, jwksUrl: 'https://issuer.example/.well-known/jwks.json' }).jwksUrl).toBe(
      'https://issuer.example/.well-known/jwks.json',
    );
  });

  it('needs exactly one key source', () => {
    fails({ ...valid, jwksUrl: 'https://issuer.example/jwks' }, /^jwt: set only one of jwksUrl, publicKey or secret \(found jwksUrl and secret\)/);
    fails({ ...valid, secret: undefined }, /^jwt: set one of jwksUrl, publicKey or secret/);
  });

  it('names the field that is wrong', () => {
    fails('nope', /^jwt: must be an object/);
    fails({ ...valid, secret: 'short' }, /^jwt\.secret: must be at least 32 bytes \(got 5\)/);
    fails({ ...valid, audience: undefined }, /^jwt\.audience: required/);
    fails({ ...valid, audience: [] }, /^jwt\.audience: must not be an empty list/);
    fails({ ...valid, issuer: ['ok', ''] }, /^jwt\.issuer\[1\]: must be a non-empty string/);
    fails({ ...valid, claims: undefined }, /^jwt\.claims: required/);
    fails({ ...valid, claims: { tenant: 'tid' } }, /^jwt\.claims\.user: must be a claim name/);
    fails({ ...valid, claims: { tenant: 'tid', user: 'sub', role: 'x' } }, /^jwt\.claims\.role: unknown claim setting/);
    fails({ ...valid, audiences: 'x' }, /^jwt\.audiences: unknown setting/);
    fails({ ...valid, clockToleranceSeconds: -1 }, /^jwt\.clockToleranceSeconds: /);
    fails({ ...valid, algorithms: [] }, /^jwt\.algorithms: must be a non-empty list/);
  });

  it('refuses "none" and algorithms that do not fit the key', () => {
    fails({ ...valid, algorithms: ['none'] }, /^jwt\.algorithms: "none" is never accepted/);
    fails({ ...valid, algorithms: ['RS256'] }, /^jwt\.algorithms: "RS256" does not fit the secret key/);
    fails({ ...valid, secret: undefined, publicKey: rsa.pem, algorithms: ['HS256'] }, /^jwt\.algorithms: "HS256" does not fit the publicKey key/);
    fails({ ...valid, secret: undefined, publicKey: es.pem, algorithms: ['ES384'] }, /"ES384" does not fit/);
    fails({ ...valid, secret: undefined, jwksUrl: 'https://issuer.example/jwks', algorithms: ['HS256'] }, /"HS256" does not fit the jwks key/);
  });

  it('checks the public key and the JWKS URL', () => {
    fails({ ...valid, secret: undefined, publicKey: 'not a pem' }, /^jwt\.publicKey: not a PEM public key/);
    fails(
      { ...valid, secret: undefined, publicKey: '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----' },
      /^jwt\.publicKey: this is a private key/,
    );
    fails({ ...valid, secret: undefined, jwksUrl: 'http://issuer.example/jwks' }, /^jwt\.jwksUrl: must be an https: URL/);
    fails({ ...valid, secret: undefined, jwksUrl: 'not a url' }, /^jwt\.jwksUrl: not a valid URL/);
    fails({ ...valid, secret: undefined, jwksUrl: 'https://user:pw@issuer.example/jwks' }, /^jwt\.jwksUrl: credentials/);
  });

  it('is applied by jwtAuthenticator', () => {
    expect(() => jwtAuthenticator({ ...valid, secret: 'short' }, config)).toThrowError(/^jwt\.secret: /);
  });
});
