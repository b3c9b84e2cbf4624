/**
 * koffi declarations of libWeWorkFinanceSdk_C.so, written from the documented C ABI
 * (the C header WeCom ships with it: 17 functions, Slice_t, MediaData_t), and a small safe wrapper
 * around one SDK instance.
 *
 * This module loads native code that is known to crash and leak: it is imported only by the SDK
 * host child process (host-main.ts), never by a process that holds the database or serves users.
 * Everything it reads from the library is read by length (binary-safe) and validated; every Slice
 * and MediaData is freed on every path.
 */
import koffi, { type LibraryHandle, type TypeObject } from 'koffi';
import { ArchiveError } from '../../errors/errors.ts';
import { WeComSdkError } from '../../errors/wecom-codes.ts';
import { SEQ_MAX } from '../../store/seq-codec.ts';
import { CHAT_LIMIT_MAX, MEDIA_CHUNK_MAX } from '../backend.ts';

/** Every function the library must export, in header order. */
export const SDK_FUNCTIONS = [
  'NewSdk',
  'Init',
  'GetChatData',
  'DecryptData',
  'GetMediaData',
  'DestroySdk',
  'NewSlice',
  'FreeSlice',
  'GetContentFromSlice',
  'GetSliceLen',
  'NewMediaData',
  'FreeMediaData',
  'GetOutIndexBuf',
  'GetData',
  'GetIndexLen',
  'GetDataLen',
  'IsMediaDataFinish',
] as const;
export type SdkFunctionName = (typeof SDK_FUNCTIONS)[number];

/** a chat-data page of 1000 messages is ~1–2 MB; anything near this is not chat data */
const MAX_SLICE_BYTES = 256 << 20;
/** `Range:bytes=a-b` tokens are ~30 bytes */
const MAX_INDEX_BYTES = 4096;

// Opaque handle and the two structs, as declared in the header. The `char*` members are declared
// `void *`: koffi would turn a `char *` into a string cut at the first NUL, and media is binary.
// The binding reads them only through the accessor functions, by length.
const SdkHandle = koffi.opaque('WeWorkFinanceSdk_t');
const Slice = koffi.struct('Slice_t', { buf: 'void *', len: 'int' });
const MediaData = koffi.struct('MediaData_t', { outindexbuf: 'void *', out_len: 'int', data: 'void *', data_len: 'int', is_finish: 'int' });
const SdkPtr = koffi.pointer(SdkHandle);
const SlicePtr = koffi.pointer(Slice);
const MediaPtr = koffi.pointer(MediaData);

/** Pointers are BigInt in koffi 3; NULL comes back as null. */
type Ptr = bigint;

/** The 17 functions, with the exact C argument and result types. */
interface SdkFunctions {
  NewSdk(): Ptr | null;
  Init(sdk: Ptr, corpid: string, secret: string): number;
  GetChatData(sdk: Ptr, seq: bigint, limit: number, proxy: string, passwd: string, timeout: number, out: Ptr): number;
  DecryptData(encryptKey: Buffer, encryptMsg: string, out: Ptr): number;
  GetMediaData(sdk: Ptr, indexbuf: string, sdkFileid: string, proxy: string, passwd: string, timeout: number, out: Ptr): number;
  DestroySdk(sdk: Ptr): void;
  NewSlice(): Ptr | null;
  FreeSlice(slice: Ptr): void;
  GetContentFromSlice(slice: Ptr): Ptr | null;
  GetSliceLen(slice: Ptr): number;
  NewMediaData(): Ptr | null;
  FreeMediaData(media: Ptr): void;
  GetOutIndexBuf(media: Ptr): Ptr | null;
  GetData(media: Ptr): Ptr | null;
  GetIndexLen(media: Ptr): number;
  GetDataLen(media: Ptr): number;
  IsMediaDataFinish(media: Ptr): number;
}

type TypeSpec = TypeObject | string;
const DECLARATIONS: Record<SdkFunctionName, [result: TypeSpec, args: TypeSpec[]]> = {
  NewSdk: [SdkPtr, []],
  Init: ['int', [SdkPtr, 'const char *', 'const char *']],
  GetChatData: ['int', [SdkPtr, 'unsigned long long', 'unsigned int', 'const char *', 'const char *', 'int', SlicePtr]],
  // no sdk argument in the C library (the Java wrapper's 4-argument form is not the C ABI)
  DecryptData: ['int', ['const char *', 'const char *', SlicePtr]],
  // indexbuf comes before sdkFileid, as in the C header
  GetMediaData: ['int', [SdkPtr, 'const char *', 'const char *', 'const char *', 'const char *', 'int', MediaPtr]],
  DestroySdk: ['void', [SdkPtr]],
  NewSlice: [SlicePtr, []],
  FreeSlice: ['void', [SlicePtr]],
  GetContentFromSlice: ['void *', [SlicePtr]],
  GetSliceLen: ['int', [SlicePtr]],
  NewMediaData: [MediaPtr, []],
  FreeMediaData: ['void', [MediaPtr]],
  GetOutIndexBuf: ['void *', [MediaPtr]],
  GetData: ['void *', [MediaPtr]],
  GetIndexLen: ['int', [MediaPtr]],
  GetDataLen: ['int', [MediaPtr]],
  IsMediaDataFinish: ['int', [MediaPtr]],
};

/** A failed SDK call, with what the binding observed (the SDK itself gives only a code). */
export class SdkCallError extends WeComSdkError {
  constructor(
    code: number,
    operation: string,
    readonly detail: string = '',
  ) {
    super(code, operation, detail ? { detail } : {});
  }
}

/** The library could not be loaded, or lacks functions of the SDK. */
export class SdkLoadError extends ArchiveError {
  constructor(
    readonly stage: 'load' | 'symbols',
    message: string,
    readonly missing: readonly string[] = [],
    options: { cause?: unknown } = {},
  ) {
    super('SDK_LOAD_FAILED', message, { ...options, kind: 'invalid' });
  }
}

/** The struct layouts koffi computed; on LP64 the C header's structs are 16 and 32 bytes. */
export function structSizes(): { slice: number; mediaData: number } {
  return { slice: koffi.sizeof(Slice), mediaData: koffi.sizeof(MediaData) };
}

/**
 * dlopens the library and resolves all 17 functions. A library that loads but lacks some of them
 * is refused with every missing name listed.
 */
export function loadFinanceSdk(path: string): FinanceSdkLibrary {
  let lib: LibraryHandle;
  try {
    lib = koffi.load(path);
  } catch (err) {
    throw new SdkLoadError('load', `cannot load ${path}: ${(err as Error).message}`, [], { cause: err });
  }
  const fns: Partial<Record<SdkFunctionName, unknown>> = {};
  const missing: string[] = [];
  for (const name of SDK_FUNCTIONS) {
    const [result, args] = DECLARATIONS[name];
    try {
      fns[name] = lib.func(name, result, args);
    } catch {
      missing.push(name);
    }
  }
  if (missing.length) {
    throw new SdkLoadError(
      'symbols',
      `${path} loads but lacks ${missing.length} of the ${SDK_FUNCTIONS.length} SDK functions: ${missing.join(', ')}; it is not (a complete) libWeWorkFinanceSdk_C.so`,
      missing,
    );
  }
  return new FinanceSdkLibrary(fns as unknown as SdkFunctions);
}

/** Rejects strings a C `const char *` cannot carry (koffi would cut them at the NUL). */
function cString(value: string, what: string, operation: string): string {
  if (typeof value !== 'string' || value.includes('\0')) throw new SdkCallError(10000, operation, `${what} must be a string without NUL bytes`);
  return value;
}

function timeoutArg(value: number, operation: string): number {
  if (!Number.isInteger(value) || value < 1 || value > 3600) throw new SdkCallError(10000, operation, 'timeout must be 1–3600 seconds');
  return value;
}

/** Copies `len` bytes at `ptr` out of native memory, after checking both. */
function readBytes(ptr: Ptr | null, len: number, max: number, what: string, operation: string): Buffer {
  if (!Number.isInteger(len) || len < 0 || len > max) throw new SdkCallError(10002, operation, `the SDK gave ${what} a length of ${len}`);
  if (len === 0) return Buffer.alloc(0);
  if (ptr === null || ptr === 0n) throw new SdkCallError(10002, operation, `the SDK gave ${what} no buffer for ${len} bytes`);
  // koffi.view aliases native memory that is freed right after: copy it.
  return Buffer.from(new Uint8Array(koffi.view(ptr, len)));
}

/** Runs one Slice-filling call and copies its output; the Slice is freed on every path. */
function callWithSlice(fn: SdkFunctions, operation: string, call: (slice: Ptr) => number): Buffer {
  const slice = fn.NewSlice();
  if (slice === null || slice === 0n) throw new SdkCallError(10003, operation, 'NewSlice returned NULL');
  try {
    const ret = call(slice);
    if (ret !== 0) throw new SdkCallError(ret, operation);
    return readBytes(fn.GetContentFromSlice(slice), fn.GetSliceLen(slice), MAX_SLICE_BYTES, 'its output', operation);
  } finally {
    fn.FreeSlice(slice);
  }
}

export interface MediaChunkBytes {
  outIndex: string;
  data: Buffer;
  isFinish: boolean;
}

/** The loaded library. DecryptData needs no SDK instance, so it lives here. */
export class FinanceSdkLibrary {
  constructor(private readonly fn: SdkFunctions) {}

  /** NewSdk + Init. A failed Init destroys the instance at once: a half-initialised sdk crashes later. */
  open(corpid: string, secret: string): FinanceSdk {
    cString(corpid, 'corpid', 'Init');
    cString(secret, 'secret', 'Init');
    const sdk = this.fn.NewSdk();
    if (sdk === null || sdk === 0n) throw new SdkCallError(10003, 'NewSdk', 'NewSdk returned NULL');
    const ret = this.fn.Init(sdk, corpid, secret);
    if (ret !== 0) {
      this.fn.DestroySdk(sdk);
      throw new SdkCallError(ret, 'Init');
    }
    return new FinanceSdk(this.fn, sdk);
  }

  /** DecryptData(encrypt_key, encrypt_msg): the plaintext bytes exactly as the SDK returned them. */
  decryptData(encryptKey: Buffer, encryptMsg: string): Buffer {
    if (!Buffer.isBuffer(encryptKey) || encryptKey.includes(0)) throw new SdkCallError(10008, 'DecryptData', 'encrypt_key contains a NUL byte, which a C string cannot carry');
    cString(encryptMsg, 'encrypt_msg', 'DecryptData');
    const key = Buffer.concat([encryptKey, Buffer.from([0])]);
    return callWithSlice(this.fn, 'DecryptData', (slice) => this.fn.DecryptData(key, encryptMsg, slice));
  }
}

/**
 * One initialised SDK instance. Calls are synchronous: the host process does nothing else while
 * one runs, so the instance is never called twice at once and never destroyed during a call.
 */
export class FinanceSdk {
  private destroyed = false;

  constructor(
    private readonly fn: SdkFunctions,
    private readonly sdk: Ptr,
  ) {}

  private live(operation: string): Ptr {
    if (this.destroyed) throw new ArchiveError('SDK_DESTROYED', `${operation} was called after DestroySdk`);
    return this.sdk;
  }

  /** GetChatData: the JSON bytes the SDK put in its Slice. */
  getChatData(seq: bigint, limit: number, proxy: string, passwd: string, timeoutS: number): Buffer {
    const op = 'GetChatData';
    if (typeof seq !== 'bigint' || seq < 0n || seq > SEQ_MAX) throw new SdkCallError(10000, op, 'seq must be an unsigned 64-bit integer');
    if (!Number.isInteger(limit) || limit < 1 || limit > CHAT_LIMIT_MAX) throw new SdkCallError(10000, op, `limit must be 1–${CHAT_LIMIT_MAX}`);
    const args = [cString(proxy, 'proxy', op), cString(passwd, 'passwd', op), timeoutArg(timeoutS, op)] as const;
    const sdk = this.live(op);
    return callWithSlice(this.fn, op, (slice) => this.fn.GetChatData(sdk, seq, limit, args[0], args[1], args[2], slice));
  }

  /** GetMediaData: one chunk (≤ 512 KB), its next index token and whether the file is complete. */
  getMediaData(indexBuf: string, sdkFileId: string, proxy: string, passwd: string, timeoutS: number): MediaChunkBytes {
    const op = 'GetMediaData';
    const args = [
      cString(indexBuf, 'indexbuf', op),
      cString(sdkFileId, 'sdkfileid', op),
      cString(proxy, 'proxy', op),
      cString(passwd, 'passwd', op),
      timeoutArg(timeoutS, op),
    ] as const;
    if (sdkFileId === '') throw new SdkCallError(10000, op, 'sdkfileid is empty');
    const sdk = this.live(op);
    const media = this.fn.NewMediaData();
    if (media === null || media === 0n) throw new SdkCallError(10003, op, 'NewMediaData returned NULL');
    try {
      const ret = this.fn.GetMediaData(sdk, args[0], args[1], args[2], args[3], args[4], media);
      if (ret !== 0) throw new SdkCallError(ret, op);
      const data = readBytes(this.fn.GetData(media), this.fn.GetDataLen(media), MEDIA_CHUNK_MAX, 'the media chunk', op);
      const index = readBytes(this.fn.GetOutIndexBuf(media), this.fn.GetIndexLen(media), MAX_INDEX_BYTES, 'outindexbuf', op);
      const finish = this.fn.IsMediaDataFinish(media);
      if (finish !== 0 && finish !== 1) throw new SdkCallError(10002, op, `is_finish is ${finish}, not 0 or 1`);
      // The token is passed back verbatim as a C string: printable ASCII only.
      if (index.some((b) => b < 0x20 || b > 0x7e)) throw new SdkCallError(10002, op, 'outindexbuf is not printable ASCII');
      const outIndex = index.toString('latin1');
      if (finish === 0 && outIndex === '') throw new SdkCallError(10002, op, 'the file is not finished but the SDK gave no next index');
      return { outIndex, data, isFinish: finish === 1 };
    } finally {
      this.fn.FreeMediaData(media);
    }
  }

  /** DestroySdk, exactly once. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.fn.DestroySdk(this.sdk);
  }
}
