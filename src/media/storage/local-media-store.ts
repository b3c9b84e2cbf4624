/**
 * The default media store: a directory (DATA_DIR/media unless --media-store says otherwise),
 * files named by their SHA-256 under two levels of fan-out. A file appears under its final name
 * only whole: it is fsynced, then renamed into place (atomic on one filesystem). Files are 0600 and
 * directories made here 0700: media are chat content, not for other local users.
 */
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
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
  const removeFile = async (file: string): Promise<void> => {
    try {
      await unlink(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  };
  // fan-out directories known to exist (made or seen by this process): no mkdir per file
  const dirs = new Set<string>();
  // stores under way, by key: a second file with the same bytes waits until the first is durable,
  // so it is never reported stored while the only copy may still be lost to a power cut
  const storing = new Map<string, Promise<unknown>>();

  async function store(target: string, file: string): Promise<void> {
    const dir = dirname(target);
    if (!dirs.has(dir)) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      dirs.add(dir);
    }
    const fh = await open(file, 'r+');
    try {
      // whoever wrote the file (ffmpeg makes its output 0644) it is stored readable by the owner only
      await fh.chmod(0o600);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(file, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') dirs.delete(dir);
      if (code !== 'EXDEV') throw err;
      // another filesystem: copy beside the target, sync it, then rename there
      const side = `${target}.${process.pid}.tmp`;
      await copyFile(file, side);
      const copy = await open(side, 'r+');
      try {
        await copy.chmod(0o600);
        await copy.sync();
      } finally {
        await copy.close();
      }
      await rename(side, target);
      await removeFile(file);
    }
    // the rename itself must survive a power cut: sync the directory entry
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } catch {
      // some filesystems refuse fsync on a directory; the data itself is synced
    } finally {
      await dirHandle.close();
    }
  }

  return {
    kind: 'local',
    description: `directory ${root}`,
    async putFile(key, file, info) {
      const target = pathOf(key);
      for (let running = storing.get(key); running; running = storing.get(key)) await running.catch(() => undefined);
      // registered before the first await, so a put of the same key that comes later waits for it
      const done = (async (): Promise<'stored' | 'existed'> => {
        if ((await sizeAt(target)) === info.size) {
          await removeFile(file);
          return 'existed';
        }
        await store(target, file);
        return 'stored';
      })();
      storing.set(key, done);
      try {
        return await done;
      } finally {
        if (storing.get(key) === done) storing.delete(key);
      }
    },
    async has(key) {
      return (await sizeAt(pathOf(key))) !== undefined;
    },
    async read(key, range): Promise<Readable> {
      const path = pathOf(key);
      await stat(path);
      return createReadStream(path, range ? { start: range.start, end: range.end } : {});
    },
  };
}
