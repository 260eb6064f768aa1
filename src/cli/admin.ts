import { parseArgs } from 'node:util';
import { createApp } from '../app.js';
import { ConfigError, type Config } from '../config/config.js';
import { TENANT_ID_PATTERN } from '../config/file-schema.js';
import type { Logger } from '../logging.js';
import { AuthError, newApiKey } from '../tenancy/auth/api-keys.js';
import { UsageError } from './usage-error.js';
import { ADMIN_USAGE } from './usage.js';

const out = (line: string): void => void process.stdout.write(line + '\n');

type AdminAction =
  | { kind: 'usage' }
  | { kind: 'tenants create'; id: string }
  | { kind: 'tenants list' }
  | { kind: 'keys create'; tenant: string; user: string; permissions: string[] }
  | { kind: 'keys list'; tenant?: string }
  | { kind: 'keys revoke'; id: string };

/** The command line checked before anything is opened, so a mistake (or --help) touches no data folder. */
function parseAdminArgs(command: 'tenants' | 'keys', argv: string[]): AdminAction {
  const [action, ...rest] = argv;
  const usageError = (message: string) => new UsageError(message, ADMIN_USAGE);
  const exactly = (count: number, what: string) => {
    if (rest.length !== count || rest.some((arg) => arg.startsWith('-'))) throw usageError(`${command} ${action} takes ${what}`);
  };
  if (action === undefined) throw usageError(`${command}: which action?`);
  if (action === '--help' || action === '-h' || action === 'help') return { kind: 'usage' };
  if (command === 'tenants' && action === 'create') {
    exactly(1, 'one tenant id');
    const id = rest[0]!;
    if (!TENANT_ID_PATTERN.test(id)) throw usageError(`tenant id "${id}": 1-64 letters, digits, "_", "." or "-", starting with a letter or digit`);
    return { kind: 'tenants create', id };
  }
  if (command === 'tenants' && action === 'list') {
    exactly(0, 'no arguments');
    return { kind: 'tenants list' };
  }
  if (command === 'keys' && action === 'create') {
    const { values } = parseArgs({ args: rest, options: { tenant: { type: 'string' }, user: { type: 'string' }, permissions: { type: 'string', default: '' } }, strict: true });
    if (!values.tenant) throw usageError('keys create: --tenant is required');
    return { kind: 'keys create', tenant: values.tenant, user: values.user ?? '', permissions: values.permissions.split(',').map((p) => p.trim()).filter(Boolean) };
  }
  if (command === 'keys' && action === 'list') {
    const { values } = parseArgs({ args: rest, options: { tenant: { type: 'string' } }, strict: true });
    return { kind: 'keys list', ...(values.tenant !== undefined && { tenant: values.tenant }) };
  }
  if (command === 'keys' && action === 'revoke') {
    exactly(1, 'one key id (see: agent-mesh keys list)');
    return { kind: 'keys revoke', id: rest[0]! };
  }
  throw usageError(`unknown command: ${command} ${action}`);
}

/** Tenants and API keys for HTTP serving. A key is printed once; only a hash of it is stored. */
export async function runAdmin(command: 'tenants' | 'keys', argv: string[], config: Config, logger: Logger): Promise<void> {
  const action = parseAdminArgs(command, argv);
  if (action.kind === 'usage') return out(ADMIN_USAGE);
  const app = await createApp(config, logger, { background: false });
  try {
    if (action.kind === 'tenants create') {
      const { created } = await app.apiKeys.createTenant(action.id, Date.now());
      out(created ? `created tenant ${action.id}` : `tenant ${action.id} already exists`);
    } else if (action.kind === 'tenants list') {
      for (const tenant of await app.apiKeys.listTenants()) out(`${tenant.id}\t${new Date(tenant.createdAt).toISOString()}`);
    } else if (action.kind === 'keys create') {
      const { tenant } = action;
      if (!(await app.apiKeys.tenantExists(tenant))) throw new ConfigError(`--tenant: no tenant "${tenant}" (create it with: agent-mesh tenants create ${tenant})`);
      const { record, token } = newApiKey(tenant, action.user, action.permissions, Date.now());
      await app.apiKeys.createKey(record);
      process.stderr.write(`created key ${record.id} for tenant ${tenant}, user ${record.userId}; it is shown only once:\n`);
      out(token);
    } else if (action.kind === 'keys list') {
      for (const key of await app.apiKeys.listKeys(action.tenant)) {
        out(`${key.id}\t${key.tenantId}\t${key.userId}\t${key.permissions.join(',') || '(tenant default)'}\t${key.revokedAt ? 'revoked' : 'active'}`);
      }
    } else {
      if (!(await app.apiKeys.revokeKey(action.id, Date.now()))) throw new ConfigError(`no active key "${action.id}" (see: agent-mesh keys list)`);
      out(`revoked key ${action.id}`);
    }
  } catch (error) {
    if (error instanceof AuthError) throw new ConfigError(error.message);
    throw error;
  } finally {
    await app.close();
  }
}
