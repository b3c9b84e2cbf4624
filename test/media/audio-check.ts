import { MPEGDecoder } from 'mpg123-decoder';

/** Decodes an MP3 with mpg123 (WebAssembly, pure npm): what a browser's decoder would see. */
export async function decodeMp3(bytes: Uint8Array): Promise<{ samples: Float32Array; sampleRate: number; errors: number }> {
  const decoder = new MPEGDecoder();
  await decoder.ready;
  try {
    const out = decoder.decode(bytes);
    return { samples: out.channelData[0] ?? new Float32Array(0), sampleRate: out.sampleRate, errors: out.errors.length };
  } finally {
    decoder.free();
  }
}

/** Energy of `freq` in `samples` (Goertzel). */
function energyAt(samples: Float32Array, rate: number, freq: number): number {
  const w = (2 * Math.PI * freq) / rate;
  const c = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (const x of samples) {
    const s0 = x + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - c * s1 * s2;
}

/**
 * How much louder the harmonics of `pitch` are than the frequencies halfway between them: far above
 * 1 for the synthesized voice (voice-samples.ts), about 1 for noise or silence.
 */
export function harmonicRatio(samples: Float32Array, rate: number, pitch: number): number {
  let on = 0;
  let off = 0;
  for (let k = 1; k * pitch < 3000; k++) {
    on += energyAt(samples, rate, k * pitch);
    off += energyAt(samples, rate, (k + 0.5) * pitch);
  }
  return on / Math.max(off, 1e-12);
}

export function rms(samples: Float32Array): number {
  let sum = 0;
  for (const x of samples) sum += x * x;
  return Math.sqrt(sum / Math.max(1, samples.length));
}
