import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The data folder cannot be used; the message says why in one line, for whoever set AGENT_MESH_DATA_DIR. */
export class DataFolderError extends Error {
  override name = 'DataFolderError';
}

const codeOf = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? (error as Error).message;

/**
 * Creates the data folder and any missing parents, mode 0700. Not mkdirSync's recursive mode: on Node 20
 * it retries forever when mkdir answers ENOENT under a parent that exists (a path under /proc, some FUSE
 * mounts), and the server would spin instead of saying what is wrong.
 */
export function ensureDataFolder(dir: string): void {
  const missing: string[] = [];
  for (let path = resolve(dir); ; path = dirname(path)) {
    let stat;
    try {
      stat = statSync(path, { throwIfNoEntry: false });
    } catch (error) {
      // ENOTDIR: an ancestor is a file; going up finds it and says so.
      if (codeOf(error) !== 'ENOTDIR') throw new DataFolderError(`${dir}: cannot look at ${path} (${codeOf(error)})`);
    }
    if (stat) {
      if (!stat.isDirectory()) throw new DataFolderError(`${dir}: ${path} is a file, not a folder`);
      break;
    }
    missing.push(path);
    if (dirname(path) === path) break;
  }
  for (const path of missing.reverse()) {
    try {
      mkdirSync(path, { mode: 0o700 });
    } catch (error) {
      // Another process starting on the same folder may have just made it.
      if (codeOf(error) !== 'EEXIST') throw new DataFolderError(`${dir}: cannot create ${path} (${codeOf(error)})`);
    }
  }
}
