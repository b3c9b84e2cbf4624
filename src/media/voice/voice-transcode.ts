/**
 * Voice → MP3. WeCom voice messages are AMR-NB, WeChat ones SILK v3 (usually
 * after a 0x02 byte), some recorders make AMR-WB; no browser plays any of them, every browser plays
 * MP3. Decoders:
 * - AMR-NB: opencore-amr in asm.js (amr-codec.ts), pure npm;
 * - SILK v3: silk-wasm, pure npm (its decoder wants the 0x02 byte, which is added when missing);
 * - AMR-WB: ffmpeg when one is installed (no pure-JS AMR-WB decoder exists on npm); without it the
 *   voice is marked as not convertible, with that reason.
 * The encoder is ffmpeg's libmp3lame when ffmpeg is installed (fast), else lamejs (pure JS, about
 * 15–30× real time). Output: mono MP3, 16 kHz, 32 kbit/s (MPEG-2 layer III), which every browser
 * plays; SILK is decoded at 16 kHz (lamejs's own resampler to 22.05 kHz outputs silence).
 * Runs on a worker thread (voice-converter.ts).
 */
import { spawn } from 'node:child_process';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { Mp3Encoder } from '@breezystack/lamejs';
import { decode as decodeSilk } from 'silk-wasm';
import { AMR_NB_MAGIC, AMR_WB_MAGIC, AmrNbDecoder, checkAmrNbFrames, WB_PAYLOAD } from './amr-codec.ts';
import type { VoiceFormat } from '../verify/content-sniff.ts';

export interface TranscodeResult {
  ok: true;
  contentType: 'audio/mpeg';
  durationMs: number;
  sampleRate: number;
  bytes: number;
}
export interface TranscodeFailure {
  ok: false;
  reason: string;
}

/** Largest inputs converted (60 s of WeCom voice is ~100 KB of AMR or ~250 KB of SILK). */
export const MAX_VOICE_INPUT: Readonly<Record<VoiceFormat, number>> = { 'amr-nb': 16 << 20, 'amr-wb': 16 << 20, silk: 2 << 20 };
const KBPS = 32;
const FRAMES_PER_BLOCK = 250; // 5 s of AMR per decode call

/** Writes MP3 as PCM comes in, so a long voice never sits in memory as PCM. */
class Mp3Writer {
  private readonly encoder: Mp3Encoder;
  bytes = 0;
  samples = 0;

  constructor(
    private readonly out: FileHandle,
    readonly sampleRate: number,
  ) {
    this.encoder = new Mp3Encoder(1, sampleRate, KBPS);
  }

  async write(pcm: Int16Array): Promise<void> {
    this.samples += pcm.length;
    for (let at = 0; at < pcm.length; at += 1152 * 16) await this.emit(this.encoder.encodeBuffer(pcm.subarray(at, at + 1152 * 16)));
  }

  async end(): Promise<void> {
    await this.emit(this.encoder.flush());
    await this.out.sync();
  }

  private async emit(mp3: Uint8Array): Promise<void> {
    if (mp3.length === 0) return;
    await this.out.write(mp3, 0, mp3.length, this.bytes);
    this.bytes += mp3.length;
  }
}

/** 8 kHz → 16 kHz by linear interpolation (MPEG-2 has no 8 kHz; plenty for narrowband speech). */
export function upsample2x(pcm: Int16Array, last: { value: number }): Int16Array {
  const out = new Int16Array(pcm.length * 2);
  let prev = last.value;
  for (let i = 0; i < pcm.length; i++) {
    const cur = pcm[i] as number;
    out[2 * i] = (prev + cur) >> 1;
    out[2 * i + 1] = cur;
    prev = cur;
  }
  last.value = prev;
  return out;
}

async function amrNb(input: Buffer, writer: () => Promise<Mp3Writer>): Promise<Mp3Writer | string> {
  const body = input.subarray(AMR_NB_MAGIC.length);
  const check = checkAmrNbFrames(body);
  if (check.bad) return `not a valid AMR-NB file: ${check.bad}`;
  if (check.frames === 0) return 'the AMR-NB file holds no audio frame';
  const w = await writer();
  const decoder = new AmrNbDecoder();
  const last = { value: 0 };
  try {
    let at = 0;
    while (at < check.length) {
      // whole frames only: walk FRAMES_PER_BLOCK frame headers forward
      let end = at;
      for (let k = 0; k < FRAMES_PER_BLOCK && end < check.length; k++) end += 1 + frameSize(body[end] as number);
      await w.write(upsample2x(decoder.decode(body.subarray(at, end)), last));
      at = end;
    }
  } finally {
    decoder.close();
  }
  return w;
}

function frameSize(header: number): number {
  return [12, 13, 15, 17, 19, 20, 26, 31, 5, 6, 5, 5, 0, 0, 0, 0][(header >> 3) & 0x0f] as number;
}

async function silk(input: Buffer, writer: () => Promise<Mp3Writer>): Promise<Mp3Writer | string> {
  // silk-wasm decodes the Tencent flavour only: 0x02 then "#!SILK_V3"
  const data = input[0] === 0x02 ? input : Buffer.concat([Buffer.from([0x02]), input]);
  let pcm: Uint8Array;
  try {
    pcm = (await decodeSilk(data, 16_000)).data;
  } catch (err) {
    return `the SILK decoder refused the file: ${(err as Error).message}`;
  }
  if (pcm.length < 2) return 'the SILK file holds no audio';
  const w = await writer();
  await w.write(new Int16Array(pcm.buffer, pcm.byteOffset, Math.floor(pcm.byteLength / 2)));
  return w;
}

/** Whole AMR-WB frames in a file body, or why it is not AMR-WB. */
function checkAmrWbFrames(body: Buffer): { frames: number; bad: string | null } {
  let at = 0;
  let frames = 0;
  while (at < body.length) {
    const header = body[at] as number;
    const size = WB_PAYLOAD[(header >> 3) & 0x0f];
    if (size === undefined || (header & 0x83) !== 0) return { frames, bad: `frame ${frames} has an invalid header 0x${header.toString(16)}` };
    if (at + 1 + size > body.length) break;
    at += 1 + size;
    frames += 1;
  }
  return { frames, bad: null };
}

/** Runs ffmpeg to make `outputFile`, feeding `stdin` when given; null on success, else why not. */
function runFfmpeg(ffmpeg: string, args: string[], stdin?: Uint8Array): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn(ffmpeg, ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args], { stdio: [stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 2000) stderr += d.toString('utf8');
    });
    child.on('error', (err) => resolve(`ffmpeg could not be started: ${err.message}`));
    child.on('close', (code) => resolve(code === 0 ? null : `ffmpeg failed (exit ${code}): ${stderr.trim().slice(0, 300) || 'no message'}`));
    if (stdin && child.stdin) {
      child.stdin.on('error', () => undefined);
      child.stdin.end(stdin);
    }
  });
}

const MP3_OUT = ['-ac', '1', '-c:a', 'libmp3lame', '-b:a', `${KBPS}k`, '-f', 'mp3', '-y'];

/** The ffmpeg path: AMR straight from the file, SILK decoded here and piped in as PCM. */
async function withFfmpeg(input: Buffer, inputFile: string, format: VoiceFormat, outputFile: string, ffmpeg: string): Promise<TranscodeResult | TranscodeFailure> {
  let durationMs: number;
  let problem: string | null;
  if (format === 'silk') {
    const data = input[0] === 0x02 ? input : Buffer.concat([Buffer.from([0x02]), input]);
    let pcm: Uint8Array;
    try {
      pcm = (await decodeSilk(data, 16_000)).data;
    } catch (err) {
      return { ok: false, reason: `the SILK decoder refused the file: ${(err as Error).message}` };
    }
    if (pcm.length < 2) return { ok: false, reason: 'the SILK file holds no audio' };
    durationMs = Math.round((pcm.length / 2 / 16_000) * 1000);
    problem = await runFfmpeg(ffmpeg, ['-f', 's16le', '-ar', '16000', '-ac', '1', '-i', 'pipe:0', ...MP3_OUT, outputFile], pcm);
  } else {
    const magic = format === 'amr-nb' ? AMR_NB_MAGIC : AMR_WB_MAGIC;
    const body = input.subarray(magic.length);
    const check = format === 'amr-nb' ? checkAmrNbFrames(body) : checkAmrWbFrames(body);
    if (check.bad) return { ok: false, reason: `not a valid ${format.toUpperCase()} file: ${check.bad}` };
    if (check.frames === 0) return { ok: false, reason: `the ${format.toUpperCase()} file holds no audio frame` };
    durationMs = check.frames * 20;
    problem = await runFfmpeg(ffmpeg, ['-f', format === 'amr-nb' ? 'amr' : 'amrwb', '-i', inputFile, '-ar', '16000', ...MP3_OUT, outputFile]);
  }
  if (problem) return { ok: false, reason: problem };
  const { size } = await stat(outputFile);
  return { ok: true, contentType: 'audio/mpeg', durationMs, sampleRate: 16_000, bytes: size };
}

/**
 * Converts the voice file `inputFile` (already read into `input`) of `format` to MP3 at `outputFile`.
 * Never throws for bad input: a voice that cannot be converted comes back as `{ ok: false, reason }`.
 */
export async function transcodeVoice(
  input: Buffer,
  inputFile: string,
  format: VoiceFormat,
  outputFile: string,
  ffmpeg: string | null,
): Promise<TranscodeResult | TranscodeFailure> {
  if (input.length > MAX_VOICE_INPUT[format])
    return { ok: false, reason: `the ${format} file is ${input.length} bytes, more than the ${MAX_VOICE_INPUT[format]} a voice message can be` };
  if (ffmpeg) {
    try {
      return await withFfmpeg(input, inputFile, format, outputFile, ffmpeg);
    } catch (err) {
      return { ok: false, reason: `converting the ${format} voice failed: ${(err as Error).message}` };
    }
  }
  let out: FileHandle | undefined;
  const writer = async (rate: number): Promise<Mp3Writer> => {
    out = await open(outputFile, 'w', 0o600);
    return new Mp3Writer(out, rate);
  };
  try {
    let result: Mp3Writer | string;
    if (format === 'amr-nb') result = await amrNb(input, () => writer(16_000));
    else if (format === 'silk') result = await silk(input, () => writer(16_000));
    else return { ok: false, reason: 'AMR-WB voice needs ffmpeg to be decoded (npm has no JavaScript AMR-WB decoder); install ffmpeg or give --ffmpeg PATH' };
    if (typeof result === 'string') return { ok: false, reason: result };
    await result.end();
    if (result.samples === 0) return { ok: false, reason: `the ${format} file decoded to no audio` };
    return { ok: true, contentType: 'audio/mpeg', durationMs: Math.round((result.samples * 1000) / result.sampleRate), sampleRate: result.sampleRate, bytes: result.bytes };
  } catch (err) {
    return { ok: false, reason: `decoding the ${format} voice failed: ${(err as Error).message}` };
  } finally {
    await out?.close();
  }
}
