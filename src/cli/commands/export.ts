import { createWriteStream, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { dirname } from 'node:path';
import { ArchiveError, ValidationError } from '../../errors/errors.ts';
import { requireArchivedCorp } from '../../corps/archived-corp.ts';
import { exportJsonl } from '../../export/export-jsonl.ts';
import { type Command, needApp, optionalString, requireString } from '../command.ts';
import { parseTimeRange, TIME_FORMS } from '../time-option.ts';

/** Where `--out FILE` is written until it is whole; the file itself appears only by the final rename. */
interface OutputFile {
  readonly stream: NodeJS.WritableStream;
  /** the first error the stream reported, if any */
  failure(): Error | undefined;
  /** closes the side file and renames it to FILE */
  commit(): Promise<void>;
  /** closes and removes the side file; FILE is not touched */
  abandon(): void;
}

/**
 * Opens `out`'s side file, `out.partial` (0600: it holds chats), refusing a directory or a path that
 * cannot be written with a message naming it, before anything is read from the database.
 */
function openOutputFile(out: string): OutputFile {
  let isDirectory = false;
  try {
    isDirectory = statSync(out).isDirectory();
  } catch {
    // not there yet: the usual case
  }
  if (isDirectory) throw new ValidationError('OUT_INVALID', `--out ${out} is a directory; give the path of a file to write`);
  const partial = `${out}.partial`;
  let fd: number;
  try {
    fd = openSync(partial, 'w', 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' || code === 'ENOTDIR'
        ? `the directory ${dirname(out)} does not exist`
        : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
          ? `${dirname(out)} is not writable`
          : code === 'EISDIR'
            ? `${partial} is a directory`
            : (code ?? (err as Error).message);
    throw new ValidationError('OUT_INVALID', `--out ${out} cannot be written: ${why}`);
  }
  const stream = createWriteStream(partial, { fd });
  let failed: Error | undefined;
  stream.on('error', (err) => {
    failed ??= err;
  });
  return {
    stream,
    failure: () => failed,
    async commit() {
      stream.end();
      await finished(stream);
      try {
        renameSync(partial, out);
      } catch (err) {
        throw new ValidationError('OUT_INVALID', `--out ${out} cannot be written: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    },
    abandon() {
      // the stream closes its descriptor; the name goes now
      stream.destroy();
      rmSync(partial, { force: true });
    },
  };
}

export const exportCommand: Command = {
  name: 'export',
  usage: 'export --corp ID --format jsonl [--out FILE] [--since T] [--until T]',
  summary: `write a corp's archive out, one message per line (streams; --out is written atomically); T is ${TIME_FORMS}; --until is exclusive`,
  options: { corp: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' } },
  async run({ app, values, io }) {
    const corpid = requireString(values, 'corp', 'the corp ID to export');
    const format = optionalString(values, 'format') ?? 'jsonl';
    if (format !== 'jsonl') throw new ValidationError('FORMAT_UNSUPPORTED', `--format ${format} is not supported; use jsonl`);
    const { since, until } = parseTimeRange(optionalString(values, 'since'), optionalString(values, 'until'));
    const out = optionalString(values, 'out');
    if (out === '') throw new ValidationError('OUT_INVALID', '--out is empty; give the path of a file to write');
    const db = needApp(app).store.db;
    await requireArchivedCorp(db, corpid);
    // Into a side file first: a reader of FILE never sees half an export, and an export that fails
    // leaves no FILE at all.
    const file = out === undefined ? undefined : openOutputFile(out);
    const stream = file?.stream ?? io.stdout;
    let count = 0;
    try {
      for await (const line of exportJsonl(db, corpid, { since, until })) {
        if (!stream.write(`${line}\n`)) await once(stream, 'drain');
        const failed = file?.failure();
        if (failed) throw failed;
        count += 1;
        if (io.signal.aborted) throw new ValidationError('INTERRUPTED', 'export interrupted');
      }
      await file?.commit();
    } catch (err) {
      file?.abandon();
      const failed = file?.failure();
      if (failed && !(err instanceof ArchiveError)) {
        throw new ArchiveError(
          'EXPORT_WRITE_FAILED',
          `--out ${out} could not be written (${(failed as NodeJS.ErrnoException).code ?? failed.message}); nothing was left at ${out}`,
          { cause: failed },
        );
      }
      throw err;
    }
    io.err(`exported ${count} messages of ${corpid}${out ? ` to ${out}` : ''}`);
  },
};
