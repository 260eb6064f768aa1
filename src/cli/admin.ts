import { parseArgs } from 'node:util';
import { createApp } from '../app.js';
import { ConfigError, type Config } from '../config/config.js';
import { TENANT_ID_PATTERN } from '../config/file-schema.js';
import type { Logger } from '../logging.js';
import { AuthError, newApiKey } from '../tenancy/auth/api-keys.js';
import { ADMIN_USAGE } from './usage.js';


const out = (line: string): void => void process.stdout.write(line + '\n');

/** Tenants and API keys for HTTP serving. A key is printed once; only a hash of it is stored. */
export async function runAdmin(command: 'tenants' | 'keys', argv: string[], config: Config, logger: Logger): Promise<void> {
  const app = await createApp(config, logger, { background: false });
  try {
    const [action, ...rest] = argv;
    if (command === 'tenants' && action === 'create') {
      const id = rest[0] ?? '';
      if (!TENANT_ID_PATTERN.test(id)) throw new ConfigError(`tenant id "${id}": 1-64 letters, digits, "_", "." or "-", starting with a letter or digit`);
      const { created } = await app.apiKeys.createTenant(id, Date.now());
      out(created ? `created tenant ${id}` : `tenant ${id} already exists`);
    } else if (command === 'tenants' && action === 'list') {
      for (const tenant of await app.apiKeys.listTenants()) out(`${tenant.id}\t${new Date(tenant.createdAt).toISOString()}`);
    } else if (command === 'keys' && action === 'create') {
      const { values } = parseArgs({ args: rest, options: { tenant: { type: 'string' }, user: { type: 'string' }, permissions: { type: 'string', default: '' } }, strict: true });
      if (!values.tenant) throw new ConfigError('--tenant is required: agent-mesh keys create --tenant T --user U');
      const tenant = values.tenant;
      if (!(await app.apiKeys.tenantExists(tenant))) throw new ConfigError(`--tenant: no tenant "${tenant}" (create it with: agent-mesh tenants create ${tenant || '<id>'})`);
      const permissions = values.permissions.split(',').map((p) => p.trim()).filter(Boolean);
      const { record, token } = newApiKey(tenant, values.user ?? '', permissions, Date.now());
      await app.apiKeys.createKey(record);
      process.stderr.write(`created key ${record.id} for tenant ${tenant}, user ${record.userId}; it is shown only once:\n`);
      out(token);
    } else if (command === 'keys' && action === 'list') {
      const { values } = parseArgs({ args: rest, options: { tenant: { type: 'string' } }, strict: true });
      for (const key of await app.apiKeys.listKeys(values.tenant)) {
        out(`${key.id}\t${key.tenantId}\t${key.userId}\t${key.permissions.join(',') || '(tenant default)'}\t${key.revokedAt ? 'revoked' : 'active'}`);
      }
    } else if (command === 'keys' && action === 'revoke') {
      const id = rest[0] ?? '';
      if (!(await app.apiKeys.revokeKey(id, Date.now()))) throw new ConfigError(`no active key "${id}"`);
      out(`revoked key ${id}`);
    } else {
      throw new ConfigError(`unknown command: ${[command, ...argv].join(' ')}\n${ADMIN_USAGE}`);
    }
  } catch (error) {
    if (error instanceof AuthError) throw new ConfigError(error.message);
    throw error;
  } finally {
    await app.close();
  }
}
