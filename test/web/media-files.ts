/**
 * Tiny real media files for the browser tests, made in the test: a PNG (sharp) and a one-second MP3
 * (lamejs, since ffmpeg may be missing on a developer's machine). No MP4: making one needs ffmpeg.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Mp3Encoder } from '@breezystack/lamejs';
import sharp from 'sharp';

export async function writeMediaFiles(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const png = await sharp({ create: { width: 96, height: 64, channels: 3, background: '#2e8b57' } })
    .png()
    .toBuffer();
  writeFileSync(join(dir, 'pic.png'), png);
  writeFileSync(join(dir, 'voice.mp3'), sineMp3(1));
  writeFileSync(join(dir, 'report.pdf'), '%PDF-1.4\n% fixture\n');
}

/** `seconds` of a 440 Hz tone as MP3, mono 44.1 kHz. */
function sineMp3(seconds: number): Buffer {
  const rate = 44_100;
  const pcm = new Int16Array(rate * seconds);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(Math.sin((2 * Math.PI * 440 * i) / rate) * 8000);
  const encoder = new Mp3Encoder(1, rate, 64);
  const parts: Uint8Array[] = [];
  for (let at = 0; at < pcm.length; at += 1152) parts.push(encoder.encodeBuffer(pcm.subarray(at, at + 1152)));
  parts.push(encoder.flush());
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}
