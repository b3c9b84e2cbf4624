import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, expect, it } from 'vitest';
import { mediaRefsOf } from '../../src/media/jobs/media-refs.ts';
import { startSimulator } from '../../src/simulator/server.ts';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { type ArchiveProcess, archiveEnv, spawnArchive } from '../support/archive-process.ts';
import { addSimulatorCorp, appOn, expectArchivedExactly, expectEnvelopesDecrypted } from '../support/archive-harness.ts';
import { describeEachDialect } from '../support/databases.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

const MESSAGES = 2_000;
const OUTAGE_MS = 3_000;

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 90_000, log: () => string = () => ''): Promise<void> {
  for (const t0 = Date.now(); !(await check());) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}\n${log().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The port the process's HTTP server says (`announced`, its group 1) it listens on, once `ready` holds of its log too. */
async function httpPort(proc: ArchiveProcess, announced: RegExp, ready: (log: string) => boolean = () => true): Promise<number> {
  let port = 0;
  await waitFor(
    'the HTTP server',
    () => {
      const m = announced.exec(proc.log());
      if (m) port = Number(m[1]);
      return (port > 0 && ready(proc.log())) || !proc.alive();
    },
    60_000,
    proc.log,
  );
  expect(proc.alive(), proc.log()).toBe(true);
  return port;
}

/** The JSON log lines of a process's stderr. */
function jsonLines(stderr: string): Array<{ msg: string; level: number }> {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; level: number });
}

async function count(store: Store, table: 'envelopes' | 'messages' | 'media', where?: { state: string[] }): Promise<number> {
  let q = store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n'));
  if (where) q = q.where('state', 'in', where.state as never);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

async function healthz(port: number): Promise<{ status: number; body: { ok?: boolean; database?: string; reason?: string } }> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  return { status: res.status, body: (await res.json()) as { ok?: boolean; database?: string } };
}

/**
 * Takes the database away for OUTAGE_MS (every connection cut, new ones refused), checks the process
 * lives through it and /healthz says so, and gives it back.
 */
async function outage(proxy: TcpProxy, port: number, alive: () => boolean, log: () => string): Promise<void> {
  proxy.cut();
  await new Promise((r) => setTimeout(r, 500));
  // before the fix: exit 1, "Unhandled 'error' event … on Client instance" (PostgreSQL)
  expect(alive(), log()).toBe(true);
  const during = await healthz(port).catch((err: Error) => {
    throw new Error(`/healthz did not answer: ${err.message}\n${log()}`);
  });
  expect(during.status).toBe(503);
  expect(during.body).toMatchObject({ ok: false, database: 'unreachable' });
  await new Promise((r) => setTimeout(r, OUTAGE_MS - 500));
  expect(alive(), log()).toBe(true);
  proxy.restore();
}

describeEachDialect('database outage during run', ({ dialect, url }) => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-outage-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // SQLite is a file inside the process: there is no server to lose
  it.skipIf(dialect === 'sqlite')(
    'run keeps its place while the database is away (mid-ingest and mid-download), goes on when it is back, archives everything exactly once',
    async () => {
      // pages and media chunks served slowly, so each cut lands while that work is in progress
      const sim = await startSimulator({ messages: MESSAGES, seed: 'db-outage', faults: ['chatdata:delay=150x*', 'media:delay=40x*'] });
      const dbUrl = await url();
      const store = await openStore(dbUrl);
      const proxy = await startTcpProxy(dbUrl);
      const data = join(dir, dialect);
      const proc = spawnArchive(
        ['run', '--port', '0', '--poll-interval', '0.2'],
        archiveEnv({ WECOM_ARCHIVE_DB: proxy.via(dbUrl), WECOM_ARCHIVE_DATA_DIR: data, WECOM_ARCHIVE_LOG_LEVEL: 'info', WECOM_ARCHIVE_FFMPEG: 'off' }),
      );
      const { alive, log } = proc;
      try {
        await addSimulatorCorp(appOn(store), sim, { limit: 100 });
        const port = await httpPort(proc, /listening on http:\/\/127\.0\.0\.1:(\d+)/);
        expect((await healthz(port)).status).toBe(200);

        // 1. mid-ingest: envelopes are being stored, not all of them yet
        await waitFor('the first pages', async () => (await count(store, 'envelopes')) > 0 || !alive(), 60_000, log);
        const envelopesAtCut = await count(store, 'envelopes');
        expect(envelopesAtCut).toBeLessThan(MESSAGES);
        await outage(proxy, port, alive, log);

        // 2. mid-download: some media files done, others still to come
        await waitFor(
          'media downloads under way',
          async () =>
            !alive() || ((await count(store, 'media', { state: ['done', 'unverified'] })) > 0 && (await count(store, 'media', { state: ['pending', 'downloading'] })) > 0),
          90_000,
          log,
        );
        await outage(proxy, port, alive, log);

        // 3. the server's own "terminating connection due to administrator command" (57P01) on PostgreSQL
        if (dialect === 'postgres') {
          const name = new URL(dbUrl).pathname.slice(1);
          await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${name} AND pid <> pg_backend_pid()`.execute(store.db);
        }

        await waitFor(
          'everything archived',
          async () => !alive() || ((await count(store, 'messages')) === MESSAGES && (await count(store, 'media', { state: ['pending', 'downloading'] })) === 0),
          120_000,
          log,
        );
        expect(alive(), log()).toBe(true);
        await waitFor('/healthz to say the database is back', async () => (await healthz(port)).status === 200, 30_000, log);
        expect((await healthz(port)).body).toEqual({ ok: true, database: 'reachable' });

        // logged once per outage, not once per loop and round; and once when it is back
        const stderr = log();
        const lines = jsonLines(stderr);
        const down = lines.filter((l) => l.msg.startsWith('database unreachable')).length;
        const back = lines.filter((l) => l.msg.startsWith('database reachable again')).length;
        expect(down, stderr).toBeGreaterThanOrEqual(2);
        expect(down, stderr).toBeLessThanOrEqual(dialect === 'postgres' ? 3 : 2);
        expect(back, stderr).toBe(down);
        // no other error line: the loops waited for the database instead of failing round after round
        expect(
          lines.filter((l) => l.level >= 50 && !l.msg.startsWith('database unreachable')),
          stderr,
        ).toEqual([]);

        proc.child.kill('SIGTERM');
        expect(await proc.exited, log()).toBe(0);

        // exactly once: every message, every envelope decrypted, one job per media reference, every file stored
        const app = appOn(store);
        await expectArchivedExactly(app, sim, MESSAGES);
        await expectEnvelopesDecrypted(store.db, sim.corp.corpid, MESSAGES);
        const messages = await store.db.selectFrom('messages').select(['raw', 'msgtype']).execute();
        const refs = messages.reduce((n, m) => n + mediaRefsOf(Buffer.from(m.raw).toString('utf8'), m.msgtype ?? undefined).length, 0);
        const jobs = await store.db.selectFrom('media').select(['state', 'sha256', 'size', 'storage_key', 'error']).execute();
        expect(refs).toBeGreaterThan(0);
        expect(jobs.length).toBe(refs);
        for (const job of jobs) {
          expect(['done', 'unverified'], JSON.stringify(job)).toContain(job.state);
          const file = join(data, 'media', job.storage_key!);
          expect(existsSync(file), file).toBe(true);
          expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(job.sha256);
        }
      } finally {
        if (alive()) proc.child.kill('SIGKILL');
        await proc.exited;
        await proxy.close();
        await store.close();
        await sim.close();
      }
    },
    300_000,
  );

  it.skipIf(dialect === 'sqlite')(
    'serve lives through the database going away and back: /healthz says so, the log says it once each way',
    async () => {
      const dbUrl = await url();
      const proxy = await startTcpProxy(dbUrl);
      const proc = spawnArchive(
        ['serve', '--listen', '127.0.0.1:0'],
        archiveEnv({ WECOM_ARCHIVE_DB: proxy.via(dbUrl), WECOM_ARCHIVE_DATA_DIR: join(dir, `serve-${dialect}`), WECOM_ARCHIVE_LOG_LEVEL: 'info' }),
      );
      const { alive, log } = proc;
      try {
        // up once it has listed its callback configurations (none here)
        const port = await httpPort(proc, /on http:\/\/127\.0\.0\.1:(\d+)/, (stderr) => stderr.includes('no callback configurations yet'));
        // the inbox worker asks the database every second: the outage is met by several rounds
        await outage(proxy, port, alive, log);
        await waitFor('/healthz to say the database is back', async () => (await healthz(port)).status === 200, 30_000, log);
        const stderr = log();
        const lines = jsonLines(stderr);
        expect(lines.filter((l) => l.msg.startsWith('database unreachable')).length, stderr).toBe(1);
        expect(lines.filter((l) => l.msg.startsWith('database reachable again')).length, stderr).toBe(1);
        expect(
          lines.filter((l) => l.level >= 40 && !l.msg.startsWith('database unreachable')),
          stderr,
        ).toEqual([]);
        proc.child.kill('SIGTERM');
        expect(await proc.exited, log()).toBe(0);
      } finally {
        if (alive()) proc.child.kill('SIGKILL');
        await proc.exited;
        await proxy.close();
      }
    },
    120_000,
  );
});
