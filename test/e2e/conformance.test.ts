import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpServerProcess, type HttpServerProcess } from '../helpers/http-server-process.js';
import { tempDataDir } from '../helpers/server-process.js';

const CONFORMANCE = resolve(import.meta.dirname, '../../node_modules/.bin/conformance');

/**
 * The MCP conformance suite's server scenarios that apply to a product server. The others exercise the
 * suite's own reference fixtures (test:// resources, prompts, sampling and elicitation tools) that a
 * product does not have; completion is not offered.
 */
const SCENARIOS = ['server-initialize', 'ping', 'tools-list', 'logging-set-level', 'server-sse-multiple-streams', 'resources-list', 'dns-rebinding-protection'];

describe('MCP conformance suite (@modelcontextprotocol/conformance 0.1.13) against agent-mesh serve --auth none', () => {
  const data = tempDataDir();
  let server: HttpServerProcess;
  beforeAll(async () => {
    server = await startHttpServerProcess({ AGENT_MESH_DATA_DIR: data.dir }, ['--auth', 'none']);
  });
  afterAll(async () => {
    await server?.stop();
    data.cleanup();
  });

  it.each(SCENARIOS)('passes %s', (scenario) => {
    const run = spawnSync(CONFORMANCE, ['server', '--url', server.url, '--scenario', scenario], { encoding: 'utf8', timeout: 60_000 });
    const output = `${run.stdout}\n${run.stderr}`;
    expect(output, output).toMatch(/Passed: [1-9]\d*\/\d+, 0 failed/);
  });
});
