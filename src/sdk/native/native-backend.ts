/**
 * The `native:` SDK backend: the three SDK operations through the real libWeWorkFinanceSdk_C.so,
 * which is loaded only in supervised child processes (host-pool.ts), never in this one (docs/design.md
 * rule 5). Towards its caller it behaves like the simulator backend: every SDK failure is a WeComSdkError
 * with the SDK's code as it was; a host that keeps dying gives an ArchiveError.
 */
import { ArchiveError } from '../../errors/errors.ts';
import { WeComSdkError } from '../../errors/wecom-codes.ts';
import { SEQ_MAX } from '../../store/seq-codec.ts';
import { CHAT_LIMIT_MAX, type ChatDataRequest, MEDIA_CHUNK_MAX, type MediaChunk, type MediaDataRequest, type SdkBackend } from '../backend.ts';
import { SdkCallError } from './finance-sdk-binding.ts';
import { HostPool, type HostPoolOptions, type HostPoolStats } from './host-pool.ts';
import { DECRYPT_MANY_MAX } from './host-protocol.ts';

export type NativeBackendOptions = HostPoolOptions;

/** An SdkBackend over native SDK hosts, with the pool's figures for tests and benchmarks. */
export interface NativeBackend extends SdkBackend {
  decryptMany: NonNullable<SdkBackend['decryptMany']>;
  stats(): HostPoolStats;
}

export function createNativeBackend(opts: NativeBackendOptions): NativeBackend {
  if (!opts.libPath) throw new ArchiveError('SDK_SPEC_INVALID', 'the native SDK backend needs the path of libWeWorkFinanceSdk_C.so', { kind: 'invalid' });
  const pool = new HostPool(opts);

  return {
    async getChatData(req: ChatDataRequest, signal?: AbortSignal): Promise<string> {
      if (typeof req.seq !== 'bigint' || req.seq < 0n || req.seq > SEQ_MAX) throw new WeComSdkError(10000, 'GetChatData', { detail: 'seq must be a uint64' });
      if (!Number.isInteger(req.limit) || req.limit < 1 || req.limit > CHAT_LIMIT_MAX)
        throw new WeComSdkError(10000, 'GetChatData', { detail: `limit must be 1–${CHAT_LIMIT_MAX}` });
      const answer = await pool.call({ op: 'chatdata', seq: req.seq, limit: req.limit, proxy: req.proxy, passwd: req.passwd, timeoutS: req.timeoutS }, signal);
      const text = answer.data.toString('utf8');
      try {
        // only a syntax check; the caller parses it for real (seq needs bigint-safe parsing)
        const doc: unknown = JSON.parse(text);
        if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('not an object');
      } catch (err) {
        throw new WeComSdkError(10002, 'GetChatData', { detail: 'the chat data is not a JSON object', cause: err });
      }
      return text;
    },

    async decryptData(encryptKey: Buffer, encryptMsg: string, signal?: AbortSignal): Promise<Buffer> {
      const answer = await pool.call({ op: 'decrypt', key: new Uint8Array(encryptKey), msg: encryptMsg }, signal);
      return answer.data;
    },

    async decryptMany(items: ReadonlyArray<{ encryptKey: Buffer; encryptMsg: string }>, signal?: AbortSignal): Promise<Array<Buffer | WeComSdkError>> {
      const answers: Array<Buffer | WeComSdkError> = [];
      for (let at = 0; at < items.length; at += DECRYPT_MANY_MAX) {
        const part = items.slice(at, at + DECRYPT_MANY_MAX);
        const answer = await pool.call({ op: 'decrypt-many', items: part.map((i) => ({ key: new Uint8Array(i.encryptKey), msg: i.encryptMsg })) }, signal);
        // the host checked the count (sdk-host.ts); every answer is the SDK's own
        for (const r of answer.items ?? [])
          answers.push(r.ok ? Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength) : new SdkCallError(r.code, 'DecryptData', r.detail));
      }
      return answers;
    },

    async getMediaData(req: MediaDataRequest, signal?: AbortSignal): Promise<MediaChunk> {
      const answer = await pool.call({ op: 'media', indexBuf: req.indexBuf, sdkFileId: req.sdkFileId, proxy: req.proxy, passwd: req.passwd, timeoutS: req.timeoutS }, signal);
      if (answer.data.length > MEDIA_CHUNK_MAX) throw new WeComSdkError(10002, 'GetMediaData', { detail: 'the media chunk is larger than 512 KB' });
      return { outIndex: answer.outIndex, data: answer.data, isFinish: answer.isFinish };
    },

    stats: () => pool.stats(),

    close: () => pool.close(),
  };
}
