/**
 * Tiny real media files for the browser tests, made in the test: a PNG (sharp), a one-second MP3
 * (lamejs, since ffmpeg may be missing on a developer's machine) and, where ffmpeg is installed (CI
 * installs it), a two-second MP4 for the video player.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Mp3Encoder } from '@breezystack/lamejs';
import sharp from 'sharp';

/** Whether ffmpeg can make the MP4; without it the video player's test is skipped. */
export const HAVE_FFMPEG = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;

export async function writeMediaFiles(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const png = await sharp({ create: { width: 96, height: 64, channels: 3, background: '#2e8b57' } })
    .png()
    .toBuffer();
  writeFileSync(join(dir, 'pic.png'), png);
  writeFileSync(join(dir, 'voice.mp3'), sineMp3(1));
  writeFileSync(join(dir, 'report.pdf'), '%PDF-1.4\n% fixture\n');
  if (HAVE_FFMPEG) {
    const args = ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '2', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', join(dir, 'video.mp4')];
    const run = spawnSync('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    if (run.status !== 0) throw new Error(`ffmpeg could not make the fixture video: ${String(run.stderr)}`);
  }
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
