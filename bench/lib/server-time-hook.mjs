// Preloaded (node --import) into a server under test by bench/stdio-server-time.ts: records, inside the
// process, the time from each stdin chunk's arrival to the next stdout write (one request in flight at a
// time, so that is the server's own time for the request), and writes the samples to
// BENCH_SERVER_TIME_FILE when the process ends. The same hook goes into every server compared.
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const file = process.env.BENCH_SERVER_TIME_FILE;
const samples = [];
let arrivedAt = 0;

const emit = process.stdin.emit;
process.stdin.emit = function (event, ...args) {
  if (event === 'data' && arrivedAt === 0) arrivedAt = performance.now();
  return emit.call(this, event, ...args);
};
const write = process.stdout.write;
process.stdout.write = function (...args) {
  if (arrivedAt !== 0) samples.push(performance.now() - arrivedAt);
  arrivedAt = 0;
  return write.apply(this, args);
};

let written = false;
const dump = () => {
  if (written || !file) return;
  written = true;
  writeFileSync(file, JSON.stringify(samples));
};
process.on('exit', dump);
process.on('SIGTERM', () => {
  dump();
  // Only when nothing else handles SIGTERM (a bare SDK server); agent-mesh stops itself and exits.
  if (process.listenerCount('SIGTERM') === 1) process.exit(0);
});
