/**
 * End-to-end ingest benchmark: the simulator and the archive as separate processes, as in
 * production. Prints one JSON line:
 *   {messages, search_index, seconds, msgs_per_s, rss_peak_mb, rsa_sign_per_s, ratio_to_rsa, rsa_pool_per_s, ratio_to_pool, cpu_s, written_kb_per_msg, cpu_us_per_msg, store_floor_us_per_msg, ceiling_ratio, db}
 * The simulator runs in its own process and encrypts every envelope before the clock starts (as
 * WeCom does on its own servers). rsa_sign_per_s is `openssl speed -multi <cores> rsa2048` measured in
 * the same run, before and after the ingest (this machine's rate drifts by ±10% within minutes, so the
 * mean of the two is the reference): every message costs one RSA-2048 private-key operation, so it
 * is the ceiling for this machine. rsa_pool_per_s is the archive's own RSA stage alone (the worker
 * pool decrypting encrypt_random_key values, no pull, no storage), also measured in this run: how
 * close the whole pipeline comes to the part it cannot avoid.
 * On SQLite, store_floor_us_per_msg is the CPU time of the least storing any archive must do: the run's
 * own envelopes and messages written again, as they are, into a scratch database with nothing but
 * their unique (corpid, msgid) keys, 1,000 rows a transaction, with the archive's durability settings.
 * ceiling_ratio is the best ratio this machine allowed in this run: cores / (openssl's time per RSA
 * operation + the simulator's CPU per message + that floor) against openssl's rate, as if an archive
 * kept every core busy and did nothing else (no pull, no AES, no parsing, no other index).
 *
 *   npm run bench:ingest -- --messages 100000 [--db URL] [--search-index on|off]
 * With --db the database should be empty (a fresh database or schema). `run --once` indexes every
 * message for search before it exits, and the time counts; `--search-index off` leaves them queued,
 * so two runs give what the index stage costs ingest (`search_index` in the line says which).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { cpuSeconds, machineIdleSeconds, rssKb, threadCpuSeconds, writtenBytes } from './process-rss.ts';
import { RsaPool } from '../src/decrypt/rsa-pool.ts';
import { rsaPkcs1v15Encrypt } from '../src/vault/rsa-pkcs1.ts';

const { values } = parseArgs({
  options: { messages: { type: 'string', default: '100000' }, db: { type: 'string' }, 'keep-data': { type: 'boolean' }, 'search-index': { type: 'string', default: 'on' } },
});
const messages = Number(values.messages);
if (!Number.isInteger(messages) || messages < 1) throw new Error('--messages must be a positive integer');
const searchIndex = values['search-index'];
if (searchIndex !== 'on' && searchIndex !== 'off') throw new Error('--search-index must be on or off');
const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'bin/wecom-archive');
const dir = mkdtempSync(join(tmpdir(), 'wa-bench-'));
const db = values.db ?? `sqlite:${join(dir, 'archive.db')}`;
// media downloads off: this measures ingest (bench/media.ts measures media)
const env = {
  ...process.env,
  WECOM_ARCHIVE_DATA_DIR: dir,
  WECOM_ARCHIVE_DB: db,
  WECOM_ARCHIVE_LOG_LEVEL: 'warn',
  WECOM_ARCHIVE_MEDIA_CONCURRENCY: '0',
  WECOM_ARCHIVE_SEARCH_INDEX: searchIndex,
};

function rsaRate(): number {
  const cores = availableParallelism();
  const out = execFileSync('openssl', ['speed', '-seconds', '3', '-multi', String(cores), 'rsa2048'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const line = out.split('\n').find((l) => /^rsa\s+2048 bits/.test(l));
  const fields = line?.trim().split(/\s+/) ?? [];
  const signPerS = Number(fields[5]);
  if (!Number.isFinite(signPerS)) throw new Error(`cannot read openssl speed output:\n${out}`);
  return signPerS;
}

/** encrypt_random_key values/s through the archive's RSA worker pool alone, kept busy for ~3 s. */
async function rsaPoolRate(): Promise<number> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const items = Array.from({ length: 256 }, () => ({ version: 1, encryptRandomKey: rsaPkcs1v15Encrypt(publicKey, randomBytes(32)).toString('base64') }));
  const pool = new RsaPool();
  try {
    pool.setKeys('bench', new Map([[1, privateKey]]));
    await pool.decrypt('bench', items); // the workers have started
    let done = 0;
    const started = performance.now();
    const until = started + 3000;
    const lane = async () => {
      while (performance.now() < until) {
        const results = await pool.decrypt('bench', items);
        if (results.some((r) => r.error)) throw new Error('the RSA pool failed to decrypt its own ciphertexts');
        done += results.length;
      }
    };
    await Promise.all([lane(), lane(), lane()]);
    return done / ((performance.now() - started) / 1000);
  } finally {
    await pool.close();
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/**
 * Where a message's CPU time goes, in µs: the RSA worker threads (the pool has one per core, and they
 * are the archive's busiest threads after the main one), the main thread, the archive's other threads
 * (V8's garbage collector, the module loader) and the simulator. `openssl_per_op` is the CPU time of
 * one RSA-2048 private-key operation by `openssl speed` (cores / rate): the ratio 0.85 leaves
 * cores / (0.85 × rate) µs a message for everything.
 */
function perMessage(threads: Map<number, number>, mainTid: number, simCpu: number, messages: number, rsaSignPerS: number) {
  const cores = availableParallelism();
  const others = [...threads]
    .filter(([tid]) => tid !== mainTid)
    .map(([, s]) => s)
    .sort((a, b) => b - a);
  const rsa = others.slice(0, cores).reduce((n, s) => n + s, 0);
  const rest = others.slice(cores).reduce((n, s) => n + s, 0);
  const us = (s: number) => round1((s * 1e6) / messages);
  return {
    rsa_workers: us(rsa),
    main_thread: us(threads.get(mainTid) ?? 0),
    other_threads: us(rest),
    simulator: us(simCpu),
    openssl_per_op: round1((cores * 1e6) / rsaSignPerS),
    budget_at_085: round1((cores * 1e6) / (0.85 * rsaSignPerS)),
  };
}

const FLOOR_BATCH = 1000;

/**
 * CPU µs a message of storing the run's envelopes and messages again, as they are, into a scratch
 * SQLite database that has only their unique keys (see the header). Rows are read outside the timing.
 */
function sqliteStoreFloor(archivePath: string, scratchPath: string): number {
  const source = new Database(archivePath, { readonly: true });
  const scratch = new Database(scratchPath);
  try {
    // the archive's own settings (src/store/dialects/sqlite.ts)
    scratch.pragma('journal_mode = WAL');
    scratch.pragma('synchronous = NORMAL');
    scratch.pragma('cache_size = -65536');
    scratch.pragma('wal_autocheckpoint = 16384');
    scratch.exec(`create table envelopes (corpid text not null, msgid text not null, seq text not null, publickey_ver integer not null,
        encrypt_random_key text not null, encrypt_chat_msg text not null, primary key (corpid, msgid));
      create table messages (corpid text not null, msgid text not null, seq text not null, raw blob not null, primary key (corpid, msgid));`);
    // in the order they were stored (rowid), which is seq order; the last column is the rowid
    const readEnvelopes = source
      .prepare('select corpid, msgid, seq, publickey_ver, encrypt_random_key, encrypt_chat_msg, rowid from envelopes where rowid > ? order by rowid limit ?')
      .raw();
    const readMessages = source.prepare('select corpid, msgid, seq, raw, rowid from messages where rowid > ? order by rowid limit ?').raw();
    const putEnvelope = scratch.prepare('insert into envelopes values (?, ?, ?, ?, ?, ?)');
    const putMessage = scratch.prepare('insert into messages values (?, ?, ?, ?)');
    const putAll = (stmt: Database.Statement, rows: unknown[][]) =>
      scratch.transaction(() => {
        for (const r of rows) stmt.run(r);
      })();
    /** Takes the rowid off every row (only the stored columns are written again) and gives the last one. */
    const takeRowids = (rows: unknown[][]): number => {
      let last = 0;
      for (const r of rows) last = Number(r.pop());
      return last;
    };
    let cpuUs = 0;
    let count = 0;
    for (let envelopesAfter = 0, messagesAfter = 0; ;) {
      const envelopes = readEnvelopes.all(envelopesAfter, FLOOR_BATCH) as unknown[][];
      if (envelopes.length === 0) break;
      const messages = readMessages.all(messagesAfter, FLOOR_BATCH) as unknown[][];
      envelopesAfter = takeRowids(envelopes);
      if (messages.length) messagesAfter = takeRowids(messages);
      const before = process.cpuUsage();
      putAll(putEnvelope, envelopes);
      putAll(putMessage, messages);
      const used = process.cpuUsage(before);
      cpuUs += used.user + used.system;
      count += envelopes.length;
    }
    return count ? cpuUs / count : 0;
  } finally {
    source.close();
    scratch.close();
  }
}

async function main(): Promise<void> {
  const rsaBefore = rsaRate();
  const poolPerS = await rsaPoolRate();
  const config = join(dir, 'sim.json');
  // --prepare: the simulator encrypts every envelope before it listens, as WeCom does on its own
  // servers, so the timed part measures the archive's work, not the stand-in server's.
  const sim = spawn(bin, ['simulator', '--port', '0', '--messages', String(messages), '--write-config', config, '--prepare'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    for (let i = 0; !existsSync(config); i++) {
      if (i > 36_000) throw new Error('the simulator did not start within an hour');
      if (sim.exitCode !== null) throw new Error(`the simulator exited with ${sim.exitCode}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    execFileSync(bin, ['corp', 'import', config], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    const simCpuBefore = cpuSeconds(sim.pid!) ?? 0;
    const idleBefore = machineIdleSeconds();
    const started = performance.now();
    const archive = spawn(bin, ['run', '--once'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    let peakKb = 0;
    let archiveCpu = 0;
    let written = 0;
    const threads = new Map<number, number>();
    const sampler = setInterval(() => {
      peakKb = Math.max(peakKb, rssKb(archive.pid!));
      archiveCpu = cpuSeconds(archive.pid!) ?? archiveCpu;
      written = writtenBytes(archive.pid!) ?? written;
      // merged, not replaced: threads that end first (the RSA workers at shutdown) keep their last figure
      for (const [tid, s] of threadCpuSeconds(archive.pid!)) threads.set(tid, s);
    }, 100);
    const code = await new Promise<number | null>((resolve) => archive.on('exit', resolve));
    clearInterval(sampler);
    const seconds = (performance.now() - started) / 1000;
    const idle = machineIdleSeconds() - idleBefore;
    const simCpu = (cpuSeconds(sim.pid!) ?? simCpuBefore) - simCpuBefore;
    if (code !== 0) throw new Error(`run --once exited with ${code}`);
    const rsaAfter = rsaRate();
    const rsaSignPerS = (rsaBefore + rsaAfter) / 2;
    const status = JSON.parse(execFileSync(bin, ['status', '--json'], { env, encoding: 'utf8' })) as { corps: Array<{ messages: number; pending: number }> };
    const stored = status.corps.reduce((n, c) => n + c.messages, 0);
    if (stored !== messages) throw new Error(`archived ${stored} of ${messages} messages`);
    const msgsPerS = messages / seconds;
    const cores = availableParallelism();
    const sqlitePath = db.startsWith('sqlite:') ? db.slice('sqlite:'.length) : null;
    const floorUs = sqlitePath ? sqliteStoreFloor(sqlitePath, join(dir, 'floor.db')) : null;
    const simUs = (simCpu * 1e6) / messages;
    const ceiling = floorUs === null ? null : (cores * 1e6) / ((cores * 1e6) / rsaSignPerS + simUs + floorUs) / rsaSignPerS;
    process.stdout.write(
      `${JSON.stringify({
        messages,
        search_index: searchIndex,
        seconds: Math.round(seconds * 10) / 10,
        msgs_per_s: Math.round(msgsPerS),
        rss_peak_mb: Math.round(peakKb / 1024),
        rsa_sign_per_s: Math.round(rsaSignPerS),
        rsa_sign_per_s_before_after: [Math.round(rsaBefore), Math.round(rsaAfter)],
        ratio_to_rsa: Math.round((msgsPerS / rsaSignPerS) * 1000) / 1000,
        rsa_pool_per_s: Math.round(poolPerS),
        ratio_to_pool: Math.round((msgsPerS / poolPerS) * 1000) / 1000,
        // where the machine's time went (the archive's figure is sampled every 100 ms, so a little low)
        cpu_s: { archive: round1(archiveCpu), simulator: round1(simCpu), idle: round1(idle) },
        // bytes the archive handed to write(): database, its write-ahead log, and its requests to the simulator
        written_kb_per_msg: round1(written / 1024 / messages),
        cpu_us_per_msg: perMessage(threads, archive.pid!, simCpu, messages, rsaSignPerS),
        store_floor_us_per_msg: floorUs === null ? null : round1(floorUs),
        ceiling_ratio: ceiling === null ? null : Math.round(ceiling * 1000) / 1000,
        db: db.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@').replace(dir, '$TMP'),
      })}\n`,
    );
  } finally {
    sim.kill('SIGTERM');
    if (!values['keep-data']) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
