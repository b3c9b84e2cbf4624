import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createApp, type App } from '../../src/app/app.ts';
import { createLogger } from '../../src/app/logger.ts';
import { runArchive, type RunOptions } from '../../src/app/archive-runner.ts';
import type { CorpProgress } from '../../src/archiver/corp-archiver.ts';
import { loadConfig, type GlobalFlags } from '../../src/config/config.ts';
import { registerCorps, simulatorCorp } from '../../src/corps/corp-registration.ts';
import type { MediaPolicy } from '../../src/media/media-policy.ts';
import { exponentialBackoff } from '../../src/runtime/backoff.ts';
import type { MediaKind } from '../../src/simulator/sdk/media-pool.ts';
import type { RunningSimulator } from '../../src/simulator/server.ts';
import type { Store } from '../../src/store/open-store.ts';
import { FAST_TIMING } from '../support/archive-harness.ts';

/** Short waits: the same retry rules, in milliseconds instead of seconds. */
export const FAST_MEDIA_POLICY: Partial<MediaPolicy> = {
  chunkBackoff: exponentialBackoff(5, 20),
  jobBackoff: exponentialBackoff(60_000, 60_000),
};

/** An app on `store` whose data (and media) directory is a fresh temporary one. */
export function mediaApp(store: Store, flags: GlobalFlags = {}, env: Record<string, string> = {}): { app: App; dataDir: string } {
  const dataDir = mkdtempSync(join(tmpdir(), 'wa-media-'));
  const config = loadConfig({ 'data-dir': dataDir, ffmpeg: 'off', ...flags }, { PATH: process.env.PATH ?? '', ...env }, dataDir);
  return { app: createApp(config, store, Buffer.alloc(32, 3)), dataDir };
}

export async function addCorp(app: App, sim: RunningSimulator): Promise<void> {
  await registerCorps(app, [simulatorCorp(sim, { apiSecrets: false, callbackApps: false })]);
}

export async function archiveWithMedia(app: App, extra: Partial<RunOptions> = {}): Promise<CorpProgress[]> {
  return runArchive(app, createLogger('silent'), new AbortController().signal, { once: true, timing: FAST_TIMING, mediaPolicy: FAST_MEDIA_POLICY, ...extra });
}

export interface Ref {
  sdkfileid: string;
  md5sum: string;
  filesize: number;
  kind: MediaKind;
  blob: number;
}

let counter = 0;
/** A reference to a simulator blob under a fresh sdkfileid; md5 as WeCom would announce it. */
export function ref(sim: RunningSimulator, kind: MediaKind, blob: number, md5: 'real' | 'empty' | 'wrong' = 'real'): Ref {
  const pool = sim.sim.media;
  const real = pool.md5(kind, blob);
  const md5sum = md5 === 'real' ? real : md5 === 'empty' ? '' : createHash('md5').update(`not ${real}`).digest('hex');
  return { sdkfileid: pool.sdkFileId(kind, blob, 900_000 + counter++, 0), md5sum, filesize: pool.size(kind, blob), kind, blob };
}

export function blobBytes(sim: RunningSimulator, r: { kind: MediaKind; blob: number }): Buffer {
  return sim.sim.media.read(r.kind, r.blob, 0, sim.sim.media.size(r.kind, r.blob));
}

/** A plaintext message as WeCom sends it. */
export function message(msgid: string, msgtype: string, body: Record<string, unknown>): string {
  return JSON.stringify({ msgid, action: 'send', from: 'zhangsan', tolist: ['lisi'], roomid: '', msgtime: Date.now(), msgtype, ...body });
}

/** `{type, content}` item of a mixed or chatrecord message: content is JSON in a string. */
export function item(type: string, content: Record<string, unknown>): Record<string, unknown> {
  return { type, content: JSON.stringify(content) };
}

export const media = (r: Ref, extra: Record<string, unknown> = {}) => ({ md5sum: r.md5sum, filesize: r.filesize, sdkfileid: r.sdkfileid, ...extra });

/** Every file under `dir`, relative, sorted. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

export function sizeOf(path: string): number {
  return statSync(path).size;
}
