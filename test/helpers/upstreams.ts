import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const FIXTURES = resolve(import.meta.dirname, '../fixtures/upstreams');
const require = createRequire(import.meta.url);

/** The real reference servers from the npm registry, started by their package's `bin` entry. */
export const binOf = (pkg: string): string => {
  const manifest = require(`${pkg}/package.json`) as { bin: Record<string, string> };
  return join(dirname(require.resolve(`${pkg}/package.json`)), Object.values(manifest.bin)[0]!);
};
export const EVERYTHING = binOf('@modelcontextprotocol/server-everything');
export const MEMORY = binOf('@modelcontextprotocol/server-memory');

/** server-everything in its own Streamable HTTP mode, made to bind 127.0.0.1 only (see loopback-only.mjs). */
export async function startEverythingHttp(): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', pathToFileURL(join(FIXTURES, 'loopback-only.mjs')).href, EVERYTHING, 'streamableHttp'], {
    env: { PATH: process.env.PATH ?? '', PORT: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const port = await new Promise<number>((done, fail) => {
    let stderr = '';
    const timer = setTimeout(() => fail(new Error(`server-everything did not start: ${stderr}`)), 15_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      const match = /LISTENING (\d+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        done(Number(match[1]));
      }
    });
    child.once('exit', (code) => fail(new Error(`server-everything exited with ${code}: ${stderr}`)));
  });
  child.stderr!.resume();
  return { port, child };
}
