import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/** A lease owner id: host and pid first, so a dead holder on this machine can be recognised. */
export const newLeaseOwner = (): string => `${hostname()}|${process.pid}|${randomUUID()}`;

/** A lease holder on this machine whose process is gone holds nothing; holders elsewhere are trusted until the lease ends. */
export function isOwnerAlive(owner: string): boolean {
  const [host, pid] = owner.split('|');
  if (host !== hostname()) return true;
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
