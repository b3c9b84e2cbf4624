/**
 * Which media a decrypted message refers to: every sdkfileid of image, voice,
 * video, file, emotion, meeting_voice_call and voip_doc_share messages, of the items of mixed
 * messages, and of chatrecord items (nested mixed items included). Pure: the decrypt stage calls it
 * on each message it commits, and the rows it yields become media jobs in the same transaction.
 *
 * Everything here comes from WeCom, so it is validated: an sdkfileid must be printable ASCII of a
 * sane length (it is passed to a C function as a string), md5sum must be 32 hex digits to count,
 * sizes must be non-negative integers, and a file name is kept only as text, never as a path.
 */
import { escapeControlCharacters } from '../../messages/normalize-message.ts';
import type { MediaKind } from '../../store/vocabulary.ts';

export type { MediaKind };

export interface MediaRef {
  /** position among the message's references, 0-based, stable for the same message bytes */
  slot: number;
  kind: MediaKind;
  /** where in the message, e.g. `image`, `mixed.item[2]`, `chatrecord.item[1].item[0]` */
  path: string;
  sdkfileid: string;
  /** lowercase hex, or null when WeCom gave none or a malformed one */
  md5: string | null;
  /** why md5 is null: '' (empty, as WeCom sometimes sends) or 'malformed' */
  md5Note: 'empty' | 'malformed' | null;
  size: number | null;
  /** as the message names it; metadata only */
  fileName: string | null;
  /** set when the reference cannot be downloaded at all (malformed sdkfileid, kept out as ''). */
  invalid: string | null;
}

/** msgtypes that can carry media; other messages are not even parsed for it. */
export const MEDIA_MSGTYPES: ReadonlySet<string> = new Set(['image', 'voice', 'video', 'file', 'emotion', 'meeting_voice_call', 'voip_doc_share', 'mixed', 'chatrecord']);

const DIRECT: ReadonlySet<string> = new Set(['image', 'voice', 'video', 'file', 'emotion', 'meeting_voice_call', 'voip_doc_share']);
/** more would be a hostile message; the rest are recorded as one failed job */
export const MAX_REFS_PER_MESSAGE = 200;
const MAX_DEPTH = 4;
const MAX_ID_LENGTH = 8192;
const MAX_NAME_LENGTH = 1000;
const MAX_ITEM_JSON = 4 << 20;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Item `type` (mixed: `image`; chatrecord: `ChatRecordImage`) → media kind, or undefined. */
function kindOfItem(type: unknown): MediaKind | 'nested' | undefined {
  if (typeof type !== 'string') return undefined;
  const t = type.replace(/^ChatRecord/i, '').toLowerCase();
  if (t === 'mixed' || t === 'chatrecord') return 'nested';
  if (DIRECT.has(t)) return t as MediaKind;
  if (t === 'meetingvoicecall') return 'meeting_voice_call';
  if (t === 'voipdocshare') return 'voip_doc_share';
  return undefined;
}

function parseItemContent(content: unknown): Obj | undefined {
  if (isObj(content)) return content;
  if (typeof content !== 'string' || content.length > MAX_ITEM_JSON) return undefined;
  try {
    const v: unknown = JSON.parse(escapeControlCharacters(content));
    return isObj(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function sizeOf(body: Obj): number | null {
  for (const key of ['filesize', 'voice_size', 'imagesize', 'size']) {
    const v = body[key];
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : NaN;
    if (Number.isSafeInteger(n) && n >= 0) return n;
  }
  return null;
}

function md5Of(body: Obj): Pick<MediaRef, 'md5' | 'md5Note'> {
  const v = body.md5sum;
  if (typeof v === 'string' && /^[0-9a-fA-F]{32}$/.test(v)) return { md5: v.toLowerCase(), md5Note: null };
  if (v === undefined || v === null || v === '') return { md5: null, md5Note: 'empty' };
  return { md5: null, md5Note: 'malformed' };
}

function nameOf(body: Obj): string | null {
  const v = body.filename;
  if (typeof v !== 'string' || v === '') return null;
  // PostgreSQL text cannot hold NUL: a hostile name must not fail the transaction of its message
  const name = v.includes('\u0000') ? v.replace(/\u0000/g, '\ufffd') : v;
  return name.length > MAX_NAME_LENGTH ? name.slice(0, MAX_NAME_LENGTH) : name;
}

/** Why an sdkfileid cannot be passed to GetMediaData, or null when it can. */
export function sdkFileIdProblem(id: string): string | null {
  if (id.length === 0) return 'the sdkfileid is empty';
  if (id.length > MAX_ID_LENGTH) return `the sdkfileid is ${id.length} characters long (more than ${MAX_ID_LENGTH})`;
  // printable ASCII only: it travels as a C string, where a NUL would cut it short
  if (!/^[\x20-\x7e]+$/.test(id)) return 'the sdkfileid contains characters other than printable ASCII';
  return null;
}

/**
 * The media references of one decrypted message, in document order. `text` is the message JSON as
 * the SDK returned it (control characters inside strings are tolerated, as in normalize-message).
 * Returns [] for messages without media or that are not JSON objects.
 */
export function mediaRefsOf(text: string, msgtype?: string): MediaRef[] {
  if (msgtype !== undefined && !MEDIA_MSGTYPES.has(msgtype)) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(escapeControlCharacters(text));
  } catch {
    return [];
  }
  if (!isObj(doc)) return [];
  const type = typeof doc.msgtype === 'string' ? doc.msgtype : msgtype;
  if (type === undefined || !MEDIA_MSGTYPES.has(type)) return [];
  // WeCom nests the body under a key named after the msgtype (`"image": {…}`); one garbled example
  // of WeCom's own message-format page has it under `content`, so that is read too
  const body = isObj(doc[type]) ? (doc[type] as Obj) : isObj(doc.content) ? (doc.content as Obj) : undefined;
  if (!body) return [];

  const refs: MediaRef[] = [];
  let overflow = 0;
  const add = (kind: MediaKind, path: string, b: Obj): void => {
    const id = b.sdkfileid;
    if (typeof id !== 'string') return;
    if (refs.length >= MAX_REFS_PER_MESSAGE) {
      overflow += 1;
      return;
    }
    const problem = sdkFileIdProblem(id);
    refs.push({
      slot: refs.length,
      kind,
      path,
      sdkfileid: problem ? '' : id,
      ...md5Of(b),
      size: sizeOf(b),
      fileName: nameOf(b),
      invalid: problem,
    });
  };
  const walkItems = (items: unknown, path: string, depth: number): void => {
    if (!Array.isArray(items) || depth > MAX_DEPTH) return;
    items.forEach((item, i) => {
      if (!isObj(item)) return;
      const kind = kindOfItem(item.type);
      const content = parseItemContent(item.content);
      if (!content) return;
      const here = `${path}[${i}]`;
      if (kind === 'nested' || (kind === undefined && Array.isArray(content.item))) walkItems(content.item, `${here}.item`, depth + 1);
      else if (kind !== undefined) add(kind, here, content);
      // an item type this code does not know, but carrying a file: keep it rather than lose it
      else if (typeof content.sdkfileid === 'string') add('file', here, content);
    });
  };

  if (DIRECT.has(type)) add(type as MediaKind, type, body);
  else walkItems(body.item, `${type}.item`, 1);
  if (overflow > 0) {
    refs.push({
      slot: refs.length,
      kind: 'file',
      path: `${type}.item`,
      sdkfileid: '',
      md5: null,
      md5Note: 'empty',
      size: null,
      fileName: null,
      invalid: `the message refers to ${MAX_REFS_PER_MESSAGE + overflow} media; only the first ${MAX_REFS_PER_MESSAGE} are downloaded`,
    });
  }
  return refs;
}
