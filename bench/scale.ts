/**
 * Scale-out benchmark: the same archive of N simulated corps pulled into a fresh PostgreSQL database
 * by 1, 2 and 4 `run --once` processes at a time, each with `--max-corps ceil(N / processes)` so the
 * corps spread over them (leases are sticky: without a limit the first process up takes them all).
 * Prints one JSON line per process count:
 *   {processes, corps, messages, seconds, msgs_per_s,
 *    per_process: [{corps, messages, cpu_s, cpu_s_per_1000_msgs, cpu_s_per_1000_msgs_past_start}],
 *    cpu_s_per_1000_msgs, start_cpu_s, cpu_s_per_1000_msgs_past_start, simulator_cpu_s, load_avg_1m, cores}
 * `seconds` runs from the first process's start to the last one's exit (start-up included).
 * `cpu_s` is a process's user + system time from /proc/PID/stat (every thread: main, RSA workers, GC),
 * sampled every 100 ms until it exits; `messages` what it archived, from its last progress report.
 * `start_cpu_s` is what one process costs with nothing to archive (start-up, an empty pull per corp,
 * exit: the same command once more on the archived database); `…_past_start` leaves it out, so a
 * process's fixed cost does not read as a cost per message when it archives few.
 * The simulators run in a process of their own and encrypt every envelope before the clock starts.
 * On a 2-core machine more processes cannot be faster: the figure to watch is the CPU each process
 * spends per message, which should stay flat.
 *
 *   npm run bench:scale -- [--corps 30] [--messages 500] [--processes 1,2,4] [--db postgres://user@host/admin-db]
 * --messages is per corp. --db is a database to connect to for CREATE/DROP DATABASE (default
 * TEST_POSTGRES_URL, else postgres://postgres@127.0.0.1:5432/postgres); each run gets its own.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Kysely, sql } from 'kysely';
import { createApp } from '../src/app/app.ts';
import { loadConfig } from '../src/config/config.ts';
import { registerCorps } from '../src/corps/corp-registration.ts';
import { startSimulator } from '../src/simulator/server.ts';
import { dialectFromUrl, openStore } from '../src/store/open-store.ts';
import { cpuSeconds } from './process-rss.ts';

const { values } = parseArgs({
  options: {
    corps: { type: 'string', default: '30' },
    messages: { type: 'string', default: '500' },
    processes: { type: 'string', default: '1,2,4' },
    db: { type: 'string' },
    // internal: this script in its simulator role (see serveSimulators)
    'serve-simulators': { type: 'string' },
  },
});
const corps = Number(values.corps);
const perCorp = Number(values.messages);
if (!Number.isInteger(corps) || corps < 1 || !Number.isInteger(perCorp) || perCorp < 1) throw new Error('--corps and --messages must be positive integers');
const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'bin/wecom-archive');
const MASTER_KEY = '07'.repeat(32);

/** One simulated corp as the simulator process reports it. */
interface SimCorp {
  corpid: string;
  secret: string;
  url: string;
  keyPem: string;
}

/** The simulator role: N simulators in this process, their envelopes encrypted up front, described in `file`. */
async function serveSimulators(file: string): Promise<void> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const dir = mkdtempSync(join(tmpdir(), 'wa-bench-scale-sim-'));
  const out: SimCorp[] = [];
  for (let i = 0; i < corps; i++) {
    const sim = await startSimulator({ seed: `bench-scale-${i}`, messages: perCorp, keys: new Map([[1, keyPem]]), prepareEnvelopes: { path: join(dir, `corp-${i}.bin`) } });
    out.push({ corpid: sim.corp.corpid, secret: sim.corp.secret, url: sim.url, keyPem });
  }
  // whole or not at all: the parent reads it as soon as it exists
  writeFileSync(`${file}.partial`, JSON.stringify(out));
  renameSync(`${file}.partial`, file);
  process.on('SIGTERM', () => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
}

/** A fresh database on the server of `adminUrl`, and how to drop it. */
async function freshDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `wa_bench_scale_${randomBytes(4).toString('hex')}`;
  const admin = () => new Kysely<unknown>({ dialect: dialectFromUrl(adminUrl).createKyselyDialect() });
  const a = admin();
  await sql`CREATE DATABASE ${sql.id(name)}`.execute(a);
  await a.destroy();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const d = admin();
      await sql`DROP DATABASE IF EXISTS ${sql.id(name)} WITH (FORCE)`.execute(d);
      await d.destroy();
    },
  };
}

/** What one `run --once` process archived: per corp, the last `messages +N` of its progress lines. */
function archivedBy(stderr: string): { corps: number; messages: number } {
  const last = new Map<string, number>();
  for (const m of stderr.matchAll(/^(\S+): cursor \S+ {2}envelopes \+\d+ {2}messages \+(\d+)/gm)) last.set(m[1]!, Number(m[2]));
  const pulled = [...last.values()].filter((n) => n > 0);
  return { corps: pulled.length, messages: pulled.reduce((a, b) => a + b, 0) };
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

async function runWith(processes: number, sims: SimCorp[], adminUrl: string, simPid: number): Promise<void> {
  const database = await freshDatabase(adminUrl);
  const dir = mkdtempSync(join(tmpdir(), 'wa-bench-scale-'));
  try {
    const store = await openStore(database.url);
    try {
      const app = createApp(loadConfig({}, {}, dir), store, Buffer.from(MASTER_KEY, 'hex'));
      await registerCorps(
        app,
        sims.map((s) => ({
          corp: { corpid: s.corpid, secret: s.secret, sdk: { kind: 'simulator' as const, url: s.url }, proxy: null, proxyAuth: null, limit: 1000, timeoutS: 10 },
          keys: [{ version: 1, privateKeyPem: s.keyPem }],
          apiSecrets: {},
          callbacks: [],
        })),
      );
    } finally {
      await store.close();
    }
    const env = {
      ...process.env,
      WECOM_ARCHIVE_DB: database.url,
      WECOM_ARCHIVE_DATA_DIR: dir,
      WECOM_ARCHIVE_MASTER_KEY: MASTER_KEY,
      WECOM_ARCHIVE_LOG_LEVEL: 'warn',
      // media downloads off: this measures the pull and decrypt of messages
      WECOM_ARCHIVE_MEDIA_CONCURRENCY: '0',
    };
    const maxCorps = Math.ceil(sims.length / processes);
    const simCpuBefore = cpuSeconds(simPid) ?? 0;
    const started = performance.now();
    const children = Array.from({ length: processes }, () => {
      const child = spawn(bin, ['run', '--once', '--max-corps', String(maxCorps)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      let cpu = 0;
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const sampler = setInterval(() => (cpu = cpuSeconds(child.pid!) ?? cpu), 100);
      const exited = new Promise<number | null>((resolve) =>
        child.on('exit', (code) => {
          clearInterval(sampler);
          resolve(code);
        }),
      );
      return { exited, stderr: () => stderr, cpu: () => cpu };
    });
    const codes = await Promise.all(children.map((c) => c.exited));
    const seconds = (performance.now() - started) / 1000;
    const simCpu = (cpuSeconds(simPid) ?? simCpuBefore) - simCpuBefore;
    codes.forEach((code, i) => {
      if (code !== 0) throw new Error(`process ${i} exited with ${code}:\n${children[i]!.stderr().slice(-2000)}`);
    });
    // what a process costs with nothing to archive (start-up, one empty pull per corp, exit): the
    // same command again on the archived database
    const idle = spawn(bin, ['run', '--once', '--max-corps', String(maxCorps)], { env, stdio: ['ignore', 'ignore', 'ignore'] });
    let idleCpu = 0;
    const idleSampler = setInterval(() => (idleCpu = cpuSeconds(idle.pid!) ?? idleCpu), 100);
    await new Promise((resolve) => idle.on('exit', resolve));
    clearInterval(idleSampler);
    const perProcess = children.map((c) => {
      const { corps: held, messages } = archivedBy(c.stderr());
      return {
        corps: held,
        messages,
        cpu_s: round(c.cpu()),
        cpu_s_per_1000_msgs: messages ? round((c.cpu() * 1000) / messages, 3) : null,
        cpu_s_per_1000_msgs_past_start: messages ? round((Math.max(0, c.cpu() - idleCpu) * 1000) / messages, 3) : null,
      };
    });
    const total = sims.length * perCorp;
    const archived = perProcess.reduce((n, p) => n + p.messages, 0);
    if (archived !== total)
      throw new Error(`the processes report ${archived} of ${total} messages archived:\n${children.map((c, i) => `--- process ${i}\n${c.stderr().slice(-3000)}`).join('\n')}`);
    const cpuTotal = children.reduce((n, c) => n + c.cpu(), 0);
    process.stdout.write(
      `${JSON.stringify({
        processes,
        corps: sims.length,
        messages: total,
        seconds: round(seconds),
        msgs_per_s: Math.round(total / seconds),
        per_process: perProcess,
        cpu_s_per_1000_msgs: round((cpuTotal * 1000) / total, 3),
        start_cpu_s: round(idleCpu),
        cpu_s_per_1000_msgs_past_start: round((Math.max(0, cpuTotal - processes * idleCpu) * 1000) / total, 3),
        simulator_cpu_s: round(simCpu),
        load_avg_1m: round(loadavg()[0]!),
        cores: availableParallelism(),
      })}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await database.drop();
  }
}

async function main(): Promise<void> {
  if (values['serve-simulators']) return serveSimulators(values['serve-simulators']);
  const adminUrl = values.db ?? process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  if (dialectFromUrl(adminUrl).name !== 'postgres') throw new Error('--db must be a PostgreSQL URL: scale-out is measured on PostgreSQL');
  const counts = values.processes.split(',').map(Number);
  if (counts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--processes must be a comma-separated list of positive integers');
  const dir = mkdtempSync(join(tmpdir(), 'wa-bench-scale-'));
  const file = join(dir, 'simulators.json');
  const loader = join(root, 'node_modules/tsx/dist/loader.mjs');
  const args = ['--import', loader, new URL(import.meta.url).pathname, '--serve-simulators', file, '--corps', String(corps), '--messages', String(perCorp)];
  const simulators = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    for (let i = 0; !existsSync(file); i++) {
      if (simulators.exitCode !== null) throw new Error(`the simulators exited with ${simulators.exitCode}`);
      if (i > 36_000) throw new Error('the simulators did not start within an hour');
      await new Promise((r) => setTimeout(r, 100));
    }
    const sims = JSON.parse(readFileSync(file, 'utf8')) as SimCorp[];
    for (const k of counts) await runWith(k, sims, adminUrl, simulators.pid!);
  } finally {
    simulators.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
