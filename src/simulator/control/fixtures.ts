/**
 * Fixture files: one plaintext message per line, served in order instead of generated messages.
 * Lines are kept as the exact bytes of the file (raw control characters included). Since a raw
 * line feed cannot sit inside a line, a line that starts with `"` is read as a JSON string literal
 * whose value is the exact plaintext, which can then contain anything.
 */
import { readFile } from 'node:fs/promises';
import { ValidationError } from '../../errors/errors.ts';

export function parseFixtureLines(content: Buffer, source = 'fixtures'): Buffer[] {
  const lines: Buffer[] = [];
  let at = 0;
  let lineNo = 0;
  while (at <= content.length) {
    let nl = content.indexOf(0x0a, at);
    if (nl < 0) nl = content.length;
    lineNo++;
    let line = content.subarray(at, nl);
    if (line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    at = nl + 1;
    if (line.toString('latin1').trim() === '') continue;
    if (line[0] === 0x22) {
      let value: unknown;
      try {
        value = JSON.parse(line.toString('utf8'));
      } catch (err) {
        throw new ValidationError('FIXTURE_INVALID', `${source} line ${lineNo}: a line starting with " must be a JSON string literal holding the plaintext`, { cause: err });
      }
      lines.push(Buffer.from(value as string, 'utf8'));
    } else {
      lines.push(Buffer.from(line));
    }
  }
  return lines;
}

export async function loadFixtureFile(path: string): Promise<Buffer[]> {
  let content: Buffer;
  try {
    content = await readFile(path);
  } catch (err) {
    throw new ValidationError('FIXTURE_FILE_UNREADABLE', `cannot read fixtures file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  return parseFixtureLines(content, path);
}
