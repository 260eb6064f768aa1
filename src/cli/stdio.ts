import { createApp } from '../app.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../logging.js';
import { DirectToolCalls } from '../mcp/direct-tool-calls.js';
import { createMcpServer } from '../mcp/server.js';
import { toolsCallHandlerOf } from '../mcp/tools-call-handler.js';
import { sessionFromStdioEnvironment } from '../tenancy/auth/stdio-identity.js';
import { DrainingTransport } from '../transport/draining-transport.js';
import { StdioServerTransport } from '../transport/stdio-server-transport.js';
import { VERSION } from '../version.js';

/** As long as `serve` gives in-flight calls on SIGTERM. */
const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Serves one tenant session over stdin/stdout until stdin closes or a signal arrives; either way the calls
 * already received are finished and answered first (for at most SHUTDOWN_GRACE_MS). A second signal
 * stops at once.
 */
export async function runStdio(config: Config, logger: Logger): Promise<void> {
  const app = await createApp(config, logger);
  const session = sessionFromStdioEnvironment(config);
  const server = createMcpServer(session, app.services, {
    version: VERSION,
    enabledToolGroups: config.enabledToolGroups,
    logger,
    exposeIntegrationTools: config.integrations.exposeTools,
  });
  const stdio = new StdioServerTransport();
  const draining = new DrainingTransport(stdio, SHUTDOWN_GRACE_MS);
  const transport = new DirectToolCalls(draining, toolsCallHandlerOf(server));

  let stopping = false;
  const stop = async (reason: string): Promise<void> => {
    if (stopping) {
      if (reason !== 'stdin closed') process.exit(1);
      return;
    }
    stopping = true;
    logger.info({ reason }, 'agent-mesh finishing in-flight calls and stopping');
    await draining.drain();
    await server.close().catch(() => {});
    await app.close();
    logger.flush();
    await stdio.flushed();
    process.exit(0);
  };
  transport.onclose = () => void stop('stdin closed');
  transport.onerror = (error) => logger.warn({ err: error }, 'stdio transport error');
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  await server.connect(transport);
  logger.info(
    { tenant: session.tenantId, user: session.userId, dataDir: config.dataDir, tools: [...config.enabledToolGroups], version: VERSION },
    'agent-mesh serving MCP on stdio',
  );
}
