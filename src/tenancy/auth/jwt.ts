import { createPublicKey, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../../config/config.js';
import { TENANT_ID_PATTERN } from '../../config/file-schema.js';
import { intersectPermissions } from '../permissions.js';
import { issueSession, type TenantSession } from '../session.js';
import type { Authenticated } from './credential.js';
import { isPermission, type Permission } from '../tool-groups.js';

/** How bearer JWTs from an external identity provider are verified and mapped to a tenant session. */
export interface JwtSettings {
  /** Exactly one of these: */
  jwksUrl?: string; // e.g. https://issuer.example/.well-known/jwks.json (jose createRemoteJWKSet, cached)
  publicKey?: string; // a PEM public key (RS256/ES256/EdDSA…) or
  secret?: string; // an HS256 shared secret (at least 32 bytes)
  audience: string | string[];
  issuer: string | string[];
  algorithms?: string[]; // default: derived from the key type; never "none"
  /** Claim names (dotted paths allowed, e.g. "org.id") for tenant, user and permissions. */
  claims: { tenant: string; user: string; permissions?: string };
  clockToleranceSeconds?: number; // default 30
}

/** A refused token. The message is a short reason for the client; it never contains the token. */
export class JwtAuthError extends Error {
  override name = 'JwtAuthError';
}

const SETTINGS_KEYS = ['jwksUrl', 'publicKey', 'secret', 'audience', 'issuer', 'algorithms', 'claims', 'clockToleranceSeconds'];
const CLAIMS_KEYS = ['tenant', 'user', 'permissions'];
const KEY_SOURCES = ['jwksUrl', 'publicKey', 'secret'] as const;

const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'];
const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const EC_ALGORITHMS: Record<string, string> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };
const EDDSA_ALGORITHMS = ['EdDSA', 'Ed25519'];
/** What a JWKS may sign with: every asymmetric algorithm (never a shared secret, never "none"). */
const JWKS_ALGORITHMS = [...RSA_ALGORITHMS, ...Object.values(EC_ALGORITHMS), ...EDDSA_ALGORITHMS];

const MIN_SECRET_BYTES = 32;
const MIN_RSA_BITS = 2048;
const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
const MAX_CLOCK_TOLERANCE_SECONDS = 3600;
const MAX_TOKEN_LENGTH = 16 * 1024;
const MAX_USER_LENGTH = 128;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The public key of a PEM, or an Error naming `jwt.publicKey`. Private keys are refused: they do not belong in the config. */
function parsePublicKey(pem: string): KeyObject {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) throw new Error('jwt.publicKey: this is a private key; give the PEM public key');
  try {
    return createPublicKey(pem);
  } catch {
    throw new Error('jwt.publicKey: not a PEM public key ("-----BEGIN PUBLIC KEY-----…")');
  }
}

/** The algorithms a public key can verify; throws an Error naming `jwt.publicKey` for unsupported keys. */
function algorithmsForKey(key: KeyObject): string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa': {
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < MIN_RSA_BITS) throw new Error(`jwt.publicKey: RSA keys need at least ${MIN_RSA_BITS} bits (this one has ${bits})`);
      return RSA_ALGORITHMS;
    }
    case 'ec': {
      const alg = EC_ALGORITHMS[key.asymmetricKeyDetails?.namedCurve ?? ''];
      if (!alg) throw new Error(`jwt.publicKey: EC curve "${key.asymmetricKeyDetails?.namedCurve ?? '?'}" is not supported (use P-256, P-384 or P-521)`);
      return [alg];
    }
    case 'ed25519':
      return EDDSA_ALGORITHMS;
    default:
      throw new Error(`jwt.publicKey: "${key.asymmetricKeyType ?? key.type}" keys are not supported (use RSA, EC P-256/384/521 or Ed25519)`);
  }
}

function checkJwksUrl(raw: unknown): string {
  if (typeof raw !== 'string' || raw === '') throw new Error('jwt.jwksUrl: must be a URL string');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('jwt.jwksUrl: not a valid URL');
  }
  if (url.username || url.password) throw new Error('jwt.jwksUrl: credentials in the URL are not allowed');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || (isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new Error('jwt.jwksUrl: must be an https: URL (http: only for localhost)');
  }
  return url.href;
}

function checkStringOrList(value: unknown, field: string): string | string[] {
  if (typeof value === 'string') {
    if (value === '') throw new Error(`${field}: must not be empty`);
    return value;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) throw new Error(`${field}: must not be an empty list`);
    return value.map((item, i) => {
      if (typeof item !== 'string' || item === '') throw new Error(`${field}[${i}]: must be a non-empty string`);
      return item;
    });
  }
  throw new Error(value === undefined ? `${field}: required (a string or a list of strings)` : `${field}: must be a string or a list of strings`);
}

function checkClaimName(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new Error(`${field}: must be a claim name (dotted paths allowed, e.g. "org.id")`);
  return value;
}

/** Key material, kind and accepted algorithms of valid settings. */
interface KeySource {
  kind: 'jwks' | 'publicKey' | 'secret';
  allowed: string[];
  /** What the algorithms default to. */
  defaults: string[];
}

function keySource(settings: JwtSettings): KeySource {
  if (settings.jwksUrl !== undefined) return { kind: 'jwks', allowed: JWKS_ALGORITHMS, defaults: JWKS_ALGORITHMS };
  if (settings.publicKey !== undefined) {
    const allowed = algorithmsForKey(parsePublicKey(settings.publicKey));
    return { kind: 'publicKey', allowed, defaults: allowed };
  }
  return { kind: 'secret', allowed: HMAC_ALGORITHMS, defaults: ['HS256'] };
}

/**
 * Validates JWT settings from the config file. Every error message starts with the field it is about
 * (`jwt.secret: …`). Returns a copy holding only the known fields.
 */
export function checkJwtSettings(settings: unknown): JwtSettings {
  if (!isRecord(settings)) throw new Error('jwt: must be an object');
  for (const key of Object.keys(settings)) {
    if (!SETTINGS_KEYS.includes(key)) throw new Error(`jwt.${key}: unknown setting (known: ${SETTINGS_KEYS.join(', ')})`);
  }
  const sources = KEY_SOURCES.filter((key) => settings[key] !== undefined);
  if (sources.length !== 1) {
    throw new Error(
      sources.length === 0
        ? 'jwt: set one of jwksUrl, publicKey or secret'
        : `jwt: set only one of jwksUrl, publicKey or secret (found ${sources.join(' and ')})`,
    );
  }
  const result: JwtSettings = {
    audience: checkStringOrList(settings.audience, 'jwt.audience'),
    issuer: checkStringOrList(settings.issuer, 'jwt.issuer'),
    claims: { tenant: '', user: '' },
  };
  if (settings.jwksUrl !== undefined) result.jwksUrl = checkJwksUrl(settings.jwksUrl);
  if (settings.publicKey !== undefined) {
    if (typeof settings.publicKey !== 'string') throw new Error('jwt.publicKey: must be a PEM string');
    result.publicKey = settings.publicKey;
  }
  if (settings.secret !== undefined) {
    if (typeof settings.secret !== 'string') throw new Error('jwt.secret: must be a string');
    const bytes = Buffer.byteLength(settings.secret, 'utf8');
    if (bytes < MIN_SECRET_BYTES) throw new Error(`jwt.secret: must be at least ${MIN_SECRET_BYTES} bytes (got ${bytes})`);
    result.secret = settings.secret;
  }
  const source = keySource(result);

  if (settings.algorithms !== undefined) {
    const list = settings.algorithms;
    if (!Array.isArray(list) || list.length === 0) throw new Error('jwt.algorithms: must be a non-empty list of algorithm names');
    result.algorithms = list.map((alg, i) => {
      if (typeof alg !== 'string') throw new Error(`jwt.algorithms[${i}]: must be a string`);
      if (alg.toLowerCase() === 'none') throw new Error('jwt.algorithms: "none" is never accepted');
      if (!source.allowed.includes(alg)) {
        throw new Error(`jwt.algorithms: "${alg}" does not fit the ${source.kind} key (allowed: ${source.allowed.join(', ')})`);
      }
      return alg;
    });
  }

  const claims = settings.claims;
  if (!isRecord(claims)) throw new Error(claims === undefined ? 'jwt.claims: required ({ tenant, user, permissions? })' : 'jwt.claims: must be an object');
  for (const key of Object.keys(claims)) {
    if (!CLAIMS_KEYS.includes(key)) throw new Error(`jwt.claims.${key}: unknown claim setting (known: ${CLAIMS_KEYS.join(', ')})`);
  }
  result.claims = { tenant: checkClaimName(claims.tenant, 'jwt.claims.tenant'), user: checkClaimName(claims.user, 'jwt.claims.user') };
  if (claims.permissions !== undefined) result.claims.permissions = checkClaimName(claims.permissions, 'jwt.claims.permissions');

  if (settings.clockToleranceSeconds !== undefined) {
    const tolerance = settings.clockToleranceSeconds;
    if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0 || tolerance > MAX_CLOCK_TOLERANCE_SECONDS) {
      throw new Error(`jwt.clockToleranceSeconds: must be a number of seconds from 0 to ${MAX_CLOCK_TOLERANCE_SECONDS}`);
    }
    result.clockToleranceSeconds = tolerance;
  }
  return result;
}

/**
 * A claim by name: an own property of that exact name first (namespaced claims such as
 * "https://example.com/tenant" contain dots), else a dotted path through nested objects.
 */
function readClaim(payload: JWTPayload, name: string): unknown {
  if (Object.hasOwn(payload, name)) return payload[name];
  let current: unknown = payload;
  for (const segment of name.split('.')) {
    if (!isRecord(current) || !Object.hasOwn(current, segment)) return undefined;
    current = current[segment];
  }
  return current;
}

function permissionsFrom(value: unknown, claim: string): Permission[] {
  let items: unknown[];
  if (typeof value === 'string') items = value.split(' ').filter((item) => item !== '');
  else if (Array.isArray(value)) items = value;
  else throw new JwtAuthError(`permissions claim "${claim}" must be a list of strings or a space-separated string`);
  const permissions = new Set<Permission>();
  for (const item of items) {
    if (typeof item !== 'string') throw new JwtAuthError(`permissions claim "${claim}" must hold only strings`);
    if (!isPermission(item)) {
      throw new JwtAuthError(`permissions claim "${claim}" holds an unknown permission "${item.length > 40 ? `${item.slice(0, 40)}…` : item}"`);
    }
    permissions.add(item);
  }
  return [...permissions];
}

/** A short, token-free reason for a verification failure of jose. */
function reasonFor(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'nbf':
        return 'token not yet valid';
      case 'aud':
        return 'token audience not accepted';
      case 'iss':
        return 'token issuer not accepted';
      case 'iat':
        return 'token issued in the future';
      default:
        return `token claim "${error.claim}" ${error.reason === 'missing' ? 'missing' : 'invalid'}`;
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'token algorithm not allowed';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'token signature invalid';
  if (error instanceof errors.JWKSNoMatchingKey) return 'token signed by an unknown key';
  if (error instanceof errors.JWKSMultipleMatchingKeys) return 'token key is ambiguous (several keys match)';
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) return 'key set unavailable';
  if (error instanceof errors.JWTInvalid || error instanceof errors.JWSInvalid) return 'malformed token';
  if (error instanceof errors.JOSENotSupported) return 'token algorithm or key not supported';
  if (error instanceof errors.JOSEError) return error.code === 'ERR_JOSE_GENERIC' ? 'key set unavailable' : 'invalid token';
  // TypeErrors: a key unusable for the token's algorithm, or the key set fetch failing.
  return 'token could not be verified';
}

/**
 * The auth layer for HTTP with an external identity provider: an `Authorization: Bearer <jwt>` header
 * into a tenant session. The signature (only with the algorithms the configured key kind allows), `exp`
 * (required), `nbf`, `aud` and `iss` are checked; then the tenant, user and permission claims. Without a
 * permissions claim the tenant's configured permissions apply; with one, those it shares with them. Throws JwtAuthError for a refused token,
 * and Error (naming the field) for invalid settings when called.
 */
export function jwtAuthenticator(settings: JwtSettings, config: Config): (authorization: string | undefined) => Promise<TenantSession> {
  const authenticate = jwtCredentialAuthenticator(settings, config);
  return async (authorization) => (await authenticate(authorization)).session;
}

/**
 * Like jwtAuthenticator, also naming the credential: `jwt:["<iss>","<sub>"]` (the user claim when there is no
 * `sub`) and its `exp`. HTTP binds sessions and feeds to it.
 */
export function jwtCredentialAuthenticator(settings: JwtSettings, config: Config): (authorization: string | undefined) => Promise<Authenticated> {
  const checked = checkJwtSettings(settings);
  const source = keySource(checked);
  const algorithms = checked.algorithms ?? source.defaults;
  let key: JWTVerifyGetKey | KeyObject | Uint8Array;
  if (checked.jwksUrl !== undefined) {
    key = createRemoteJWKSet(new URL(checked.jwksUrl), { timeoutDuration: 5_000, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
  } else if (checked.publicKey !== undefined) {
    key = parsePublicKey(checked.publicKey);
  } else {
    key = new TextEncoder().encode(checked.secret ?? '');
  }
  const options = {
    algorithms,
    audience: checked.audience,
    issuer: checked.issuer,
    clockTolerance: checked.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS,
    requiredClaims: ['exp'],
  };
  const { claims } = checked;

  return async (authorization) => {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match) throw new JwtAuthError('missing bearer token');
    const token = match[1]!;
    if (token.length > MAX_TOKEN_LENGTH) throw new JwtAuthError('token too long');

    let payload: JWTPayload;
    try {
      // Two calls so TypeScript picks the overload for a key or a key resolver.
      payload = typeof key === 'function' ? (await jwtVerify(token, key, options)).payload : (await jwtVerify(token, key, options)).payload;
    } catch (error) {
      const reason = reasonFor(error);
      // Only failures that are not about the token (network, key set) keep their cause, for the logs.
      const cause = error instanceof errors.JOSEError ? undefined : error;
      throw new JwtAuthError(reason, cause === undefined ? undefined : { cause });
    }

    const tenantId = readClaim(payload, claims.tenant);
    if (tenantId === undefined) throw new JwtAuthError(`tenant claim "${claims.tenant}" missing`);
    if (typeof tenantId !== 'string' || !TENANT_ID_PATTERN.test(tenantId)) {
      throw new JwtAuthError(`tenant claim "${claims.tenant}" is not a tenant id`);
    }
    const userId = readClaim(payload, claims.user);
    if (userId === undefined) throw new JwtAuthError(`user claim "${claims.user}" missing`);
    if (typeof userId !== 'string' || userId === '' || userId.length > MAX_USER_LENGTH || /\p{Cc}/u.test(userId)) {
      throw new JwtAuthError(`user claim "${claims.user}" must be 1-${MAX_USER_LENGTH} characters, no control characters`);
    }
    const policy = config.policyFor(tenantId);
    const claimed = claims.permissions === undefined ? undefined : readClaim(payload, claims.permissions);
    // As for API keys, the claim narrows the tenant's configured permissions and never widens them.
    const permissions =
      claimed === undefined || claims.permissions === undefined ? policy.permissions : intersectPermissions(permissionsFrom(claimed, claims.permissions), policy.permissions);
    const session = issueSession({
      tenantId,
      userId,
      contextType: 'agent',
      permissions,
      limits: policy.limits,
      rateLimits: policy.rateLimits,
    });
    const subject = typeof payload.sub === 'string' ? payload.sub : userId;
    return {
      session,
      credential: { id: `jwt:${JSON.stringify([payload.iss ?? '', subject])}`, ...(typeof payload.exp === 'number' && { expiresAt: payload.exp * 1000 }) },
    };
  };
}
