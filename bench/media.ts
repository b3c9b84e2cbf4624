/**
 * Media download benchmark (issue #5): the simulator and the archive as separate processes, as in
 * production. Prints one JSON line:
 *   {files, bytes, seconds, mb_per_s, rss_peak_mb, raw_mb_per_s, ratio, video_1g: {…}}
 * - files/bytes/seconds/mb_per_s: `run --once` downloading, verifying and storing a mixed set of
 *   media (every kind, a few KB to several MB); seconds run from the creation of the first media
 *   job (in the transaction that stores its message) to the last one finished: the run's own start-up
 *   and chat pull are not media work, the wait before the first claim is.
 * - raw_mb_per_s: the same files fetched from the simulator's chunk endpoint in the same run, with
 *   the same concurrency and the same client, bytes thrown away: the ceiling on this machine.
 * - video_1g: one 1 GiB video alone; rss_growth_mb is the archive's RSS peak during the download
 *   minus its RSS when the download started.
 *
 *   npm run bench:media -- [--copies N] [--concurrency N] [--skip-1g]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { rssKb } from './process-rss.ts';
import Database from 'better-sqlite3';
import { createSimulatorBackend } from '../src/sdk/simulator-backend.ts';
import { GIB_VIDEO_BLOB, type MediaKind, MediaPool } from '../src/simulator/media-pool.ts';
import { seedMaterial } from '../src/simulator/prng.ts';
import { voiceSamples } from '../src/simulator/voice-samples.ts';

const { values } = parseArgs({ options: { copies: { type: 'string', default: '6' }, concurrency: { type: 'string', default: '4' }, 'skip-1g': { type: 'boolean' }, 'keep-data': { type: 'boolean' } } });
const copies = Number(values.copies);
const concurrency = Number(values.concurrency);
const SEED = 'bench-media';
const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'bin/wecom-archive');
const dir = mkdtempSync(join(tmpdir(), 'wa-bench-media-'));
const env = {
  ...process.env, WECOM_ARCHIVE_DATA_DIR: dir, WECOM_ARCHIVE_DB: `sqlite:${join(dir, 'archive.db')}`, WECOM_ARCHIVE_LOG_LEVEL: 'warn',
  WECOM_ARCHIVE_MEDIA_CONCURRENCY: String(concurrency), WECOM_ARCHIVE_MEDIA_CORP_CONCURRENCY: String(concurrency),
};


const KINDS: Array<[MediaKind, number]> = [['jpg', 8], ['png', 4], ['gif', 4], ['amr', 4], ['silk', 3], ['amrwb', 2], ['mp4', 4], ['pdf', 4], ['docx', 4], ['xlsx', 3], ['zip', 3], ['dat', 3], ['mp3', 3]];

function line(pool: MediaPool, n: number, kind: MediaKind, blob: number): string {
  const sdkfileid = pool.sdkFileId(kind, blob, n, 0);
  const body = { md5sum: pool.md5(kind, blob), filesize: pool.size(kind, blob), sdkfileid };
  const type = kind === 'mp4' ? 'video' : kind === 'amr' || kind === 'silk' || kind === 'amrwb' ? 'voice' : kind === 'jpg' || kind === 'png' ? 'image' : kind === 'gif' ? 'emotion' : 'file';
  return JSON.stringify({ msgid: `bench-${n}`, action: 'send', from: 'zhangsan', tolist: ['lisi'], roomid: '', msgtime: Date.now(), msgtype: type, [type]: type === 'file' ? { ...body, filename: `f${n}.${kind}` } : body });
}

async function waitFor(what: string, check: () => boolean, child?: ChildProcess): Promise<void> {
  for (let i = 0; !check(); i++) {
    if (i > 1200) throw new Error(`${what} did not happen`);
    if (child && child.exitCode !== null) throw new Error(`${what}: the process exited with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The raw rate: every chunk of every file through the simulator backend, `concurrency` files at a time. */
async function rawRate(url: string, corp: { corpid: string; secret: string }, ids: string[]): Promise<{ bytes: number; seconds: number }> {
  const backend = createSimulatorBackend({ url, corpid: corp.corpid, secret: corp.secret });
  let bytes = 0;
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      const id = ids[next++]!;
      let index = '';
      for (;;) {
        const chunk = await backend.getMediaData({ indexBuf: index, sdkFileId: id, proxy: '', passwd: '', timeoutS: 30 });
        bytes += chunk.data.length;
        if (chunk.isFinish) break;
        index = chunk.outIndex;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  await backend.close();
  return { bytes, seconds };
}

/** `run --once`, sampling RSS; with `watchPartial`, RSS when the first partial bytes appear. */
async function runOnce(watchPartial: boolean): Promise<{ peakKb: number; startKb: number | null; wallSeconds: number }> {
  const started = performance.now();
  const archive = spawn(bin, ['run', '--once'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  let peakKb = 0;
  let startKb: number | null = null;
  const partialDir = join(dir, 'media', '.partial');
  const sampler = setInterval(() => {
    const kb = rssKb(archive.pid!);
    if (watchPartial && startKb === null) {
      const busy = existsSync(partialDir) && readdirSync(partialDir).some((f) => statSync(join(partialDir, f), { throwIfNoEntry: false })?.size);
      if (busy) startKb = kb;
    }
    if (!watchPartial || startKb !== null) peakKb = Math.max(peakKb, kb);
  }, 50);
  const code = await new Promise<number | null>((resolve) => archive.on('exit', resolve));
  clearInterval(sampler);
  if (code !== 0) throw new Error(`run --once exited with ${code}`);
  return { peakKb, startKb, wallSeconds: (performance.now() - started) / 1000 };
}

function mediaWindow(db: Database.Database, msgids: string[]): { files: number; bytes: number; states: Record<string, number> } {
  const rows = db.prepare(`SELECT state, size, created_at, finished_at, updated_at FROM media WHERE msgid IN (${msgids.map(() => '?').join(',')})`).all(...msgids) as Array<{ state: string; size: number | null; finished_at: number | null; updated_at: number }>;
  const states: Record<string, number> = {};
  for (const r of rows) states[r.state] = (states[r.state] ?? 0) + 1;
  return { files: rows.length, bytes: rows.reduce((n, r) => n + (r.size ?? 0), 0), states };
}

async function main(): Promise<void> {
  const pool = new MediaPool(seedMaterial(SEED));
  pool.prepare(await voiceSamples());
  const lines: string[] = [];
  const ids: string[] = [];
  let n = 0;
  for (let c = 0; c < copies; c++) {
    for (const [kind, count] of KINDS) {
      for (let b = 0; b < count; b++) {
        lines.push(line(pool, n, kind, b));
        ids.push(pool.sdkFileId(kind, b, n, 0));
        n++;
      }
    }
  }
  const fixtures = join(dir, 'fixtures.jsonl');
  writeFileSync(fixtures, `${lines.join('\n')}\n`);
  const config = join(dir, 'sim.json');
  const sim = spawn(bin, ['simulator', '--port', '0', '--seed', SEED, '--fixtures', fixtures, '--write-config', config], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    await waitFor('the simulator start', () => existsSync(config), sim);
    const corpConfig = JSON.parse(readFileSync(config, 'utf8')) as { corps: Array<{ corpid: string; secret: string; sdk: string }> };
    const corp = corpConfig.corps[0]!;
    const url = corp.sdk.replace(/^simulator:/, '');
    execFileSync(bin, ['corp', 'import', config], { env, stdio: ['ignore', 'ignore', 'inherit'] });

    // raw first, so the simulator's per-blob state is as warm for the archive as for the raw fetch
    const raw = await rawRate(url, corp, ids);
    const runA = await runOnce(false);
    const db = new Database(join(dir, 'archive.db'), { readonly: true });
    const msgids = lines.map((_, i) => `bench-${i}`);
    const a = mediaWindow(db, msgids);
    // the media window: the first job created (with its message) to the last job finished
    const times = db.prepare(`SELECT MIN(created_at) AS made, MAX(finished_at) AS last FROM media WHERE msgid IN (${msgids.map(() => '?').join(',')})`).get(...msgids) as { made: number; last: number };
    const seconds = (times.last - times.made) / 1000;
    const result: Record<string, unknown> = {
      files: a.files, bytes: a.bytes, seconds: Math.round(seconds * 100) / 100, mb_per_s: Math.round(a.bytes / 1048576 / seconds),
      rss_peak_mb: Math.round(runA.peakKb / 1024), run_seconds: Math.round(runA.wallSeconds * 10) / 10,
      raw_mb_per_s: Math.round(raw.bytes / 1048576 / raw.seconds), ratio: Math.round((a.bytes / seconds / (raw.bytes / raw.seconds)) * 100) / 100,
      states: a.states, concurrency,
    };

    if (!values['skip-1g']) {
      const video = line(pool, n, 'mp4', GIB_VIDEO_BLOB);
      const res = await fetch(`${url}/control/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ fixtures: [video] }) });
      if (!res.ok) throw new Error(`appending the 1 GiB video failed: HTTP ${res.status}`);
      const runB = await runOnce(true);
      const v = db.prepare('SELECT state, size, created_at, finished_at FROM media WHERE msgid = ?').get(`bench-${n}`) as { state: string; size: number; created_at: number; finished_at: number };
      const vs = (v.finished_at - v.created_at) / 1000;
      result.video_1g = {
        state: v.state, bytes: v.size, seconds: Math.round(vs * 100) / 100, mb_per_s: Math.round(v.size / 1048576 / vs),
        rss_start_mb: runB.startKb === null ? null : Math.round(runB.startKb / 1024), rss_peak_mb: Math.round(runB.peakKb / 1024),
        rss_growth_mb: runB.startKb === null ? null : Math.round((runB.peakKb - runB.startKb) / 1024),
      };
    }
    db.close();
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    sim.kill('SIGTERM');
    if (!values['keep-data']) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
