/**
 * The voice worker thread: converts one voice file at a time to MP3 (voice-transcode.ts), off the
 * main thread, so decoding never holds up pulls, decryption or downloads.
 */
import { readFile, stat } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import type { VoiceFormat } from '../verify/content-sniff.ts';
import { MAX_VOICE_INPUT, transcodeVoice } from './voice-transcode.ts';

export interface VoiceJob {
  id: number;
  inputFile: string;
  format: VoiceFormat;
  outputFile: string;
  ffmpeg: string | null;
}

const port = parentPort;
if (!port) throw new Error('voice-worker.ts must run on a worker thread');
port.on('message', (job: VoiceJob) => {
  void (async () => {
    const size = (await stat(job.inputFile)).size;
    if (size > MAX_VOICE_INPUT[job.format])
      return { ok: false as const, reason: `the ${job.format} file is ${size} bytes, more than the ${MAX_VOICE_INPUT[job.format]} a voice message can be` };
    return transcodeVoice(await readFile(job.inputFile), job.inputFile, job.format, job.outputFile, job.ffmpeg);
  })().then(
    (result) => port.postMessage({ id: job.id, result }),
    (err: unknown) => port.postMessage({ id: job.id, result: { ok: false, reason: `voice conversion failed: ${(err as Error).message}` } }),
  );
});
