import { pino, type Logger } from 'pino';

export type { Logger };

/** pino JSON on stderr: stdout belongs to the stdio protocol. */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level: level.toLowerCase(), base: { pid: process.pid, name: 'agent-mesh' } }, pino.destination({ fd: 2, sync: false }));
}
