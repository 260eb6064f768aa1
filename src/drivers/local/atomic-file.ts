import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Names carry the writer's pid so a sweep can tell a dead writer's leftovers from a live writer's work. */
export function ownedFileName(suffix: string): string {
  return `${process.pid}-${Date.now().toString(36)}-${randomBytes(8).toString('hex')}${suffix}`;
}

export function writerPid(fileName: string): number | undefined {
  const pid = Number.parseInt(fileName.split('-')[0] ?? '', 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Writes `body` to a temp file in `tmpDir`, fsyncs it, and renames it into `dir` (same file system), then
 * fsyncs `dir` so the rename survives a power cut. Returns the final file name.
 */
export async function writeFileAtomically(tmpDir: string, dir: string, body: Buffer): Promise<string> {
  const tmpPath = join(tmpDir, ownedFileName('.tmp'));
  const name = ownedFileName('.bin');
  const handle = await open(tmpPath, 'wx', 0o600);
  try {
    await handle.writeFile(body);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(tmpPath).catch(() => {});
    throw error;
  }
  await handle.close();
  await rename(tmpPath, join(dir, name));
  await syncDirectory(dir);
  return name;
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
