/**
 * The three SDK operations as HTTP handlers: validate the JSON body like the real SDK validates its
 * arguments (bad ones give 10000), authenticate the corp (10004), call the simulator, and say what
 * to send back. Faults and the actual writing live in server.ts.
 */
import { SEQ_MAX } from '../../store/seq-codec.ts';
import type { Simulator } from '../core/simulator.ts';
import { HEADER_FINISH, HEADER_OUT_INDEX } from './wire.ts';

export interface SdkReply {
  ret: number;
  /** payload for ret 0; the error document otherwise */
  body: Buffer;
  headers?: Record<string, string>;
  contentType: string;
}

function failure(ret: number, detail: string): SdkReply {
  return { ret, body: Buffer.from(JSON.stringify({ ret, detail })), contentType: 'application/json' };
}

function field(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
}

function stringField(body: unknown, name: string, fallback?: string): string | undefined {
  const v = field(body, name) ?? fallback;
  return typeof v === 'string' ? v : undefined;
}

export function chatDataRoute(sim: Simulator, body: unknown): SdkReply {
  const auth = sim.checkCorp(field(body, 'corpid'), field(body, 'secret'));
  if (auth !== 0) return failure(auth, 'corpid or secret is wrong');
  const seqText = field(body, 'seq');
  if (typeof seqText !== 'string' || !/^\d{1,20}$/.test(seqText) || BigInt(seqText) > SEQ_MAX) {
    return failure(10000, 'seq must be a decimal string of a uint64');
  }
  const limit = field(body, 'limit');
  if (typeof limit !== 'number') return failure(10000, 'limit must be a number');
  const result = sim.getChatData(BigInt(seqText), limit);
  if (result.ret !== 0 || !('value' in result)) return failure(result.ret, 'detail' in result ? result.detail : 'failed');
  return { ret: 0, body: Buffer.from(result.value, 'utf8'), contentType: 'application/json; charset=utf-8' };
}

export function mediaRoute(sim: Simulator, body: unknown): SdkReply {
  const auth = sim.checkCorp(field(body, 'corpid'), field(body, 'secret'));
  if (auth !== 0) return failure(auth, 'corpid or secret is wrong');
  const sdkFileId = stringField(body, 'sdkfileid');
  const indexBuf = stringField(body, 'indexbuf', '');
  if (sdkFileId === undefined || indexBuf === undefined) return failure(10000, 'sdkfileid and indexbuf must be strings');
  const result = sim.getMediaData(sdkFileId, indexBuf);
  if (result.ret !== 0 || !('value' in result)) return failure(result.ret, 'detail' in result ? result.detail : 'failed');
  const chunk = result.value;
  return {
    ret: 0,
    body: chunk.data,
    contentType: 'application/octet-stream',
    headers: { [HEADER_OUT_INDEX]: chunk.outIndex, [HEADER_FINISH]: chunk.isFinish ? '1' : '0' },
  };
}

/** DecryptData needs no corp: the real one is a local function without an sdk argument. */
export function decryptRoute(sim: Simulator, body: unknown): SdkReply {
  const key = stringField(body, 'encrypt_key');
  const msg = stringField(body, 'encrypt_msg');
  if (key === undefined || msg === undefined) return failure(10000, 'encrypt_key (base64) and encrypt_msg must be strings');
  const result = sim.decryptData(Buffer.from(key, 'base64'), msg);
  if (result.ret !== 0 || !('value' in result)) return failure(result.ret, 'detail' in result ? result.detail : 'failed');
  return { ret: 0, body: result.value, contentType: 'application/octet-stream' };
}
