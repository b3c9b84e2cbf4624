// The partial-file worker thread (partial-files.ts): writes the chunks of media downloads to their
// partial files and hashes them (md5, SHA-256) as they arrive, so neither the write system calls nor
// ~1 ms of hashing per 512 KB chunk run on the main thread, which serves the downloads, the database
// and the pulls. Plain JavaScript with Node built-ins only: it starts in milliseconds, without tsx.
//
// Requests come in order on one port and are answered in order, each with its `rid`:
//   open    {fid, path, keep}  keep = 0: a new empty file; keep > 0: the file cut back to `keep`
//                              bytes and those bytes hashed again (a resumed download); answers
//                              {short: true} when the file is missing or shorter than `keep`.
//                              The caller need not wait for it: a failed open fails every later
//                              request of the file with its error.
//   write   {fid, data, at}    data (a Uint8Array, usually transferred) written at byte `at`, which
//                              must be where the file ends; answered once the bytes are written
//   finish  {fid, data?, at?}  writes the last data if any, closes the file; answers
//                              {md5, sha256, size, head}
//   discard {fid}              closes the file, digests dropped (the file stays on disk)
import { createHash } from 'node:crypto';
import { closeSync, fchmodSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';

const port = parentPort;
if (!port) throw new Error('partial-file-worker.mjs must run on a worker thread');

/** the first bytes kept for type sniffing: SNIFF_BYTES of content-sniff.ts, passed by partial-files.ts */
const headBytes = workerData.headBytes;
const REHASH_BLOCK = 1 << 20;
/** @type {Map<number, {fd: number, size: number, md5: import('node:crypto').Hash, sha: import('node:crypto').Hash, head: Buffer[], headLength: number}>} */
const files = new Map();
/** files whose open failed (or was short), with the error their later requests get */
const unusable = new Map();

function keepHead(file, bytes) {
  if (file.headLength >= headBytes) return;
  const part = Buffer.from(bytes.subarray(0, headBytes - file.headLength));
  file.head.push(part);
  file.headLength += part.length;
}

function openFile(msg) {
  let fd;
  if (msg.keep > 0) {
    try {
      fd = openSync(msg.path, 'r+');
    } catch (err) {
      if (err.code === 'ENOENT') return { short: true };
      throw err;
    }
  } else {
    try {
      fd = openSync(msg.path, 'w', 0o600);
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
      mkdirSync(dirname(msg.path), { recursive: true, mode: 0o700 });
      fd = openSync(msg.path, 'w', 0o600);
    }
  }
  const file = { fd, size: 0, md5: createHash('md5'), sha: createHash('sha256'), head: [], headLength: 0 };
  try {
    // chat content: owner only, also for a file an older version left readable by others
    fchmodSync(fd, 0o600);
    if (msg.keep > 0) {
      if (fstatSync(fd).size < msg.keep) {
        closeSync(fd);
        return { short: true };
      }
      ftruncateSync(fd, msg.keep);
      // hash states cannot be saved, so the bytes already here are read again (local disk only)
      const block = Buffer.allocUnsafe(Math.min(REHASH_BLOCK, msg.keep));
      while (file.size < msg.keep) {
        const n = readSync(fd, block, 0, Math.min(block.length, msg.keep - file.size), file.size);
        if (n === 0) throw new Error(`the partial file ended at byte ${file.size} while being read again`);
        const got = block.subarray(0, n);
        file.md5.update(got);
        file.sha.update(got);
        keepHead(file, got);
        file.size += n;
      }
    }
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  files.set(msg.fid, file);
  return {};
}

function fileOf(fid) {
  const file = files.get(fid);
  if (file) return file;
  const err = unusable.get(fid);
  if (err) throw err;
  throw new Error(`partial file ${fid} is not open`);
}

function writeChunk(msg) {
  const file = fileOf(msg.fid);
  if (!msg.data) return {};
  // the hashes cover the file from byte 0: a write anywhere but the end would leave them wrong
  if (msg.at !== file.size) throw new Error(`a chunk for byte ${msg.at} of a partial file that has ${file.size} bytes`);
  const data = msg.data;
  for (let done = 0; done < data.length;) done += writeSync(file.fd, data, done, data.length - done, msg.at + done);
  file.md5.update(data);
  file.sha.update(data);
  keepHead(file, data);
  file.size += data.length;
  return {};
}

function finishFile(msg) {
  writeChunk(msg);
  const file = fileOf(msg.fid);
  files.delete(msg.fid);
  closeSync(file.fd);
  const head = Buffer.concat(file.head, file.headLength);
  return { md5: file.md5.digest('hex'), sha256: file.sha.digest('hex'), size: file.size, head };
}

function discardFile(msg) {
  unusable.delete(msg.fid);
  const file = files.get(msg.fid);
  if (!file) return {};
  files.delete(msg.fid);
  closeSync(file.fd);
  return {};
}

const OPS = { open: openFile, write: writeChunk, finish: finishFile, discard: discardFile };

port.on('message', (msg) => {
  let reply;
  try {
    reply = { rid: msg.rid, ok: true, ...OPS[msg.op](msg) };
    if (reply.short) unusable.set(msg.fid, new Error('the partial file is missing or shorter than its committed bytes'));
  } catch (err) {
    if (msg.op === 'open') unusable.set(msg.fid, err);
    // a failed write closes its file (the download is tried again, resuming from the database)
    const file = msg.op === 'write' || msg.op === 'finish' ? files.get(msg.fid) : undefined;
    if (file) {
      files.delete(msg.fid);
      try {
        closeSync(file.fd);
      } catch {
        /* already closed */
      }
    }
    // the message and code only, never file contents
    reply = { rid: msg.rid, ok: false, message: err instanceof Error ? err.message : String(err), code: err?.code };
  }
  // a written chunk's memory goes back (moved, not copied) to hold a later chunk; nothing here
  // refers to it any more (the kept head is a copy)
  const memory = reply.ok && msg.data ? msg.data.buffer : undefined;
  if (memory) reply.memory = memory;
  port.postMessage(reply, memory ? [memory] : []);
});
