/**
 * The `simulator:` SDK backend: the three SDK operations over HTTP to the built-in simulator
 * (contract in src/simulator/sdk/wire.ts, docs/simulator.md), behaving like the real SDK towards its
 * caller: every failure is a WeComSdkError with the code the real SDK would give —
 * 10001 when the simulator cannot be reached or does not answer in time, 10002 when the answer is
 * cut short or garbled, and the simulator's own code otherwise. Never a raw exception.
 *
 * DecryptData of the real SDK is local computation (no sdk argument, no network), so by default it
 * runs here, with the simulator's scheme; `decrypt: 'http'` sends it to the simulator instead, so
 * injected decrypt faults reach the caller.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { ArchiveError } from '../errors/errors.ts';
import { WeComSdkError } from '../errors/wecom-codes.ts';
import { abortReason } from '../runtime/abort.ts';
import { SEQ_MAX } from '../store/seq-codec.ts';
import { decryptChatMsg } from '../simulator/sdk/envelope-crypto.ts';
import {
  HEADER_FINISH,
  HEADER_LENGTH,
  HEADER_OUT_INDEX,
  HEADER_RET,
  SDK_ROUTES,
  type ChatDataRequestBody,
  type DecryptRequestBody,
  type MediaRequestBody,
} from '../simulator/sdk/wire.ts';
import { MEDIA_CHUNK_MAX, type ChatDataRequest, type MediaChunk, type MediaDataRequest, type SdkBackend } from './backend.ts';
import { chunkBuffer } from './chunk-memory.ts';

/** DecryptData has no timeout argument; an HTTP decrypt that takes this long is a dead simulator */
const DECRYPT_TIMEOUT_S = 30;
/** used when a caller passes no usable timeout; the official demo recommends 5 s */
const DEFAULT_TIMEOUT_S = 5;
/** the answer of one call is at most a 1000-message page (~1 MB) or a 512 KB chunk */
const MAX_RESPONSE_BYTES = 64 << 20;

export interface SimulatorBackendOptions {
  /** URL of the simulator, e.g. http://127.0.0.1:9100 (a leading `simulator:` is accepted) */
  url: string;
  corpid: string;
  secret: string;
  /** where DecryptData runs: 'local' (default, like the real SDK) or 'http' (through the simulator) */
  decrypt?: 'local' | 'http';
  /** parallel connections to the simulator; default 8 */
  maxSockets?: number;
}

type Operation = 'GetChatData' | 'GetMediaData' | 'DecryptData';

interface RawAnswer {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export function createSimulatorBackend(opts: SimulatorBackendOptions): SdkBackend {
  let base: URL;
  try {
    base = new URL(opts.url.replace(/^simulator:/, ''));
  } catch (err) {
    throw new ArchiveError('SDK_SPEC_INVALID', `the simulator URL ${JSON.stringify(opts.url.slice(0, 200))} is not a URL`, { cause: err, kind: 'invalid' });
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new ArchiveError('SDK_SPEC_INVALID', `the simulator URL must be http(s), got ${base.protocol}`, { kind: 'invalid' });
  }
  const https = base.protocol === 'https:';
  const agent = new (https ? HttpsAgent : HttpAgent)({ keepAlive: true, maxSockets: opts.maxSockets ?? 8 });
  const prefix = base.pathname.replace(/\/$/, '');
  let closed = false;

  /** One HTTP exchange; rejects only with WeComSdkError, the abort reason, or ArchiveError after close(). */
  function exchange(op: Operation, path: string, body: object, timeoutS: number, signal: AbortSignal | undefined): Promise<RawAnswer> {
    if (closed) return Promise.reject(new ArchiveError('SDK_CLOSED', `${op} was called after the SDK backend was closed`));
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const payload = Buffer.from(JSON.stringify(body), 'utf8');
    return new Promise<RawAnswer>((resolve, reject) => {
      let settled = false;
      const settle = (err: unknown, value?: RawAnswer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err !== undefined) {
          req.destroy();
          reject(err);
        } else resolve(value as RawAnswer);
      };
      const onAbort = (): void => settle(abortReason(signal as AbortSignal));
      const req = (https ? httpsRequest : httpRequest)({
        protocol: base.protocol,
        hostname: base.hostname,
        port: base.port,
        path: prefix + path,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': payload.length },
      });
      const timeoutMs = (Number.isFinite(timeoutS) && timeoutS > 0 ? timeoutS : DEFAULT_TIMEOUT_S) * 1000;
      const timer = setTimeout(() => settle(new WeComSdkError(10001, op, { detail: `the simulator at ${base.host} did not answer within ${timeoutMs / 1000} s` })), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err: NodeJS.ErrnoException) =>
        settle(new WeComSdkError(10001, op, { detail: `cannot reach the simulator at ${base.host}: ${err.code ?? err.message}`, cause: err })),
      );
      req.on('response', (res: IncomingMessage) => {
        // a media chunk goes into reusable memory (see chunk-memory.ts)
        const body = new BodyCollector(Number(res.headers['content-length']), op === 'GetMediaData');
        res.on('data', (c: Buffer) => {
          const wrong = body.add(c);
          if (wrong) settle(new WeComSdkError(10002, op, { detail: wrong }));
        });
        res.on('end', () => settle(undefined, { headers: res.headers, body: body.take() }));
        // the status line arrived but the body did not: the answer is incomplete, not the network gone
        res.on('error', (err) => settle(new WeComSdkError(10002, op, { detail: 'the answer was cut off', cause: err })));
        res.on('close', () => {
          if (!res.complete) settle(new WeComSdkError(10002, op, { detail: 'the answer was cut off' }));
        });
        if (res.statusCode !== 200) {
          settle(new WeComSdkError(10001, op, { detail: `HTTP ${res.statusCode} from ${base.host}${prefix}${path}; is this URL a wecom-archive simulator?` }));
        }
      });
      req.end(payload);
    });
  }

  /** The SDK's payload of a successful call, or the WeComSdkError of a failed one. */
  async function call(op: Operation, path: string, body: object, timeoutS: number, signal: AbortSignal | undefined): Promise<RawAnswer> {
    const answer = await exchange(op, path, body, timeoutS, signal);
    const retText = headerValue(answer.headers, HEADER_RET);
    const ret = retText === undefined ? Number.NaN : Number(retText);
    if (!Number.isInteger(ret)) throw new WeComSdkError(10002, op, { detail: `the simulator's answer has no ${HEADER_RET} code` });
    if (ret !== 0) throw new WeComSdkError(ret, op, { detail: errorDetail(answer.body) });
    const expected = Number(headerValue(answer.headers, HEADER_LENGTH));
    if (!Number.isInteger(expected) || expected !== answer.body.length) {
      throw new WeComSdkError(10002, op, { detail: `the answer was truncated (${answer.body.length} of ${headerValue(answer.headers, HEADER_LENGTH) ?? '?'} bytes)` });
    }
    return answer;
  }

  return {
    async getChatData(req: ChatDataRequest, signal?: AbortSignal): Promise<string> {
      if (typeof req.seq !== 'bigint' || req.seq < 0n || req.seq > SEQ_MAX) throw new WeComSdkError(10000, 'GetChatData', { detail: 'seq must be a uint64' });
      const body: ChatDataRequestBody = {
        corpid: opts.corpid,
        secret: opts.secret,
        seq: req.seq.toString(),
        limit: req.limit,
        proxy: req.proxy,
        passwd: req.passwd,
        timeout: req.timeoutS,
      };
      const answer = await call('GetChatData', SDK_ROUTES.chatData, body, req.timeoutS, signal);
      // The text is the SDK's Slice as is: the pull stage parses it (bigint-safe) and turns a bad
      // one into code 10002, so it is not parsed twice here.
      const text = answer.body.toString('utf8');
      return text;
    },

    async decryptData(encryptKey: Buffer, encryptMsg: string, signal?: AbortSignal): Promise<Buffer> {
      if (opts.decrypt === 'http') {
        const body: DecryptRequestBody = { encrypt_key: encryptKey.toString('base64'), encrypt_msg: encryptMsg };
        return (await call('DecryptData', SDK_ROUTES.decrypt, body, DECRYPT_TIMEOUT_S, signal)).body;
      }
      if (closed) throw new ArchiveError('SDK_CLOSED', 'DecryptData was called after the SDK backend was closed');
      if (signal?.aborted) throw abortReason(signal);
      const out = decryptChatMsg(encryptKey, encryptMsg);
      if (!out.ok) throw new WeComSdkError(out.code, 'DecryptData', { detail: out.detail });
      return out.plaintext;
    },

    async getMediaData(req: MediaDataRequest, signal?: AbortSignal): Promise<MediaChunk> {
      const body: MediaRequestBody = {
        corpid: opts.corpid,
        secret: opts.secret,
        sdkfileid: req.sdkFileId,
        indexbuf: req.indexBuf,
        proxy: req.proxy,
        passwd: req.passwd,
        timeout: req.timeoutS,
      };
      const answer = await call('GetMediaData', SDK_ROUTES.media, body, req.timeoutS, signal);
      const finish = headerValue(answer.headers, HEADER_FINISH);
      if ((finish !== '0' && finish !== '1') || answer.body.length > MEDIA_CHUNK_MAX) {
        throw new WeComSdkError(10002, 'GetMediaData', { detail: 'the media answer is malformed' });
      }
      return { outIndex: headerValue(answer.headers, HEADER_OUT_INDEX) ?? '', data: answer.body, isFinish: finish === '1' };
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      agent.destroy();
    },
  };
}

/**
 * The body of one answer. With a Content-Length (the simulator always sends one) every piece is
 * copied once, as it arrives, into one buffer of that size that owns its memory, so a media chunk
 * can be moved to a worker thread without another copy; without one, the pieces are joined at the end.
 */
class BodyCollector {
  private readonly whole: Buffer | undefined;
  private readonly pieces: Buffer[] = [];
  private size = 0;

  constructor(announced: number, chunk: boolean) {
    if (Number.isSafeInteger(announced) && announced >= 0 && announced <= MAX_RESPONSE_BYTES) {
      this.whole = chunk ? chunkBuffer(announced) : Buffer.allocUnsafeSlow(announced);
    }
  }

  /** Takes a piece; says what is wrong when the body grows past its limit. */
  add(piece: Buffer): string | undefined {
    const at = this.size;
    this.size += piece.length;
    if (this.size > MAX_RESPONSE_BYTES) return `the simulator's answer is larger than ${MAX_RESPONSE_BYTES} bytes`;
    if (!this.whole) this.pieces.push(piece);
    // Node's HTTP parser never passes more than Content-Length; checked so nothing is written past the end
    else if (this.size > this.whole.length) return `the simulator's answer is longer than its Content-Length (${this.whole.length})`;
    else piece.copy(this.whole, at);
    return undefined;
  }

  /** The bytes that arrived (a short body is caught by the caller's length check). */
  take(): Buffer {
    if (!this.whole) return Buffer.concat(this.pieces, this.size);
    return this.size === this.whole.length ? this.whole : this.whole.subarray(0, this.size);
  }
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The simulator's explanation of a failed call, if it gave one (it never contains secrets). */
function errorDetail(body: Buffer): string | undefined {
  try {
    const doc = JSON.parse(body.toString('utf8')) as { detail?: unknown };
    return typeof doc.detail === 'string' ? doc.detail.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}
