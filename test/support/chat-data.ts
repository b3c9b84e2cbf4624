/**
 * Helpers for tests of the simulator and the `simulator:` backend: read chat data and message
 * JSON without losing uint64 precision, and open envelopes the way the archive must
 * (base64 → RSA PKCS#1 v1.5 with the version's private key → DecryptData).
 */
import type { KeyObject } from 'node:crypto';
import { parse } from 'lossless-json';
import { decryptChatMsg } from '../../src/simulator/sdk/envelope-crypto.ts';
import { rsaPkcs1v15Decrypt } from '../../src/vault/rsa-pkcs1.ts';

export interface Envelope {
  seq: bigint;
  msgid: string;
  publickey_ver: number;
  encrypt_random_key: string;
  encrypt_chat_msg: string;
}

export interface ChatDataDocument {
  errcode: number;
  errmsg: string;
  chatdata: Envelope[];
}

/** integers beyond 2^53 as bigint, everything else as number */
function exactNumber(text: string): number | bigint {
  if (/^-?\d+$/.test(text)) {
    const big = BigInt(text);
    return big > BigInt(Number.MAX_SAFE_INTEGER) || big < -BigInt(Number.MAX_SAFE_INTEGER) ? big : Number(text);
  }
  return Number(text);
}

export function parseChatData(text: string): ChatDataDocument {
  const doc = parse(text, null, (t: string) => (/^\d+$/.test(t) ? BigInt(t) : Number(t))) as Record<string, unknown>;
  const chatdata = ((doc.chatdata as Array<Record<string, unknown>> | undefined) ?? []).map((e) => ({
    seq: e.seq as bigint,
    msgid: e.msgid as string,
    publickey_ver: Number(e.publickey_ver),
    encrypt_random_key: e.encrypt_random_key as string,
    encrypt_chat_msg: e.encrypt_chat_msg as string,
  }));
  return { errcode: Number(doc.errcode), errmsg: doc.errmsg as string, chatdata };
}

/**
 * Parses a plaintext message. Raw control characters (which WeCom leaves inside strings) are
 * escaped first, as a tolerant archive parser would; uint64 values come back as bigint.
 */
export function parseMessage(plaintext: Buffer | string): Record<string, unknown> {
  const text = (typeof plaintext === 'string' ? plaintext : plaintext.toString('utf8')).replace(/[\u0000-\u001f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return parse(text, null, exactNumber) as Record<string, unknown>;
}

/** 'switch' for switch records, the msgtype otherwise. */
export function messageTypeOf(doc: Record<string, unknown>): string {
  return doc.action === 'switch' ? 'switch' : String(doc.msgtype);
}

/** The RSA-decrypted random key (what the archive passes to DecryptData as encrypt_key). */
export function openRandomKey(env: Envelope, privateKeys: ReadonlyMap<number, KeyObject>): Buffer {
  const key = privateKeys.get(env.publickey_ver);
  if (!key) throw new Error(`no private key for publickey_ver ${env.publickey_ver}`);
  return rsaPkcs1v15Decrypt(key, Buffer.from(env.encrypt_random_key, 'base64'));
}

export function openEnvelope(env: Envelope, privateKeys: ReadonlyMap<number, KeyObject>): Buffer {
  const out = decryptChatMsg(openRandomKey(env, privateKeys), env.encrypt_chat_msg);
  if (!out.ok) throw new Error(`DecryptData failed with ${out.code}: ${out.detail}`);
  return out.plaintext;
}
