/**
 * The SDK host: a child process that loads libWeWorkFinanceSdk_C.so, holds one SDK instance and
 * runs one call at a time, on behalf of a parent that supervises it (sdk-host.ts). The calls are
 * synchronous, so while one runs the process does nothing else: the instance can never be called
 * twice at once, nor destroyed during a call, neither of which the SDK survives. If the library
 * crashes, hangs or leaks, only this process is lost; the parent starts another and retries the call.
 */
import { WeComSdkError } from '../../errors/wecom-codes.ts';
import { type FinanceSdk, type FinanceSdkLibrary, loadFinanceSdk, SdkCallError, SdkLoadError } from './finance-sdk-binding.ts';
import { type CallArgs, type DecryptItemResult, type FromHost, parseToHost } from './host-protocol.ts';

let library: FinanceSdkLibrary | undefined;
let sdk: FinanceSdk | undefined;

function send(message: FromHost): void {
  process.send?.(message);
}

function rss(): number {
  return process.memoryUsage.rss();
}

function init(libPath: string, corpid: string, secret: string, loadOnly: boolean): void {
  if (library) {
    send({ t: 'init-failed', stage: 'init', code: null, message: 'this host is already initialised', missing: [] });
    return;
  }
  try {
    library = loadFinanceSdk(libPath);
  } catch (err) {
    const e = err instanceof SdkLoadError ? err : new SdkLoadError('load', String(err));
    send({ t: 'init-failed', stage: e.stage, code: null, message: e.message.slice(0, 4000), missing: [...e.missing] });
    return;
  }
  if (loadOnly) {
    send({ t: 'ready', rss: rss(), pid: process.pid });
    return;
  }
  try {
    sdk = library.open(corpid, secret);
  } catch (err) {
    const code = err instanceof WeComSdkError ? err.wecomCode : null;
    send({ t: 'init-failed', stage: 'init', code, message: (err as Error).message.slice(0, 4000), missing: [] });
    return;
  }
  send({ t: 'ready', rss: rss(), pid: process.pid });
}

/** The SDK's code and detail of a failed call; anything else (a bug here) is reported as a system failure. */
function failureOf(err: unknown): { code: number; detail: string } {
  const code = err instanceof WeComSdkError ? err.wecomCode : 10003;
  const detail = err instanceof SdkCallError ? err.detail : err instanceof WeComSdkError ? '' : `host error: ${(err as Error).message}`;
  return { code, detail: detail.slice(0, 1000) };
}

function call(id: number, args: CallArgs): void {
  try {
    if (!library || !sdk) throw new SdkCallError(10003, 'SDK host', 'the host is not initialised');
    let data: Buffer;
    let outIndex = '';
    let isFinish = false;
    if (args.op === 'decrypt-many') {
      const lib = library;
      const items: DecryptItemResult[] = args.items.map((item) => {
        try {
          return { ok: true, data: lib.decryptData(Buffer.from(item.key.buffer, item.key.byteOffset, item.key.byteLength), item.msg) };
        } catch (err) {
          return { ok: false, ...failureOf(err) };
        }
      });
      send({ t: 'result', id, rss: rss(), ok: true, data: new Uint8Array(0), outIndex, isFinish: true, items });
      return;
    }
    switch (args.op) {
      case 'chatdata':
        data = sdk.getChatData(args.seq, args.limit, args.proxy, args.passwd, args.timeoutS);
        break;
      case 'decrypt':
        data = library.decryptData(Buffer.from(args.key.buffer, args.key.byteOffset, args.key.byteLength), args.msg);
        break;
      case 'media': {
        const chunk = sdk.getMediaData(args.indexBuf, args.sdkFileId, args.proxy, args.passwd, args.timeoutS);
        data = chunk.data;
        outIndex = chunk.outIndex;
        isFinish = chunk.isFinish;
        break;
      }
    }
    send({ t: 'result', id, rss: rss(), ok: true, data, outIndex, isFinish });
  } catch (err) {
    // The SDK's code as it was
    send({ t: 'result', id, rss: rss(), ok: false, ...failureOf(err) });
  }
}

/** DestroySdk exactly once, then leave. Only reached between calls. */
function shutdown(): never {
  try {
    sdk?.destroy();
  } finally {
    sdk = undefined;
  }
  process.exit(0);
}

if (!process.send) {
  process.stderr.write('host-main.ts is started by the SDK supervisor with an IPC channel, not by hand\n');
  process.exit(2);
}

process.on('message', (raw: unknown) => {
  const message = parseToHost(raw);
  if (!message) {
    process.stderr.write('SDK host: refused a malformed message from the parent\n');
    process.exit(70);
  }
  switch (message.t) {
    case 'init':
      init(message.libPath, message.corpid, message.secret, message.loadOnly);
      break;
    case 'call':
      call(message.id, message.args);
      break;
    case 'destroy':
      shutdown();
  }
});
// The parent is gone (it exited or crashed): release the SDK and go too.
process.on('disconnect', () => shutdown());
// The parent owns this process's life: Ctrl-C in a terminal or a service manager's SIGTERM reach the
// whole process group, and the parent then finishes the running call and destroys the SDK itself.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
