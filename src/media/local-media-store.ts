/**
 * The default media store: a directory (DATA_DIR/media unless --media-store says otherwise),
 * files named by their SHA-256 under two levels of fan-out. A file appears under its final name
 * only whole: it is fsynced, then renamed into place (atomic on one filesystem).
 */
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { checkKey, type MediaStore } from './media-store.ts';

export function createLocalMediaStore(root: string): MediaStore {
  const pathOf = (key: string): string => join(root, ...checkKey(key).split('/'));
  const sizeAt = async (path: string): Promise<number | undefined> => {
    try {
      return (await stat(path)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  };
  return {
    kind: 'local',
    description: `directory ${root}`,
    async putFile(key, file, info) {
      const target = pathOf(key);
      if ((await sizeAt(target)) === info.size) {
        await rm(file, { force: true });
        return 'existed';
      }
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      const fh = await open(file, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      try {
        await rename(file, target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
        // another filesystem: copy beside the target, then rename there
        const side = `${target}.${process.pid}.tmp`;
        await copyFile(file, side);
        await rename(side, target);
        await rm(file, { force: true });
      }
      // the rename itself must survive a power cut: sync the directory entry
      const dir = await open(dirname(target), 'r');
      try {
        await dir.sync();
      } catch {
        // some filesystems refuse fsync on a directory; the data itself is synced
      } finally {
        await dir.close();
      }
      return 'stored';
    },
    async has(key) {
      return (await sizeAt(pathOf(key))) !== undefined;
    },
    async read(key): Promise<Readable> {
      const path = pathOf(key);
      await stat(path);
      return createReadStream(path);
    },
  };
}
