import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpServerProcess, type HttpServerProcess } from '../helpers/http-server-process.js';
import { tempDataDir } from '../helpers/server-process.js';

const CONFORMANCE = resolve(import.meta.dirname, '../../node_modules/.bin/conformance');

/** The MCP conformance suite's server scenarios that apply to a product server. */
const EXPECTED_FAILURES = JSON.parse(readFileSync(resolve(import.meta.dirname, 'conformance-expected-failures.json'), 'utf8')) as Record<string, string>;

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

  const run = (scenario: string): string => {
    const result = spawnSync(CONFORMANCE, ['server', '--url', server.url, '--scenario', scenario], { encoding: 'utf8', timeout: 60_000 });
    return `${result.stdout}\n${result.stderr}`;
  };

  it.each(SCENARIOS)('passes %s', (scenario) => {
    const output = run(scenario);
    expect(output, output).toMatch(/Passed: [1-9]\d*\/\d+, 0 failed/);
  });

  // The others need the suite's own fixtures (test_* tools, test:// resources, prompts). Each is listed with
  // its reason, and one that starts passing fails here, so the list stays true.
  it.each(Object.entries(EXPECTED_FAILURES))('still does not pass cleanly %s, as expected: %s', (scenario) => {
    const output = run(scenario);
    expect(output).toMatch(/Passed: \d+\/\d+, \d+ failed, \d+ warnings/);
    expect(output, `${scenario} now passes: remove it from conformance-expected-failures.json`).not.toMatch(/Passed: [1-9]\d*\/\d+, 0 failed, 0 warnings/);
  });

  it('knows every scenario the suite has', () => {
    const listed = spawnSync(CONFORMANCE, ['list'], { encoding: 'utf8' });
    expect(listed.status).toBe(0);
    const serverSection = listed.stdout.split(/Client scenarios/)[0]!;
    const serverScenarios = [...serverSection.matchAll(/^\s+- ([a-z0-9-]+)\s*$/gm)].map((m) => m[1]!);
    expect(serverScenarios.length).toBeGreaterThan(20);
    const known = new Set([...SCENARIOS, ...Object.keys(EXPECTED_FAILURES)]);
    expect(serverScenarios.filter((name) => !known.has(name))).toEqual([]);
  });
});
