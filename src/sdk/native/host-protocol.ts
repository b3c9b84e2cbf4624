/**
 * The IPC messages between the parent and an SDK host child process (structured-clone
 * serialization, so bigint seq and binary chunks cross unchanged). Both sides validate what they
 * receive: the host holds native code that may corrupt its own memory, so nothing it sends is
 * trusted until it passes these checks.
 */
import { CHAT_LIMIT_MAX } from '../backend.ts';

export type HostOperation = 'chatdata' | 'decrypt' | 'decrypt-many' | 'media';

/** The SDK function each operation calls, for messages and logs. */
export const OPERATION_NAMES: Readonly<Record<HostOperation, string>> = { chatdata: 'GetChatData', decrypt: 'DecryptData', 'decrypt-many': 'DecryptData', media: 'GetMediaData' };

/** The most DecryptData calls one `decrypt-many` exchange carries. */
export const DECRYPT_MANY_MAX = 1024;

export interface DecryptItem {
  key: Uint8Array;
  msg: string;
}

export type CallArgs =
  | { op: 'chatdata'; seq: bigint; limit: number; proxy: string; passwd: string; timeoutS: number }
  | { op: 'decrypt'; key: Uint8Array; msg: string }
  // DecryptData of several messages in one exchange: bench:native measured 124 µs of CPU a call
  // (parent and host) with one call an exchange, 24 µs with 256
  | { op: 'decrypt-many'; items: DecryptItem[] }
  | { op: 'media'; indexBuf: string; sdkFileId: string; proxy: string; passwd: string; timeoutS: number };

/** One DecryptData of a `decrypt-many` exchange: the plaintext, or the SDK's code. */
export type DecryptItemResult = { ok: true; data: Uint8Array } | { ok: false; code: number; detail: string };

/**
 * Parent → host. The secret travels only here (never argv or environment, which others can read).
 * `loadOnly` loads the library and checks its functions without NewSdk/Init (`doctor` without a corp).
 */
export type ToHost = { t: 'init'; libPath: string; corpid: string; secret: string; loadOnly: boolean } | { t: 'call'; id: number; args: CallArgs } | { t: 'destroy' };

export type InitFailureStage = 'load' | 'symbols' | 'init';

/** Host → parent. Every answer carries the host's resident set size, for the memory ceiling. */
export type FromHost =
  | { t: 'ready'; rss: number; pid: number }
  | { t: 'init-failed'; stage: InitFailureStage; code: number | null; message: string; missing: string[] }
  | { t: 'result'; id: number; rss: number; ok: true; data: Uint8Array; outIndex: string; isFinish: boolean; items?: DecryptItemResult[] }
  | { t: 'result'; id: number; rss: number; ok: false; code: number; detail: string };

/** The largest output a host may send back (a chat-data page far above any real one). */
export const MAX_RESULT_BYTES = 256 << 20;
const MAX_TEXT = 4096;

type Rec = Record<string, unknown>;
const isRecord = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown, max = MAX_TEXT): v is string => typeof v === 'string' && v.length <= max;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isSdkCode = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= 2_147_483_647;
/** The inputs of one DecryptData: a binary key (a C string's worth) and the message text. */
const isDecryptInput = (v: Rec): v is Rec & DecryptItem => v.key instanceof Uint8Array && v.key.length <= MAX_TEXT && typeof v.msg === 'string' && v.msg.length <= MAX_RESULT_BYTES;

/** A message from a host, or undefined when it is not one of ours (the host is then treated as broken). */
export function parseFromHost(raw: unknown): FromHost | undefined {
  if (!isRecord(raw)) return undefined;
  switch (raw.t) {
    case 'ready':
      return isCount(raw.rss) && isCount(raw.pid) ? { t: 'ready', rss: raw.rss, pid: raw.pid } : undefined;
    case 'init-failed': {
      const stage = raw.stage;
      if (stage !== 'load' && stage !== 'symbols' && stage !== 'init') return undefined;
      if (!(raw.code === null || isSdkCode(raw.code)) || !isText(raw.message)) return undefined;
      if (!Array.isArray(raw.missing) || raw.missing.length > 64 || !raw.missing.every((m) => isText(m, 64))) return undefined;
      return { t: 'init-failed', stage, code: raw.code, message: raw.message, missing: raw.missing as string[] };
    }
    case 'result': {
      if (!isCount(raw.id) || !isCount(raw.rss)) return undefined;
      if (raw.ok === false) {
        return isSdkCode(raw.code) && isText(raw.detail) ? { t: 'result', id: raw.id, rss: raw.rss, ok: false, code: raw.code, detail: raw.detail } : undefined;
      }
      if (raw.ok !== true || !(raw.data instanceof Uint8Array) || raw.data.length > MAX_RESULT_BYTES) return undefined;
      if (!isText(raw.outIndex) || typeof raw.isFinish !== 'boolean') return undefined;
      if (raw.items === undefined) return { t: 'result', id: raw.id, rss: raw.rss, ok: true, data: raw.data, outIndex: raw.outIndex, isFinish: raw.isFinish };
      const items = parseItemResults(raw.items);
      return items ? { t: 'result', id: raw.id, rss: raw.rss, ok: true, data: raw.data, outIndex: raw.outIndex, isFinish: raw.isFinish, items } : undefined;
    }
    default:
      return undefined;
  }
}

/** The answers of a `decrypt-many` exchange, or undefined when any of them is not one. */
function parseItemResults(raw: unknown): DecryptItemResult[] | undefined {
  if (!Array.isArray(raw) || raw.length > DECRYPT_MANY_MAX) return undefined;
  const items: DecryptItemResult[] = [];
  let bytes = 0;
  for (const r of raw as unknown[]) {
    if (!isRecord(r)) return undefined;
    if (r.ok === true && r.data instanceof Uint8Array) {
      bytes += r.data.length;
      if (bytes > MAX_RESULT_BYTES) return undefined;
      items.push({ ok: true, data: r.data });
    } else if (r.ok === false && isSdkCode(r.code) && isText(r.detail)) {
      items.push({ ok: false, code: r.code, detail: r.detail });
    } else return undefined;
  }
  return items;
}

/** A message from the parent, or undefined. */
export function parseToHost(raw: unknown): ToHost | undefined {
  if (!isRecord(raw)) return undefined;
  if (raw.t === 'destroy') return { t: 'destroy' };
  if (raw.t === 'init') {
    if (!isText(raw.libPath) || !isText(raw.corpid, 256) || !isText(raw.secret, MAX_TEXT) || typeof raw.loadOnly !== 'boolean') return undefined;
    return { t: 'init', libPath: raw.libPath, corpid: raw.corpid, secret: raw.secret, loadOnly: raw.loadOnly };
  }
  if (raw.t !== 'call' || !isCount(raw.id) || !isRecord(raw.args)) return undefined;
  const a = raw.args;
  switch (a.op) {
    case 'chatdata':
      if (typeof a.seq !== 'bigint' || !isCount(a.limit) || a.limit > CHAT_LIMIT_MAX || !isText(a.proxy) || !isText(a.passwd) || !isCount(a.timeoutS)) return undefined;
      return { t: 'call', id: raw.id, args: { op: 'chatdata', seq: a.seq, limit: a.limit, proxy: a.proxy, passwd: a.passwd, timeoutS: a.timeoutS } };
    case 'decrypt':
      if (!isDecryptInput(a)) return undefined;
      return { t: 'call', id: raw.id, args: { op: 'decrypt', key: a.key, msg: a.msg } };
    case 'decrypt-many': {
      if (!Array.isArray(a.items) || a.items.length > DECRYPT_MANY_MAX) return undefined;
      const items: DecryptItem[] = [];
      let chars = 0;
      for (const it of a.items as unknown[]) {
        if (!isRecord(it) || !isDecryptInput(it)) return undefined;
        chars += it.msg.length;
        if (chars > MAX_RESULT_BYTES) return undefined;
        items.push({ key: it.key, msg: it.msg });
      }
      return { t: 'call', id: raw.id, args: { op: 'decrypt-many', items } };
    }
    case 'media':
      if (!isText(a.indexBuf) || !isText(a.sdkFileId, 1 << 16) || !isText(a.proxy) || !isText(a.passwd) || !isCount(a.timeoutS)) return undefined;
      return { t: 'call', id: raw.id, args: { op: 'media', indexBuf: a.indexBuf, sdkFileId: a.sdkFileId, proxy: a.proxy, passwd: a.passwd, timeoutS: a.timeoutS } };
    default:
      return undefined;
  }
}
