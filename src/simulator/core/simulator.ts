/**
 * The simulated WeCom corp and the SDK operations on it, independent of HTTP: GetChatData,
 * GetMediaData and DecryptData with WeCom's rules, plus the controls tests need (clock, new
 * messages, key rotation, faults). The HTTP server is a thin layer over this.
 *
 * WeCom's rules it enforces:
 * - seq is a uint64 (bigint throughout); message i has seq = seqStart + i; GetChatData(seq, limit)
 *   returns messages with a larger seq, at most `limit`, which must be 1–1000 (else 10000);
 * - only messages that arrived within the last 5 days (simulator clock) are served; a cursor older
 *   than that silently continues at the oldest message still kept, so the seq jumps;
 * - media comes in chunks of at most 512 KB with `Range:bytes=a-b` tokens; unknown ids give 10005.
 */
import { timingSafeEqual, type KeyObject } from 'node:crypto';
import { ValidationError } from '../../errors/errors.ts';
import { WECOM_RETENTION_MS } from '../../pull/gap-kind.ts';
import { CHAT_LIMIT_MAX } from '../../sdk/backend.ts';
import { SEQ_MAX } from '../../store/seq-codec.ts';
import { FaultInjector, parseFaultSpec, validateFaultSpec, type FaultSpec } from '../control/faults.ts';
import { EnvelopeCache } from '../sdk/envelope-cache.ts';
import { decryptChatMsg, encryptChatMsg, encryptRandomKey, messageSecrets } from '../sdk/envelope-crypto.ts';
import { KeyRing, parseKeySchedule, type KeyScheduleEntry } from '../sdk/key-ring.ts';
import { formatMediaIndex, mediaChunkRange } from '../sdk/media-index.ts';
import { MediaPool, type MediaPolicy } from '../sdk/media-pool.ts';
import { voiceSamples } from '../sdk/voice-samples.ts';
import { createClock, type SimClock } from './clock.ts';
import { buildCorpDirectory, type CorpDirectory } from './corp-directory.ts';
import { MessageGenerator, type GeneratorContext } from './generator.ts';
import { MessageLog } from './message-log.ts';
import { seedMaterial, type SeedMaterial } from './prng.ts';

const DEFAULT_SEED = 'wecom-archive';
const DEFAULT_MESSAGES = 1000;
const DEFAULT_SPAN_MS = 24 * 3_600_000;

export interface SimulatorOptions {
  /** deterministic content: same seed (and clock) → same messages; default 'wecom-archive' */
  seed?: string;
  /** generated messages present at start; default 1000, or 0 with fixtures */
  messages?: number;
  /** plaintext lines served in order instead of generated messages */
  fixtures?: ReadonlyArray<Buffer | string>;
  /** seq of the first message; default 1n */
  seqStart?: bigint;
  /** "1:0,2:500" or entries; default: version 1 (or the lowest supplied version) from index 0 */
  keySchedule?: string | readonly KeyScheduleEntry[];
  /** PEM (or KeyObject) per version; a public key hides the private key from the simulator */
  keys?: ReadonlyMap<number, string | KeyObject>;
  corpid?: string;
  secret?: string;
  /** simulator time at start (ms); default the real time */
  now?: number;
  clockOffsetMs?: number;
  /** time stands still except for advanceClock() */
  freezeClock?: boolean;
  /** the initial messages arrive evenly over [now - spanMs, now]; default 24 h */
  spanMs?: number;
  /** new generated messages per second after start; default 0 */
  rate?: number;
  /** how long WeCom keeps data; default 5 days */
  retentionMs?: number;
  faults?: ReadonlyArray<FaultSpec | string>;
  /** empty or wrong md5sums, and large files, on request (media-pool.ts) */
  media?: MediaPolicy;
}

/** An SDK call's outcome: ret 0 with a value, or the SDK's non-zero return code. */
export type SdkResult<T> = { ret: 0; value: T } | { ret: number; detail: string };

export interface MediaChunkResult {
  data: Buffer;
  outIndex: string;
  isFinish: boolean;
}

export interface SimulatorState {
  corpid: string;
  now: number;
  messages: number;
  windowStartIndex: number;
  /** seq of the oldest message still served, '' when none; decimal strings (uint64) */
  firstSeq: string;
  lastSeq: string;
  seqStart: string;
  rate: number;
  keys: Array<{ version: number; fromIndex: number | null; hasPrivateKey: boolean }>;
  faults: number;
}

export class Simulator {
  readonly corp: { readonly corpid: string; readonly secret: string };
  readonly faults = new FaultInjector();
  readonly directory: CorpDirectory;
  readonly media: MediaPool;
  private readonly generator: MessageGenerator;
  private envelopeCache: EnvelopeCache | undefined;
  private readonly ctx: GeneratorContext;

  private constructor(
    readonly seed: SeedMaterial,
    readonly seqStart: bigint,
    readonly retentionMs: number,
    readonly clock: SimClock,
    readonly log: MessageLog,
    readonly keys: KeyRing,
    overrides: { corpid?: string; secret?: string },
  ) {
    this.directory = buildCorpDirectory(seed, overrides);
    this.corp = { corpid: this.directory.corpid, secret: this.directory.secret };
    this.media = new MediaPool(seed);
    this.generator = new MessageGenerator(seed, this.directory, this.media);
    this.ctx = {
      isGenerated: (j) => j >= 0 && this.log.source(j).kind === 'generated',
      msgidOf: (j) => this.msgidOf(j),
    };
  }

  static async create(opts: SimulatorOptions = {}): Promise<Simulator> {
    const seqStart = opts.seqStart ?? 1n;
    if (seqStart < 0n || seqStart > SEQ_MAX) throw new ValidationError('SEQ_START_INVALID', `seqStart must be 0..2^64-1, got ${seqStart}`);
    const messages = opts.messages ?? (opts.fixtures ? 0 : DEFAULT_MESSAGES);
    if (!Number.isSafeInteger(messages) || messages < 0) throw new ValidationError('MESSAGES_INVALID', `messages must be an integer >= 0, got ${messages}`);
    if (opts.fixtures && opts.messages) throw new ValidationError('MESSAGES_INVALID', 'give either fixtures or a number of generated messages, not both');
    const spanMs = opts.spanMs ?? DEFAULT_SPAN_MS;
    const retentionMs = opts.retentionMs ?? WECOM_RETENTION_MS;
    if (!(spanMs >= 0) || !(retentionMs > 0)) throw new ValidationError('SPAN_INVALID', 'spanMs must be >= 0 and retentionMs > 0');
    const faults = (opts.faults ?? []).map((f) => (typeof f === 'string' ? parseFaultSpec(f) : validateFaultSpec(f)));

    const supplied = opts.keys ?? new Map<number, string | KeyObject>();
    const schedule =
      typeof opts.keySchedule === 'string'
        ? parseKeySchedule(opts.keySchedule)
        : (opts.keySchedule ?? [{ version: supplied.size > 0 ? Math.min(...supplied.keys()) : 1, fromIndex: 0 }]);
    // the voice recordings are made while the RSA keys are generated
    const voices = voiceSamples();
    const keys = await KeyRing.create(schedule, supplied);

    const clock = createClock({ now: opts.now, offsetMs: opts.clockOffsetMs, frozen: opts.freezeClock });
    const room = SEQ_MAX - seqStart + 1n;
    const log = new MessageLog(clock, room > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(room));
    const sim = new Simulator(seedMaterial(opts.seed ?? DEFAULT_SEED), seqStart, retentionMs, clock, log, keys, { corpid: opts.corpid, secret: opts.secret });
    sim.media.prepare(await voices, opts.media);

    const start = clock.now();
    if (opts.fixtures) log.appendFixtures(opts.fixtures.map((f) => (typeof f === 'string' ? Buffer.from(f, 'utf8') : f)));
    log.addGenerated(messages, start - spanMs, start);
    if (opts.rate) log.setRate(opts.rate);
    for (const f of faults) sim.faults.add(f);
    return sim;
  }

  /** Messages that have arrived by now (indexes 0..n-1; some may be outside the window). */
  messageCount(): number {
    return this.log.size();
  }

  seqOf(index: number): bigint {
    return this.seqStart + BigInt(index);
  }

  /** The exact plaintext bytes DecryptData returns for message `index`. */
  plaintextOf(index: number): Buffer {
    this.checkIndex(index);
    const src = this.log.source(index);
    return src.kind === 'fixture' ? src.line : this.generator.generate(index, this.log.arrivalOf(index), this.ctx).plaintext;
  }

  msgidOf(index: number): string {
    this.checkIndex(index);
    const src = this.log.source(index);
    return src.kind === 'fixture' ? src.msgid : this.generator.msgid(index, this.log.arrivalOf(index));
  }

  /** The server's arrival time of message `index` (the 5-day window is measured on it). */
  arrivalOf(index: number): number {
    this.checkIndex(index);
    return this.log.arrivalOf(index);
  }

  /** Index of the oldest message still inside the retention window. */
  windowStartIndex(now = this.clock.now()): number {
    return this.log.firstArrivedSince(now - this.retentionMs, now);
  }

  /** 0 when corpid and secret are this corp's, else 10004 (what Init'ed-with-a-bad-secret SDKs return). */
  checkCorp(corpid: unknown, secret: unknown): number {
    if (typeof corpid !== 'string' || typeof secret !== 'string' || corpid !== this.corp.corpid) return 10004;
    const a = Buffer.from(secret, 'utf8');
    const b = Buffer.from(this.corp.secret, 'utf8');
    return a.length === b.length && timingSafeEqual(a, b) ? 0 : 10004;
  }

  getChatData(seq: bigint, limit: number): SdkResult<string> {
    if (!Number.isInteger(limit) || limit < 1 || limit > CHAT_LIMIT_MAX) return { ret: 10000, detail: `limit must be 1–${CHAT_LIMIT_MAX}, got ${limit}` };
    if (seq < 0n || seq > SEQ_MAX) return { ret: 10000, detail: 'seq must be a uint64' };
    const now = this.clock.now();
    const size = this.log.size(now);
    const after = seq < this.seqStart ? 0n : seq - this.seqStart + 1n;
    // a cursor older than the window silently continues at the oldest message still kept
    const start = Math.max(after >= BigInt(size) ? size : Number(after), this.windowStartIndex(now));
    const end = Math.min(size, start + limit);
    let body = start < end ? this.envelopeCache?.range(start, end) : undefined;
    if (body === undefined) {
      const parts: string[] = [];
      for (let i = start; i < end; i++) parts.push(this.envelope(i));
      body = parts.join(',');
    }
    return { ret: 0, value: `{"errcode":0,"errmsg":"ok","chatdata":[${body}]}` };
  }

  getMediaData(sdkFileId: string, indexBuf: string): SdkResult<MediaChunkResult> {
    const ref = this.media.resolve(sdkFileId);
    if (!ref) return { ret: 10005, detail: 'unknown sdkfileid' };
    const size = this.media.size(ref.kind, ref.blob);
    const range = mediaChunkRange(indexBuf, size);
    if (!range) return { ret: 10000, detail: `indexbuf ${JSON.stringify(indexBuf.slice(0, 100))} is not a Range:bytes=a-b token of this file` };
    const isFinish = range.end >= size;
    return { ret: 0, value: { data: this.media.read(ref.kind, ref.blob, range.start, range.end), outIndex: isFinish ? '' : formatMediaIndex(range.end, size), isFinish } };
  }

  decryptData(encryptKey: Buffer, encryptMsg: string): SdkResult<Buffer> {
    const out = decryptChatMsg(encryptKey, encryptMsg);
    return out.ok ? { ret: 0, value: out.plaintext } : { ret: out.code, detail: out.detail };
  }

  advanceClock(ms: number): void {
    this.clock.advance(ms);
  }

  appendGenerated(count: number): { first: number; count: number } {
    if (!Number.isSafeInteger(count) || count < 0 || count > 10_000_000) throw new ValidationError('MESSAGES_INVALID', `count must be an integer 0–10000000, got ${count}`);
    return this.log.appendGenerated(count);
  }

  appendFixtures(lines: ReadonlyArray<Buffer | string>): { first: number; count: number } {
    return this.log.appendFixtures(lines.map((l) => (typeof l === 'string' ? Buffer.from(l, 'utf8') : l)));
  }

  setRate(perSecond: number): void {
    this.log.setRate(perSecond);
  }

  /** A new key version from the next message on (a new public key set in the admin console). */
  async rotateKey(opts: { version?: number; key?: string | KeyObject } = {}): Promise<{ version: number; fromIndex: number }> {
    const fromIndex = this.log.size();
    const v = await this.keys.rotate(fromIndex, opts.version, opts.key);
    return { version: v.version, fromIndex };
  }

  /** Private keys of the versions the simulator knows (generated, or supplied as private PEM). */
  privateKeys(): Map<number, KeyObject> {
    const out = new Map<number, KeyObject>();
    for (const v of this.keys.all()) if (v.privateKey) out.set(v.version, v.privateKey);
    return out;
  }

  privateKeyPems(): Map<number, string> {
    const out = new Map<number, string>();
    for (const v of this.keys.all()) if (v.privateKeyPem) out.set(v.version, v.privateKeyPem);
    return out;
  }

  state(): SimulatorState {
    const now = this.clock.now();
    const size = this.log.size(now);
    const windowStart = this.windowStartIndex(now);
    const schedule = this.keys.entries();
    return {
      corpid: this.corp.corpid,
      now,
      messages: size,
      windowStartIndex: windowStart,
      firstSeq: windowStart < size ? this.seqOf(windowStart).toString() : '',
      lastSeq: size > 0 ? this.seqOf(size - 1).toString() : '',
      seqStart: this.seqStart.toString(),
      rate: this.log.rate(),
      keys: this.keys
        .all()
        .map((v) => ({ version: v.version, fromIndex: schedule.find((e) => e.version === v.version)?.fromIndex ?? null, hasPrivateKey: v.privateKey !== undefined })),
      faults: this.faults.list().length,
    };
  }

  /** One chatdata entry; identical bytes every time it is served (see envelope-crypto.ts). */
  /**
   * Encrypts the envelopes of every message present now into a file ahead of time (see
   * envelope-cache.ts); later GetChatData calls for them read the file. Messages added later are
   * made on the fly as usual.
   */
  prepareEnvelopes(path: string, onProgress?: (done: number, total: number) => void): void {
    this.envelopeCache?.close();
    const total = this.log.size();
    this.envelopeCache = EnvelopeCache.build(path, total, (i) => this.envelope(i), onProgress && ((done) => onProgress(done, total)));
  }

  /** Releases the envelope cache file, if any. */
  dispose(): void {
    this.envelopeCache?.close();
    this.envelopeCache = undefined;
  }

  private envelope(i: number): string {
    const src = this.log.source(i);
    let msgid: string;
    let plaintext: Buffer;
    if (src.kind === 'fixture') {
      msgid = src.msgid;
      plaintext = src.line;
    } else {
      const m = this.generator.generate(i, this.log.arrivalOf(i), this.ctx);
      msgid = m.msgid;
      plaintext = m.plaintext;
    }
    const key = this.keys.versionFor(i);
    const secrets = messageSecrets(this.seed.key, i, key.version, key.modulusBytes);
    return (
      `{"seq":${this.seqOf(i)},"msgid":${JSON.stringify(msgid)},"publickey_ver":${key.version},` +
      `"encrypt_random_key":"${encryptRandomKey(key.publicKey, key.modulusBytes, secrets)}",` +
      `"encrypt_chat_msg":"${encryptChatMsg(secrets.randomKey, secrets.iv, plaintext)}"}`
    );
  }

  private checkIndex(index: number): void {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.log.size()) throw new RangeError(`message index ${index} does not exist (0..${this.log.size() - 1})`);
  }
}
