/**
 * AMR-NB in pure JavaScript: the opencore-amr decoder and encoder compiled to asm.js, as shipped by
 * the npm package recorder-core (src/engine/beta-amr-engine.js, MIT; derived from
 * benz-amr-recorder's amrnb.js). Nothing to build or install beyond `npm install`.
 *
 * The engine is a browser script that registers itself on a global; it is run here in its own vm
 * context so it touches none of this process's globals. Loading costs ~0.3 s, so it happens once per
 * thread, on first use.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import vm from 'node:vm';

interface EngineDecoder {
  decode(bytes: Uint8Array): Int16Array;
  flush(): Int16Array;
}
interface EngineEncoder {
  encode(pcm: Int16Array): Uint8Array;
  flush(): Uint8Array;
}
interface Engine {
  GetDecoder(): EngineDecoder;
  GetEncoder(bitRate: number): EngineEncoder;
}

export const AMR_NB_MAGIC = '#!AMR\n';
export const AMR_WB_MAGIC = '#!AMR-WB\n';
/** payload bytes of an AMR-NB frame by frame type (after the 1-byte header); 12–14 are reserved */
const NB_PAYLOAD: readonly (number | undefined)[] = [12, 13, 15, 17, 19, 20, 26, 31, 5, 6, 5, 5, undefined, undefined, undefined, 0];
/** payload bytes of an AMR-WB frame by frame type (RFC 4867 storage format) */
export const WB_PAYLOAD: readonly (number | undefined)[] = [17, 23, 32, 36, 40, 46, 50, 58, 60, 5, undefined, undefined, undefined, undefined, 0, 0];
/** samples per 20 ms frame at 8 kHz */
export const AMR_NB_FRAME_SAMPLES = 160;

let engine: Engine | undefined;

function loadEngine(): Engine {
  if (engine) return engine;
  const require = createRequire(import.meta.url);
  const file = require.resolve('recorder-core/src/engine/beta-amr-engine.js');
  const context = vm.createContext({ console: { log() {}, error() {}, warn() {} } });
  vm.runInContext('Object["Recorder-Core-Export"] = {};', context);
  vm.runInContext(readFileSync(file, 'utf8'), context, { filename: file });
  const loaded = vm.runInContext('Object["Recorder-Core-Export"].AMR', context) as Engine | undefined;
  if (!loaded || typeof loaded.GetDecoder !== 'function') throw new Error(`the AMR engine in ${file} did not load`);
  engine = loaded;
  return engine;
}

/**
 * Splits an AMR-NB file body (after the magic) into whole frames, checking every frame header, so
 * the asm.js decoder never sees a byte it cannot parse. Returns the byte length of whole frames.
 */
export function checkAmrNbFrames(body: Uint8Array): { frames: number; length: number; bad: string | null } {
  let at = 0;
  let frames = 0;
  while (at < body.length) {
    const header = body[at] as number;
    const size = NB_PAYLOAD[(header >> 3) & 0x0f];
    if (size === undefined || (header & 0x83) !== 0)
      return { frames, length: at, bad: `frame ${frames} at byte ${at + AMR_NB_MAGIC.length} has an invalid header 0x${header.toString(16)}` };
    if (at + 1 + size > body.length) break;
    at += 1 + size;
    frames += 1;
  }
  return { frames, length: at, bad: null };
}

/** A streaming AMR-NB decoder: whole frames in, 8 kHz mono PCM out. Call `close()` when done. */
export class AmrNbDecoder {
  private readonly dec = loadEngine().GetDecoder();
  private closed = false;

  /** `frames` must be whole, checked frames (see checkAmrNbFrames). */
  decode(frames: Uint8Array): Int16Array {
    return this.dec.decode(frames);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.dec.flush();
  }
}

/**
 * Encodes 8 kHz mono PCM as an AMR-NB file (magic included). `kbps` is one of the AMR-NB modes
 * (4.75 … 12.2). Used by the simulator to make real voice samples.
 */
export function encodeAmrNb(pcm: Int16Array, kbps = 12.2): Buffer {
  const enc = loadEngine().GetEncoder(kbps);
  try {
    // the engine keeps a partial frame back until the next call; pad to whole frames plus one
    const frames = Math.ceil(pcm.length / AMR_NB_FRAME_SAMPLES) + 1;
    const padded = new Int16Array(frames * AMR_NB_FRAME_SAMPLES);
    padded.set(pcm);
    const body = enc.encode(padded);
    return Buffer.concat([Buffer.from(AMR_NB_MAGIC, 'latin1'), Buffer.from(body.buffer, body.byteOffset, body.byteLength)]);
  } finally {
    enc.flush();
  }
}
