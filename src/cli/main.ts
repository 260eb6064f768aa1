#!/usr/bin/env node
import { ConfigError, loadConfig } from '../config/config.js';
import { DataFolderError } from '../drivers/local/data-folder.js';
import { createLogger } from '../logging.js';
import { VERSION } from '../version.js';
import { UsageError } from './usage-error.js';
import { ADMIN_USAGE, SERVE_USAGE } from './usage.js';

const USAGE = `agent-mesh ${VERSION} — a governed MCP mesh for AI agents

Usage:
  agent-mesh            serve MCP on stdio (for Claude Desktop and other MCP clients)
  agent-mesh stdio      the same
  ${SERVE_USAGE}
  ${ADMIN_USAGE.split('\n').join('\n  ')}
  agent-mesh doctor     check the configured backend (table, bucket, bus, Redis) and print what is missing
  agent-mesh --version
  agent-mesh --help

Environment: AGENT_MESH_DATA_DIR (default ~/.agent-mesh), AGENT_MESH_TENANT_ID (default "default"),
AGENT_MESH_USER_ID (default "local"), AGENT_MESH_CONFIG (JSON or YAML policy file),
AGENT_MESH_TOOLS (e.g. "kv,artifacts"), AGENT_MESH_BACKEND (local or aws), AGENT_MESH_REDIS_URL,
LOG_LEVEL (default info). See README.md and DEPLOYMENT.md.`;

// stdout carries only protocol messages: anything printed by accident goes to stderr.
console.log = console.error;
console.info = console.error;

async function main(argv: string[]): Promise<void> {
  const [command = 'stdio'] = argv;
  // Asked for, help and the version are the output, on stdout (`agent-mesh --version | cat`); no server runs.
  if (command === '--help' || command === '-h' || command === 'help') return void process.stdout.write(USAGE + '\n');
  if (command === '--version' || command === '-v') return void process.stdout.write(VERSION + '\n');
  if (!['stdio', 'serve', 'tenants', 'keys', 'doctor'].includes(command)) throw new UsageError(`unknown command "${command}"`, USAGE);
  if ((command === 'stdio' || command === 'doctor') && argv.length > 1) {
    if (argv[1] === '--help' || argv[1] === '-h') return void process.stdout.write(USAGE + '\n');
    throw new UsageError(`${command} takes no arguments, not "${argv.slice(1).join(' ')}" (settings come from the environment)`, USAGE);
  }
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  process.on('uncaughtException', (error) => logger.error({ err: error }, 'uncaught exception'));
  process.on('unhandledRejection', (error) => logger.error({ err: error }, 'unhandled rejection'));
  // Node prints process warnings (the AWS SDK's notice about Node versions, deprecations) as plain text;
  // stderr is the JSON log, so they go through the logger instead.
  process.removeAllListeners('warning');
  process.on('warning', (warning) => logger.warn({ warning: { name: warning.name, message: warning.message } }, 'node warning'));
  // Each command loads only its own modules: a stdio server (one per client window) never loads HTTP's.
  if (command === 'serve') return (await import('./serve.js')).runServe(argv.slice(1), config, logger);
  if (command === 'tenants' || command === 'keys') return (await import('./admin.js')).runAdmin(command, argv.slice(1), config, logger);
  if (command === 'doctor') return (await import('./doctor.js')).runDoctor(config, logger);
  await (await import('./stdio.js')).runStdio(config, logger);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`agent-mesh: ${error.message}\n\n${error.usage}\n`);
    process.exit(2);
  }
  if (typeof (error as { code?: unknown }).code === 'string' && (error as { code: string }).code.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`agent-mesh: ${(error as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (error instanceof ConfigError) {
    process.stderr.write(`agent-mesh: configuration error: ${error.message}\n`);
    process.exit(78);
  }
  if (error instanceof DataFolderError) {
    process.stderr.write(`agent-mesh: cannot use the data folder (AGENT_MESH_DATA_DIR): ${error.message}\n`);
    process.exit(74);
  }
  process.stderr.write(`agent-mesh: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
