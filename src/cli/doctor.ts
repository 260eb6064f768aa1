import { existsSync } from 'node:fs';
import { createApp } from '../app.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../logging.js';
import type { BackendCheck } from '../ports/backend.js';

const out = (line: string): void => void process.stdout.write(line + '\n');
const LABEL: Record<BackendCheck['status'], string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' };

/**
 * Checks every configured backend (store, bucket, bus, SNS, Redis) and prints what is missing or denied.
 * Exits 1 when anything failed, so it can gate a deployment.
 */
export async function runDoctor(config: Config, logger: Logger): Promise<void> {
  const where = config.backend === 'aws' ? `aws (${config.aws.region})` : `local (${config.dataDir})`;
  out(`agent-mesh doctor: backend ${where}, rate limits ${config.redisUrl ? `shared on ${redactUrl(config.redisUrl)}` : 'per process'}`);
  if (config.backend === 'local' && !existsSync(config.dataDir)) {
    // Checking would create it, and a mistyped AGENT_MESH_DATA_DIR would then look fine.
    out(`  warn  data folder: ${config.dataDir} does not exist; agent-mesh creates it on first start (is AGENT_MESH_DATA_DIR right?)`);
    return;
  }
  const app = await createApp(config, logger, { background: false });
  let checks: BackendCheck[];
  try {
    checks = await app.check();
  } finally {
    await app.close();
  }
  for (const check of checks) out(`  ${LABEL[check.status]}  ${check.subject}: ${check.detail}`);
  const failed = checks.filter((check) => check.status === 'fail').length;
  out(failed === 0 ? 'all checks passed' : `${failed} check${failed === 1 ? '' : 's'} failed`);
  if (failed > 0) process.exitCode = 1;
}

function redactUrl(raw: string): string {
  const url = new URL(raw);
  if (url.password) url.password = '***';
  return url.toString();
}
