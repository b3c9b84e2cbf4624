import { describe, expect, it } from 'vitest';
import { sniffContentType } from './content-sniff.ts';

const b = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

describe('sniffContentType', () => {
  it('tells the type from the bytes, voice formats precisely', () => {
    const cases: Array<[Buffer, string, string | null]> = [
      [b('#!AMR\n', [0x3c]), 'audio/amr', 'amr-nb'],
      [b('#!AMR-WB\n', [0x44]), 'audio/amr-wb', 'amr-wb'],
      [b([2], '#!SILK_V3', [0, 1]), 'audio/silk', 'silk'],
      [b('#!SILK_V3', [0, 1]), 'audio/silk', 'silk'],
      [b([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]), 'image/jpeg', null],
      [b([0x89], 'PNG\r\n', [0x1a, 0x0a, 0, 0]), 'image/png', null],
      [b('GIF89a', [0, 0]), 'image/gif', null],
      [b([0, 0, 0, 0x20], 'ftypisom', [0, 0]), 'video/mp4', null],
      [b([0, 0, 0, 0x14], 'ftypqt  '), 'video/quicktime', null],
      [b('%PDF-1.7\n'), 'application/pdf', null],
      [b([0x50, 0x4b, 3, 4, 20, 0], '[Content_Types].xml', 'word/document.xml'), 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', null],
      [b([0x50, 0x4b, 3, 4, 20, 0], 'xl/workbook.xml'), 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', null],
      [b([0x50, 0x4b, 3, 4, 20, 0], 'readme.txt'), 'application/zip', null],
      [b('ID3', [4, 0, 0]), 'audio/mpeg', null],
      [b('你好, plain text\n'), 'text/plain; charset=utf-8', null],
      [b([0, 1, 2, 3, 0xfe]), 'application/octet-stream', null],
      [b('MZ', [0x90, 0]), 'application/x-msdownload', null],
    ];
    for (const [head, type, voice] of cases) expect(sniffContentType(head), type).toEqual({ contentType: type, voice });
  });
});
