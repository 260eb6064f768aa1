/**
 * `npm run bench [-- --backend aws]`: every benchmark of the embedded backend one after another, or with
 * `--backend aws` the comparison of the AWS drivers (on the emulators) with the embedded ones.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { backend: { type: 'string', default: 'local' } }, strict: true });
if (values.backend !== 'local' && values.backend !== 'aws') {
  console.error(`--backend: "${values.backend}" is not local or aws`);
  process.exit(2);
}
const scripts =
  values.backend === 'aws'
    ? ['aws-backend.ts']
    : ['stdio-throughput.ts', 'stdio-server-time.ts', 'events-send.ts', 'proxy-call.ts', 'workflow-transitions.ts', 'http-serve.ts'];
for (const script of scripts) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', resolve(import.meta.dirname, script)], { stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
