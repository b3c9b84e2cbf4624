import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VoiceConverter } from '../../src/media/voice/voice-converter.ts';
import { voiceSamples, type VoiceSample } from '../../src/simulator/sdk/voice-samples.ts';
import { decodeMp3, harmonicRatio, rms } from './audio-check.ts';

const FFMPEG = ['/usr/bin/ffmpeg', '/usr/local/bin/ffmpeg'].find((p) => existsSync(p)) ?? null;
const dir = mkdtempSync(join(tmpdir(), 'wa-voice-'));
const pure = new VoiceConverter(null);
const withFfmpeg = new VoiceConverter(FFMPEG);
afterAll(async () => {
  await pure.close();
  await withFfmpeg.close();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
async function convert(converter: VoiceConverter, sample: Buffer, format: 'amr-nb' | 'amr-wb' | 'silk') {
  const input = join(dir, `in-${++n}`);
  const output = join(dir, `out-${n}.mp3`);
  writeFileSync(input, sample);
  const result = await converter.convert(input, format, output);
  return { result, mp3: result.ok ? readFileSync(output) : undefined };
}

/** The MP3 plays: it decodes without errors, lasts as long as the voice, and still carries its pitch. */
async function expectPlayableVoice(mp3: Buffer | undefined, sample: VoiceSample): Promise<void> {
  expect(mp3).toBeDefined();
  expect(mp3!.subarray(0, 2).equals(Buffer.from([0xff, 0xf3])) || mp3!.subarray(0, 3).toString('latin1') === 'ID3' || (mp3![0] === 0xff && (mp3![1]! & 0xe0) === 0xe0)).toBe(true);
  const audio = await decodeMp3(mp3!);
  expect(audio.errors).toBe(0);
  const seconds = audio.samples.length / audio.sampleRate;
  expect(seconds).toBeGreaterThan(sample.durationMs / 1000 - 0.15);
  expect(seconds).toBeLessThan(sample.durationMs / 1000 + 0.3);
  expect(rms(audio.samples)).toBeGreaterThan(0.02);
  if (sample.pitchHz) expect(harmonicRatio(audio.samples, audio.sampleRate, sample.pitchHz)).toBeGreaterThan(5);
}

describe('voice conversion', () => {
  it('turns AMR-NB and SILK (with and without the 0x02 byte) into MP3 with nothing but npm packages', async () => {
    const v = await voiceSamples();
    const cases: Array<[VoiceSample, 'amr-nb' | 'silk']> = [
      [v.amr[1]!, 'amr-nb'],
      [v.silk[0]!, 'silk'],
      [v.silk[1]!, 'silk'],
    ];
    expect(v.silk[0]!.bytes[0]).toBe(0x02);
    expect(v.silk[1]!.bytes.subarray(0, 9).toString('latin1')).toBe('#!SILK_V3');
    for (const [sample, format] of cases) {
      const { result, mp3 } = await convert(pure, sample.bytes, format);
      expect(result, format).toMatchObject({ ok: true, contentType: 'audio/mpeg' });
      await expectPlayableVoice(mp3, sample);
    }
  });

  it('says why a voice cannot be converted: AMR-WB without ffmpeg, damaged or empty files', async () => {
    const v = await voiceSamples();
    expect((await convert(pure, v.amrwb[0]!.bytes, 'amr-wb')).result).toEqual({ ok: false, reason: expect.stringContaining('needs ffmpeg') });
    const damaged = Buffer.concat([Buffer.from('#!AMR\n'), Buffer.from([0x3c, 1, 2, 3]), Buffer.alloc(40, 0xff)]);
    expect((await convert(pure, damaged, 'amr-nb')).result).toEqual({ ok: false, reason: expect.stringMatching(/not a valid AMR-NB file: frame \d+ .* invalid header/) });
    expect((await convert(pure, Buffer.from('#!AMR\n'), 'amr-nb')).result).toEqual({ ok: false, reason: expect.stringContaining('no audio frame') });
    const garbage = Buffer.concat([Buffer.from('\x02#!SILK_V3', 'latin1'), Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919) & 255))]);
    const silk = await convert(pure, garbage, 'silk');
    expect(silk.result.ok).toBe(false);
    // the worker survives a decoder that trapped, and converts the next voice
    const v2 = await convert(pure, v.amr[0]!.bytes, 'amr-nb');
    expect(v2.result.ok).toBe(true);
  });

  it.runIf(FFMPEG !== null)('uses ffmpeg when installed: AMR-WB too, and every format plays', async () => {
    const v = await voiceSamples();
    for (const [sample, format] of [
      [v.amr[2]!, 'amr-nb'],
      [v.silk[1]!, 'silk'],
      [v.amrwb[1]!, 'amr-wb'],
    ] as const) {
      const { result, mp3 } = await convert(withFfmpeg, sample.bytes, format);
      expect(result, format).toMatchObject({ ok: true, contentType: 'audio/mpeg' });
      if (format === 'amr-wb') {
        // generated AMR-WB frames decode to sound, not silence (there is no pitch to find in them)
        const audio = await decodeMp3(mp3!);
        expect(audio.errors).toBe(0);
        expect(Math.abs(audio.samples.length / audio.sampleRate - sample.durationMs / 1000)).toBeLessThan(0.3);
        expect(rms(audio.samples)).toBeGreaterThan(0.001);
      } else await expectPlayableVoice(mp3, sample);
    }
  });
});
