/**
 * The command line as a shell user meets it: help and the version on stdout, mistakes answered with the
 * usage and status 2, and nothing opened or created before the command line is known to be right.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/http-server-process.js';
import { lazyTempDir } from '../helpers/server-process.js';

const data = lazyTempDir('agent-mesh-cli');
afterAll(() => data.cleanup());

describe('the agent-mesh command line', () => {
  it('prints help and the version on stdout', async () => {
    const version = await runCli({}, '--version');
    expect(version).toMatchObject({ status: 0, stderr: '' });
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    for (const args of [['--help'], ['tenants', '--help'], ['keys', '--help'], ['doctor', '--help']]) {
      const help = await runCli({ AGENT_MESH_DATA_DIR: join(data.dir, 'never') }, ...args);
      expect(help.status, args.join(' ')).toBe(0);
      expect(help.stdout).toMatch(/agent-mesh keys create --tenant T --user U/);
    }
    expect(existsSync(join(data.dir, 'never')), '--help created the data folder').toBe(false);
  });

  it('doctor says a missing data folder is missing, instead of creating it and passing', async () => {
    const dir = join(data.dir, 'mistyped');
    const run = await runCli({ AGENT_MESH_DATA_DIR: dir }, 'doctor');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/warn {2}data folder: .*mistyped does not exist; agent-mesh creates it on first start/);
    expect(run.stdout).not.toMatch(/all checks passed/);
    expect(existsSync(dir)).toBe(false);
  });

  it.each([
    [['tenants'], /tenants: which action\?/],
    [['keys'], /keys: which action\?/],
    [['tenants', 'delete', 'x'], /unknown command: tenants delete/],
    [['tenants', 'create', 'x', 'extra'], /tenants create takes one tenant id/],
    [['tenants', 'create', 'no spaces'], /tenant id "no spaces": 1-64 letters/],
    [['keys', 'revoke'], /keys revoke takes one key id/],
    [['keys', 'create', '--user', 'u'], /keys create: --tenant is required/],
    [['stdio', '--bogus'], /stdio takes no arguments, not "--bogus"/],
    [['doctor', 'now'], /doctor takes no arguments/],
    [['frobnicate'], /unknown command "frobnicate"/],
  ])('answers %j with what is wrong, the usage and status 2, creating nothing', async (args, message) => {
    const dir = join(data.dir, `untouched-${args.join('-').replace(/\W/g, '')}`);
    const run = await runCli({ AGENT_MESH_DATA_DIR: dir }, ...args);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/Usage:|agent-mesh tenants create <id>/);
    expect(existsSync(dir), 'a mistaken command created the data folder').toBe(false);
  });
});
