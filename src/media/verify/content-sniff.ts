/**
 * The real type of a file, from its first bytes. A name or extension from a
 * message says nothing reliable (`资料.docx` may be a PDF, `x.jpg` an executable), so the stored
 * content type comes only from here. Voice formats are told apart precisely because they decide
 * how a voice is converted (voice-decode.ts).
 */
export type VoiceFormat = 'amr-nb' | 'amr-wb' | 'silk';

export interface Sniffed {
  /** MIME type; application/octet-stream when unknown */
  contentType: string;
  voice: VoiceFormat | null;
}

/** How many leading bytes `sniffContentType` looks at. */
export const SNIFF_BYTES = 8192;

const ascii = (b: Buffer, at: number, text: string): boolean => b.length >= at + text.length && b.toString('latin1', at, at + text.length) === text;
const bytes = (b: Buffer, at: number, list: readonly number[]): boolean => b.length >= at + list.length && list.every((v, i) => b[at + i] === v);

/** The OOXML kind of a zip, from the member names in its first local headers. */
function zipKind(head: Buffer): string {
  const text = head.toString('latin1');
  if (text.includes('word/')) return 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
  if (text.includes('xl/')) return 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
  if (text.includes('ppt/')) return 'application/vnd.openxmlformats-officedocument.presentationml.presentation';
  if (text.includes('mimetypeapplication/epub+zip')) return 'application/epub+zip';
  return 'application/zip';
}

/** ISO BMFF (`ftyp` box): mp4, mov, 3gp, heic, m4a by brand. */
function isoKind(head: Buffer): string | undefined {
  if (!ascii(head, 4, 'ftyp')) return undefined;
  const brand = head.toString('latin1', 8, 12);
  if (/^(heic|heix|hevc|mif1|msf1)$/.test(brand)) return 'image/heic';
  if (brand === 'avif') return 'image/avif';
  if (brand === 'qt  ') return 'video/quicktime';
  if (brand.startsWith('3g')) return 'video/3gpp';
  if (brand === 'M4A ') return 'audio/mp4';
  return 'video/mp4';
}

/** True when the bytes look like text (UTF-8, no NUL or other binary control characters). */
function looksLikeText(head: Buffer): boolean {
  if (head.length === 0) return false;
  for (const b of head) if (b === 0 || (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x1b)) return false;
  // cut at the last complete UTF-8 sequence, then require it to decode cleanly
  let end = head.length;
  for (let k = 1; k <= 3 && end - k >= 0; k++) {
    const c = head[end - k] as number;
    if ((c & 0xc0) === 0xc0) {
      end -= k;
      break;
    }
    if ((c & 0x80) === 0) break;
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, end));
    return true;
  } catch {
    return false;
  }
}

/** The content type of a file from its first bytes (give at least SNIFF_BYTES when there are). */
export function sniffContentType(head: Buffer): Sniffed {
  const type = (contentType: string, voice: VoiceFormat | null = null): Sniffed => ({ contentType, voice });
  // voice first: the formats WeCom and WeChat use for voice messages
  if (ascii(head, 0, '#!AMR-WB\n')) return type('audio/amr-wb', 'amr-wb');
  if (ascii(head, 0, '#!AMR\n')) return type('audio/amr', 'amr-nb');
  if (ascii(head, 0, '#!SILK_V3') || (head[0] === 0x02 && ascii(head, 1, '#!SILK_V3'))) return type('audio/silk', 'silk');
  if (bytes(head, 0, [0xff, 0xd8, 0xff])) return type('image/jpeg');
  if (bytes(head, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return type('image/png');
  if (ascii(head, 0, 'GIF87a') || ascii(head, 0, 'GIF89a')) return type('image/gif');
  if (ascii(head, 0, 'RIFF') && ascii(head, 8, 'WEBP')) return type('image/webp');
  if (ascii(head, 0, 'RIFF') && ascii(head, 8, 'WAVE')) return type('audio/wav');
  if (ascii(head, 0, 'RIFF') && ascii(head, 8, 'AVI ')) return type('video/x-msvideo');
  if (ascii(head, 0, 'BM') && head.length >= 26 && head.readUInt32LE(14) >= 12 && head.readUInt32LE(14) <= 124) return type('image/bmp');
  if (bytes(head, 0, [0x49, 0x49, 0x2a, 0x00]) || bytes(head, 0, [0x4d, 0x4d, 0x00, 0x2a])) return type('image/tiff');
  const iso = isoKind(head);
  if (iso) return type(iso);
  if (bytes(head, 0, [0x1a, 0x45, 0xdf, 0xa3])) return type(head.toString('latin1', 0, 64).includes('webm') ? 'video/webm' : 'video/x-matroska');
  if (ascii(head, 0, 'OggS')) return type(head.toString('latin1', 0, 64).includes('OpusHead') ? 'audio/ogg; codecs=opus' : 'audio/ogg');
  if (ascii(head, 0, 'fLaC')) return type('audio/flac');
  if (ascii(head, 0, 'ID3') || (head.length >= 2 && head[0] === 0xff && ((head[1] as number) & 0xe6) === 0xe2)) return type('audio/mpeg');
  if (ascii(head, 0, '%PDF-')) return type('application/pdf');
  if (bytes(head, 0, [0x50, 0x4b, 0x03, 0x04]) || bytes(head, 0, [0x50, 0x4b, 0x05, 0x06])) return type(zipKind(head));
  if (bytes(head, 0, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) return type('application/x-ole-storage');
  if (ascii(head, 0, 'Rar!\x1a\x07')) return type('application/vnd.rar');
  if (bytes(head, 0, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c])) return type('application/x-7z-compressed');
  if (bytes(head, 0, [0x1f, 0x8b])) return type('application/gzip');
  if (ascii(head, 0, '{\\rtf')) return type('application/rtf');
  if (bytes(head, 0, [0x7f, 0x45, 0x4c, 0x46])) return type('application/x-elf');
  if (ascii(head, 0, 'MZ')) return type('application/x-msdownload');
  if (looksLikeText(head)) return type('text/plain; charset=utf-8');
  return type('application/octet-stream');
}
