import { WeComApiError, WeComSdkError } from '../errors/wecom-codes.ts';
import { parseSeq } from '../store/seq-codec.ts';

/** One entry of GetChatData's `chatdata`, validated; `problem` says why it cannot be decrypted as is. */
export interface ChatDataEntry {
  seq: bigint;
  msgid: string;
  publickeyVer: number;
  encryptRandomKey: string;
  encryptChatMsg: string;
  problem: string | null;
}

// seq is uint64: JSON.parse would round it above 2^53 (docs/design.md rule 4). Quote every `"seq": <digits>`
// before parsing. Inside JSON strings a `"` is always escaped, so the look-behind keeps a key
// spelled `\"seq\"` inside a string value from matching.
const SEQ_NUMBER = /(?<!\\)"seq"(\s*):(\s*)(\d+)/g;

/**
 * Parses the JSON text GetChatData put in its Slice. A JSON-level `errcode` (the call returned 0 but
 * WeCom refused) becomes a WeComApiError; text that is not the expected JSON becomes SDK code 10002
 * (data parse failure), which is retried. Entries that are individually malformed are returned with
 * a `problem` so they are stored and reported, never dropped.
 */
export function parseChatDataPage(text: string): ChatDataEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(SEQ_NUMBER, '"seq"$1:$2"$3"'));
  } catch (err) {
    throw new WeComSdkError(10002, 'GetChatData', { cause: err, detail: `the response is not JSON (${text.length} bytes)` });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new WeComSdkError(10002, 'GetChatData', { detail: 'the response is not a JSON object' });
  const page = doc as Record<string, unknown>;
  const errcode = page.errcode ?? 0;
  if (errcode !== 0) {
    const code = typeof errcode === 'number' ? errcode : Number(errcode);
    throw new WeComApiError(Number.isFinite(code) ? code : -1, 'GetChatData', typeof page.errmsg === 'string' ? page.errmsg : '');
  }
  const list = page.chatdata ?? [];
  if (!Array.isArray(list)) throw new WeComSdkError(10002, 'GetChatData', { detail: '"chatdata" is not an array' });
  return list.map((raw, index) => parseEntry(raw, index));
}

function parseEntry(raw: unknown, index: number): ChatDataEntry {
  if (typeof raw !== 'object' || raw === null) throw new WeComSdkError(10002, 'GetChatData', { detail: `chatdata[${index}] is not an object` });
  const e = raw as Record<string, unknown>;
  // Without a valid seq the cursor cannot move past the entry safely: refuse the page (retried).
  if (typeof e.seq !== 'string') throw new WeComSdkError(10002, 'GetChatData', { detail: `chatdata[${index}].seq is missing or not an integer` });
  let seq: bigint;
  try {
    seq = parseSeq(e.seq, `chatdata[${index}].seq`);
  } catch (err) {
    throw new WeComSdkError(10002, 'GetChatData', { cause: err, detail: `chatdata[${index}].seq is out of range` });
  }
  const problems: string[] = [];
  let msgid = typeof e.msgid === 'string' ? e.msgid : '';
  if (msgid === '' || msgid.length > 191) {
    problems.push(msgid === '' ? 'msgid is missing' : 'msgid is longer than 191 characters');
    // Keyed by seq so it is still stored once and visible.
    msgid = `invalid-msgid:seq:${seq}`;
  }
  const ver = e.publickey_ver;
  const publickeyVer = typeof ver === 'number' && Number.isInteger(ver) && ver >= 0 && ver <= 2_147_483_647 ? ver : -1;
  if (publickeyVer < 0) problems.push('publickey_ver is not a non-negative integer');
  const encryptRandomKey = typeof e.encrypt_random_key === 'string' ? e.encrypt_random_key : '';
  if (!encryptRandomKey) problems.push('encrypt_random_key is missing');
  const encryptChatMsg = typeof e.encrypt_chat_msg === 'string' ? e.encrypt_chat_msg : '';
  if (!encryptChatMsg) problems.push('encrypt_chat_msg is missing');
  return { seq, msgid, publickeyVer: Math.max(publickeyVer, 0), encryptRandomKey, encryptChatMsg, problem: problems.length ? problems.join('; ') : null };
}
