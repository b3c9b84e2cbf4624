/**
 * Real voice recordings for the simulator's voice messages, made at start from synthesized speech:
 * AMR-NB (what WeCom clients record) encoded with opencore-amr, SILK v3 (what WeChat sends) encoded
 * with silk-wasm, half of them with Tencent's leading 0x02 byte and half without, and AMR-WB.
 * Nothing is shipped as a binary: every byte comes from code, the same on every run.
 *
 * The "speech" is a voiced sound with a fixed pitch (`pitchHz`), syllable-like loudness and pauses,
 * so a test can check that a conversion kept the audio, not just produced a file: the decoded copy
 * must carry energy at the pitch's harmonics.
 *
 * No AMR-WB encoder exists on npm or in Debian's ffmpeg, so AMR-WB samples are written frame by frame
 * in the RFC 4867 storage format (speech frames of the 23.85 kbit/s mode with deterministic payload
 * bits): a valid stream any AMR-WB decoder plays, though it sounds like noise, not a voice.
 */
import { encode as encodeSilk } from 'silk-wasm';
import { AMR_WB_MAGIC, encodeAmrNb, WB_PAYLOAD } from '../../media/voice/amr-codec.ts';
import { fmix32 } from '../core/prng.ts';

export interface VoiceSample {
  readonly bytes: Buffer;
  readonly durationMs: number;
  /** the fundamental of the synthesized voice (0 for AMR-WB noise) */
  readonly pitchHz: number;
}

export interface VoiceSamples {
  /** AMR-NB, 12.2 kbit/s */
  readonly amr: readonly VoiceSample[];
  /** SILK v3 (16 kHz speech): even blobs with the 0x02 byte, odd blobs without */
  readonly silk: readonly VoiceSample[];
  /** AMR-WB, 23.85 kbit/s */
  readonly amrwb: readonly VoiceSample[];
}

const AMR_SECONDS = [1.2, 4, 9, 16];
const SILK_SECONDS = [1.5, 3, 4.5];
const WB_SECONDS = [2, 5];

/** A voiced "speech" signal: harmonics of `pitch` under a vowel-like envelope, in syllables. */
export function synthesizeVoice(seconds: number, rate: number, pitch: number): Int16Array {
  const n = Math.round(seconds * rate);
  const pcm = new Int16Array(n);
  const harmonics = Math.floor(3400 / pitch);
  // formant-like weights: a vowel with peaks near 700 Hz and 1200 Hz
  const weight = Array.from({ length: harmonics }, (_, k) => {
    const f = (k + 1) * pitch;
    return 0.35 / (k + 1) + Math.exp(-(((f - 700) / 250) ** 2)) + 0.6 * Math.exp(-(((f - 1200) / 300) ** 2));
  });
  const norm = weight.reduce((a, b) => a + b, 0);
  // the waveform is periodic: one period, tabulated finely, then read at the right phase
  const TABLE = 4096;
  const period = new Float64Array(TABLE);
  for (let j = 0; j < TABLE; j++) {
    let v = 0;
    for (let k = 0; k < harmonics; k++) v += (weight[k] as number) * Math.sin((2 * Math.PI * (k + 1) * j) / TABLE);
    period[j] = v / norm;
  }
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    // 4 syllables a second, a short pause every 1.5 s
    const syllable = Math.max(0, Math.sin(Math.PI * ((t * 4) % 1))) ** 0.6;
    const pause = t % 1.5 > 1.3 ? 0 : 1;
    pcm[i] = Math.round(12_000 * syllable * pause * (period[Math.floor((t * pitch * TABLE) % TABLE)] as number));
  }
  return pcm;
}

function amrWbStream(seconds: number, salt: number): Buffer {
  const mode = 8;
  const size = WB_PAYLOAD[mode] as number;
  const frames = Math.round(seconds * 50);
  const out = Buffer.alloc(AMR_WB_MAGIC.length + frames * (1 + size));
  out.write(AMR_WB_MAGIC, 0, 'latin1');
  let at = AMR_WB_MAGIC.length;
  for (let f = 0; f < frames; f++) {
    out[at++] = (mode << 3) | 0x04;
    for (let b = 0; b < size; b++) out[at++] = fmix32((salt * 1_000_003) ^ (f * 4099 + b)) & 0xff;
  }
  return out;
}

async function make(): Promise<VoiceSamples> {
  const amr = AMR_SECONDS.map((s, k) => {
    const pitch = 110 + 17 * k;
    return { bytes: encodeAmrNb(synthesizeVoice(s, 8000, pitch)), durationMs: s * 1000, pitchHz: pitch };
  });
  const silk: VoiceSample[] = [];
  for (const [k, s] of SILK_SECONDS.entries()) {
    const pitch = 140 + 23 * k;
    // 16 kHz input: wideband SILK, as WeChat voice; encoding at 24 kHz costs four times the CPU
    const pcm = synthesizeVoice(s, 16_000, pitch);
    const encoded = Buffer.from((await encodeSilk(new Uint8Array(pcm.buffer), 16_000)).data);
    // silk-wasm writes Tencent's form (0x02 first); WeChat files are seen both ways
    silk.push({ bytes: k % 2 === 0 ? encoded : encoded.subarray(1), durationMs: s * 1000, pitchHz: pitch });
  }
  const amrwb = WB_SECONDS.map((s, k) => ({ bytes: amrWbStream(s, k + 1), durationMs: s * 1000, pitchHz: 0 }));
  return { amr, silk, amrwb };
}

let samples: Promise<VoiceSamples> | undefined;

/** The voice samples, made once per process (about a second of CPU). */
export function voiceSamples(): Promise<VoiceSamples> {
  samples ??= make();
  return samples;
}
