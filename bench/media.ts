/**
 * Media download benchmark: the simulator and the archive as separate processes, as in
 * production. Prints one JSON line:
 *   {files, bytes, seconds, mb_per_s, rss_peak_mb, raw_mb_per_s, raw_mb_per_s_before_after, ratio, bare: {…}, cpu: {…}, ceiling_ratio, video_1g: {…}}
 * - files/bytes/seconds/mb_per_s: `run --once` downloading, verifying and storing a mixed set of
 *   media (every kind, a few KB to several MB); seconds run from the creation of the first media
 *   job (in the transaction that stores its message) to the last one finished: the run's own start-up
 *   and chat pull are not media work, the wait before the first claim is.
 * - raw_mb_per_s: the same files fetched from the simulator's chunk endpoint in the same run, with
 *   the same concurrency and the same client, bytes thrown away: the reference of the ratio. It is
 *   fetched before and after the archive's run (raw_mb_per_s_before_after), and the rate over both
 *   fetches is the reference: one fetch of a few hundred MB moves by ±20% from run to run.
 * - bare: the bare pipeline, the same fetch with only what the archive must do to every byte: MD5 and
 *   SHA-256 and a write to a file, no database, no fsync, no store. Two ways, each before and after
 *   the archive's run: on the thread that receives the bytes (main_thread), and on the archive's own
 *   partial-file workers (workers). mb_per_s is the better way's rate, ratio that against the raw
 *   rate (what any archive of these rules could reach in this run, within the noise), and
 *   archive_to_bare the archive's rate against it.
 * - cpu: CPU time per byte of the raw fetch (client + simulator) and of the archive's media window
 *   (archive + simulator), the machine's idle seconds in each (for the raw fetch, over both of its
 *   fetches), and MD5 + SHA-256 and a file write per byte here.
 * - ceiling_ratio: the best ratio this machine allows even with no idle time: cores / (the least
 *   CPU time a byte of the bare pipeline's ways and the archive) against the raw rate.
 * - video_1g: one 1 GiB video alone; rss_growth_mb is the archive's RSS peak during the download
 *   minus its RSS when the download started.
 *
 *   npm run bench:media -- [--copies N] [--concurrency N] [--skip-1g]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuSeconds, machineIdleSeconds, rssKb } from './process-rss.ts';
import Database from 'better-sqlite3';
import { PartialFiles } from '../src/media/download/partial-files.ts';
import { createSimulatorBackend } from '../src/sdk/simulator-backend.ts';
import { GIB_VIDEO_BLOB, type MediaKind, MediaPool } from '../src/simulator/sdk/media-pool.ts';
import { seedMaterial } from '../src/simulator/core/prng.ts';
import { voiceSamples } from '../src/simulator/sdk/voice-samples.ts';

const { values } = parseArgs({
  options: { copies: { type: 'string', default: '6' }, concurrency: { type: 'string', default: '4' }, 'skip-1g': { type: 'boolean' }, 'keep-data': { type: 'boolean' } },
});
const copies = Number(values.copies);
const concurrency = Number(values.concurrency);
const SEED = 'bench-media';
const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'bin/wecom-archive');
const dir = mkdtempSync(join(tmpdir(), 'wa-bench-media-'));
const env = {
  ...process.env,
  WECOM_ARCHIVE_DATA_DIR: dir,
  WECOM_ARCHIVE_DB: `sqlite:${join(dir, 'archive.db')}`,
  WECOM_ARCHIVE_LOG_LEVEL: 'warn',
  WECOM_ARCHIVE_MEDIA_CONCURRENCY: String(concurrency),
  WECOM_ARCHIVE_MEDIA_CORP_CONCURRENCY: String(concurrency),
};

const KINDS: Array<[MediaKind, number]> = [
  ['jpg', 8],
  ['png', 4],
  ['gif', 4],
  ['amr', 4],
  ['silk', 3],
  ['amrwb', 2],
  ['mp4', 4],
  ['pdf', 4],
  ['docx', 4],
  ['xlsx', 3],
  ['zip', 3],
  ['dat', 3],
  ['mp3', 3],
];

function line(pool: MediaPool, n: number, kind: MediaKind, blob: number): string {
  const sdkfileid = pool.sdkFileId(kind, blob, n, 0);
  const body = { md5sum: pool.md5(kind, blob), filesize: pool.size(kind, blob), sdkfileid };
  const type =
    kind === 'mp4' ? 'video' : kind === 'amr' || kind === 'silk' || kind === 'amrwb' ? 'voice' : kind === 'jpg' || kind === 'png' ? 'image' : kind === 'gif' ? 'emotion' : 'file';
  return JSON.stringify({
    msgid: `bench-${n}`,
    action: 'send',
    from: 'zhangsan',
    tolist: ['lisi'],
    roomid: '',
    msgtime: Date.now(),
    msgtype: type,
    [type]: type === 'file' ? { ...body, filename: `f${n}.${kind}` } : body,
  });
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** CPU time of MD5 and SHA-256 over the same bytes on this machine (one thread, 64 MiB in 512 KiB chunks). */
function hashNsPerByte(): number {
  const chunk = randomBytes(524288);
  const md5 = createHash('md5');
  const sha = createHash('sha256');
  const before = process.cpuUsage();
  for (let i = 0; i < 128; i++) {
    md5.update(chunk);
    sha.update(chunk);
  }
  md5.digest();
  sha.digest();
  const used = process.cpuUsage(before);
  return ((used.user + used.system) * 1000) / (128 * chunk.length);
}

/**
 * CPU time (user + system) of writing a file through the page cache here, 512 KiB at a time, as the
 * partial-file worker does (256 MiB; the kernel's later write-back to disk is not counted).
 */
function fileWriteNsPerByte(where: string): number {
  const chunk = randomBytes(524288);
  const path = join(where, 'write-cost.tmp');
  const fd = openSync(path, 'w');
  const before = process.cpuUsage();
  try {
    for (let i = 0; i < 512; i++) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
  const used = process.cpuUsage(before);
  rmSync(path);
  return ((used.user + used.system) * 1000) / (512 * chunk.length);
}

async function waitFor(what: string, check: () => boolean, child?: ChildProcess): Promise<void> {
  for (let i = 0; !check(); i++) {
    if (i > 1200) throw new Error(`${what} did not happen`);
    if (child && child.exitCode !== null) throw new Error(`${what}: the process exited with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * What is done with each chunk in a fetch run:
 * - nothing: the bytes are thrown away (the raw rate);
 * - main-thread: hashed (MD5 and SHA-256) and written to a file on the thread that received them;
 * - workers: written and hashed on the archive's own partial-file worker threads, as the archive does.
 * The last two are the bare pipeline: what the archive must do to every byte (verify, address, stream
 * to a file) and nothing else: no database, no fsync, no store.
 */
type Keep = 'nothing' | 'main-thread' | 'workers';

interface FetchRun {
  bytes: number;
  seconds: number;
  cpuSeconds: number;
  idleSeconds: number;
}

/**
 * Every chunk of every file through the simulator backend (the archive's own client), `concurrency`
 * files at a time, each file's next chunk asked for as soon as its token is known.
 */
async function fetchRun(url: string, corp: { corpid: string; secret: string }, ids: string[], simPid: number, keep: Keep): Promise<FetchRun> {
  // every run starts with no dirty pages left by the one before
  execFileSync('sync');
  const scratch = join(dir, 'bare');
  mkdirSync(scratch, { recursive: true });
  const partials = keep === 'workers' ? new PartialFiles() : undefined;
  partials?.warm();
  const backend = createSimulatorBackend({ url, corpid: corp.corpid, secret: corp.secret });
  const ask = (sdkFileId: string, indexBuf: string) => backend.getMediaData({ indexBuf, sdkFileId, proxy: '', passwd: '', timeoutS: 30 });
  let bytes = 0;
  let next = 0;
  const cpuBefore = process.cpuUsage();
  const simBefore = cpuSeconds(simPid) ?? 0;
  const idleBefore = machineIdleSeconds();
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      const n = next++;
      const path = join(scratch, `${n}.part`);
      const file = partials?.open(path, 0);
      const own = keep === 'main-thread' ? { fd: openSync(path, 'w'), md5: createHash('md5'), sha: createHash('sha256') } : undefined;
      let at = 0;
      let ahead = ask(ids[n]!, '');
      for (;;) {
        const chunk = await ahead;
        const length = chunk.data.length;
        bytes += length;
        if (!chunk.isFinish) ahead = ask(ids[n]!, chunk.outIndex);
        if (file) {
          // the chunk's memory moves to the worker: its length is read before
          if (chunk.isFinish) await file.finish(chunk.data, at);
          else await file.write(chunk.data, at);
        } else if (own) {
          for (let done = 0; done < length;) done += writeSync(own.fd, chunk.data, done, length - done, at + done);
          own.md5.update(chunk.data);
          own.sha.update(chunk.data);
        }
        at += length;
        if (chunk.isFinish) break;
      }
      if (own) {
        closeSync(own.fd);
        own.md5.digest();
        own.sha.digest();
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  const client = process.cpuUsage(cpuBefore);
  const cpu = (client.user + client.system) / 1e6 + (cpuSeconds(simPid) ?? simBefore) - simBefore;
  const idleSeconds = machineIdleSeconds() - idleBefore;
  await backend.close();
  await partials?.close();
  rmSync(scratch, { recursive: true, force: true });
  return { bytes, seconds, cpuSeconds: cpu, idleSeconds };
}

/** Two fetch runs as one: their bytes, seconds, CPU and idle time added up. */
function both(a: FetchRun, b: FetchRun): FetchRun {
  return { bytes: a.bytes + b.bytes, seconds: a.seconds + b.seconds, cpuSeconds: a.cpuSeconds + b.cpuSeconds, idleSeconds: a.idleSeconds + b.idleSeconds };
}

const mbPerS = (r: { bytes: number; seconds: number }): number => r.bytes / 1048576 / r.seconds;

interface CpuSample {
  at: number;
  cpu: number;
  idle: number;
}

/** CPU seconds (archive + simulator) and machine idle seconds between two wall-clock times (ms), from the run's samples. */
function cpuBetween(samples: readonly CpuSample[], from: number, to: number): { cpu: number; idle: number } | null {
  const first = samples.find((s) => s.at >= from);
  const last = samples.findLast((s) => s.at <= to);
  return first && last && last.at > first.at ? { cpu: last.cpu - first.cpu, idle: last.idle - first.idle } : null;
}

/**
 * `run --once`, sampling RSS and CPU (archive + simulator, every 50 ms); with `watchPartial`, RSS
 * when the first partial bytes appear.
 */
async function runOnce(watchPartial: boolean, simPid: number): Promise<{ peakKb: number; startKb: number | null; wallSeconds: number; samples: CpuSample[] }> {
  const started = performance.now();
  const archive = spawn(bin, ['run', '--once'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  let peakKb = 0;
  let startKb: number | null = null;
  const samples: CpuSample[] = [];
  const partialDir = join(dir, 'media', '.partial');
  const sampler = setInterval(() => {
    const kb = rssKb(archive.pid!);
    if (watchPartial && startKb === null) {
      const busy = existsSync(partialDir) && readdirSync(partialDir).some((f) => statSync(join(partialDir, f), { throwIfNoEntry: false })?.size);
      if (busy) startKb = kb;
    }
    if (!watchPartial || startKb !== null) peakKb = Math.max(peakKb, kb);
    const archiveCpu = cpuSeconds(archive.pid!);
    if (archiveCpu !== null) samples.push({ at: Date.now(), cpu: archiveCpu + (cpuSeconds(simPid) ?? 0), idle: machineIdleSeconds() });
  }, 50);
  const code = await new Promise<number | null>((resolve) => archive.on('exit', resolve));
  clearInterval(sampler);
  if (code !== 0) throw new Error(`run --once exited with ${code}`);
  return { peakKb, startKb, wallSeconds: (performance.now() - started) / 1000, samples };
}

function mediaWindow(db: Database.Database, msgids: string[]): { files: number; bytes: number; states: Record<string, number> } {
  const rows = db.prepare(`SELECT state, size, created_at, finished_at, updated_at FROM media WHERE msgid IN (${msgids.map(() => '?').join(',')})`).all(...msgids) as Array<{
    state: string;
    size: number | null;
    finished_at: number | null;
    updated_at: number;
  }>;
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

    // raw first, so the simulator's per-blob state is as warm for the archive as for the raw fetch;
    // every fetch is done before and after the archive's run, in mirror order, and taken over both
    const rawBefore = await fetchRun(url, corp, ids, sim.pid!, 'nothing');
    const mainBefore = await fetchRun(url, corp, ids, sim.pid!, 'main-thread');
    const workersBefore = await fetchRun(url, corp, ids, sim.pid!, 'workers');
    execFileSync('sync');
    const runA = await runOnce(false, sim.pid!);
    const workersAfter = await fetchRun(url, corp, ids, sim.pid!, 'workers');
    const mainAfter = await fetchRun(url, corp, ids, sim.pid!, 'main-thread');
    const rawAfter = await fetchRun(url, corp, ids, sim.pid!, 'nothing');
    const raw = both(rawBefore, rawAfter);
    const bareWays = { main_thread: [mainBefore, mainAfter], workers: [workersBefore, workersAfter] } as const;
    const db = new Database(join(dir, 'archive.db'), { readonly: true });
    const msgids = lines.map((_, i) => `bench-${i}`);
    const a = mediaWindow(db, msgids);
    // the media window: the first job created (with its message) to the last job finished
    const times = db.prepare(`SELECT MIN(created_at) AS made, MAX(finished_at) AS last FROM media WHERE msgid IN (${msgids.map(() => '?').join(',')})`).get(...msgids) as {
      made: number;
      last: number;
    };
    const seconds = (times.last - times.made) / 1000;
    const windowCpu = cpuBetween(runA.samples, times.made, times.last);
    const rawRate = mbPerS(raw);
    // the bare pipeline's better way
    const bare = Object.values(bareWays).map(([x, y]) => both(x, y));
    const bareRate = Math.max(...bare.map(mbPerS));
    const archiveNs = windowCpu ? (windowCpu.cpu * 1e9) / a.bytes : null;
    // the least CPU time a byte that fetching, hashing and writing took in this run, whichever way
    // (the archive included: from run to run each moves by ±15%)
    const leastNs = Math.min(...bare.map((r) => (r.cpuSeconds * 1e9) / r.bytes), archiveNs ?? Infinity);
    const result: Record<string, unknown> = {
      files: a.files,
      bytes: a.bytes,
      seconds: round2(seconds),
      mb_per_s: Math.round(a.bytes / 1048576 / seconds),
      rss_peak_mb: Math.round(runA.peakKb / 1024),
      run_seconds: Math.round(runA.wallSeconds * 10) / 10,
      raw_mb_per_s: Math.round(rawRate),
      raw_mb_per_s_before_after: [rawBefore, rawAfter].map((r) => Math.round(mbPerS(r))),
      ratio: round2(a.bytes / 1048576 / seconds / rawRate),
      states: a.states,
      concurrency,
      bare: {
        mb_per_s: Math.round(bareRate),
        ratio: round2(bareRate / rawRate),
        archive_to_bare: round2(a.bytes / 1048576 / seconds / bareRate),
        ...Object.fromEntries(
          Object.entries(bareWays).map(([way, runs]) => {
            const r = both(runs[0], runs[1]);
            return [way, { mb_per_s_before_after: runs.map((x) => Math.round(mbPerS(x))), ns_per_byte: round2((r.cpuSeconds * 1e9) / r.bytes), idle_s: round2(r.idleSeconds) }];
          }),
        ),
      },
      cpu: {
        raw_ns_per_byte: round2((raw.cpuSeconds * 1e9) / raw.bytes),
        raw_idle_s: round2(raw.idleSeconds),
        archive_ns_per_byte: archiveNs === null ? null : round2(archiveNs),
        archive_idle_s: windowCpu ? round2(windowCpu.idle) : null,
        md5_sha256_ns_per_byte: round2(hashNsPerByte()),
        file_write_ns_per_byte: round2(fileWriteNsPerByte(dir)),
      },
      // The best ratio this machine allows: an archive does at least the bare pipeline's work, so
      // with every core busy all the time it could go no faster than cores / (that work's least
      // CPU time a byte), against the raw rate
      ceiling_ratio: round2((availableParallelism() * 1e9) / leastNs / 1048576 / rawRate),
    };

    if (!values['skip-1g']) {
      const video = line(pool, n, 'mp4', GIB_VIDEO_BLOB);
      const res = await fetch(`${url}/control/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ fixtures: [video] }) });
      if (!res.ok) throw new Error(`appending the 1 GiB video failed: HTTP ${res.status}`);
      const runB = await runOnce(true, sim.pid!);
      const v = db.prepare('SELECT state, size, created_at, finished_at FROM media WHERE msgid = ?').get(`bench-${n}`) as {
        state: string;
        size: number;
        created_at: number;
        finished_at: number;
      };
      const vs = (v.finished_at - v.created_at) / 1000;
      result.video_1g = {
        state: v.state,
        bytes: v.size,
        seconds: Math.round(vs * 100) / 100,
        mb_per_s: Math.round(v.size / 1048576 / vs),
        rss_start_mb: runB.startKb === null ? null : Math.round(runB.startKb / 1024),
        rss_peak_mb: Math.round(runB.peakKb / 1024),
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
