import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConfigSaveError } from './api-errors.ts';

/** Writes `text` to `path` atomically: a temp file beside it, fsync, rename, fsync the directory. */
export function writeFileAtomic(path: string, text: string): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fd = openSync(temp, 'w', 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
    try {
      const dirFd = openSync(dirname(path), 'r');
      try {
        fsyncSync(dirFd);
      } finally {
        closeSync(dirFd);
      }
    } catch {
      // Some file systems cannot fsync a directory; the rename itself is still atomic.
    }
  } catch (cause) {
    try {
      unlinkSync(temp);
    } catch {
      // the temp file was never created or is already renamed
    }
    throw new ConfigSaveError(`could not save the config to ${path}`, { cause });
  }
}
