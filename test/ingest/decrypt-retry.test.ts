import { type Kysely, Migrator } from 'kysely';
import { expect, it } from 'vitest';
import { pino } from 'pino';
import type { App } from '../../src/app/app.ts';
import { runArchive } from '../../src/app/archive-runner.ts';
import type { CorpConfig } from '../../src/corps/corp-registry.ts';
import { WeComSdkError } from '../../src/errors/wecom-codes.ts';
import type { SdkBackend } from '../../src/sdk/backend.ts';
import { createSimulatorBackend } from '../../src/sdk/simulator-backend.ts';
import type { RunningSimulator } from '../../src/simulator/server.ts';
import { migrateStore, openStore, type Store } from '../../src/store/open-store.ts';
import { migrationsFor } from '../../src/store/migrations/index.ts';
import { parseMessage } from '../support/chat-data.ts';
import { corpStatuses } from '../../src/status/corp-status.ts';
import { addSimulatorCorp, appOn, archiveOnce, expectArchivedExactly, expectEnvelopesDecrypted, FAST_TIMING } from '../support/archive-harness.ts';
import { describeEachDialect } from '../support/databases.ts';
import { runCli } from '../support/cli-runner.ts';
import { useSimulators } from '../support/simulators.ts';

const simulator = useSimulators();

/**
 * The simulator's SDK, except that DecryptData answers 10003 (system failure) for the messages in
 * `stuck` while `outage.on`: the others decrypt, as when the SDK fails on some calls only.
 */
function flakyDecrypt(sim: RunningSimulator, stuck: ReadonlySet<string>, outage: { on: boolean; calls: number }): (corp: CorpConfig) => SdkBackend {
  return (corp) => {
    const real = createSimulatorBackend({ url: sim.url, corpid: corp.corpid, secret: corp.secret });
    return {
      ...real,
      getChatData: (req, signal) => real.getChatData(req, signal),
      getMediaData: (req, signal) => real.getMediaData(req, signal),
      close: () => real.close(),
      async decryptData(key, msg, signal) {
        const plain = await real.decryptData(key, msg, signal);
        if (outage.on && stuck.has(parseMessage(plain).msgid as string)) {
          outage.calls += 1;
          throw new WeComSdkError(10003, 'DecryptData');
        }
        return plain;
      },
    };
  };
}

/** The most tries any of the corp's envelopes has had. */
async function mostAttempts(app: App, corpid: string): Promise<number> {
  const row = await app.store.db
    .selectFrom('envelopes')
    .select((eb) => eb.fn.max('attempts').as('n'))
    .where('corpid', '=', corpid)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** `main()` as bin/wecom-archive runs it, on this test's database; what it printed. */
async function cli(dbUrl: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const env = { WECOM_ARCHIVE_MASTER_KEY: '03'.repeat(32), WECOM_ARCHIVE_DATA_DIR: '/tmp', WECOM_ARCHIVE_LOG_LEVEL: 'silent' };
  const { code, stdout, stderr } = await runCli([...args, '--db', dbUrl], { cwd: '/tmp', env });
  return { code, out: stdout.trimEnd(), err: stderr.trimEnd() };
}

describeEachDialect('decrypt retries', ({ open, url }) => {
  it('never gives up on DecryptData failing 10003: the stuck envelopes wait, the others are decrypted, and after recovery a later run decrypts them by itself', async () => {
    const app = appOn(await open());
    const sim = await simulator({ messages: 100, seed: 'decrypt-dead-end' });
    await addSimulatorCorp(app, sim);
    const stuck = new Set(Array.from({ length: 38 }, (_, i) => sim.msgidOf(i * 2 + 1)));
    const outage = { on: true, calls: 0 };
    // short backoff and retry time: the same loops, shorter waits
    const timing = { ...FAST_TIMING, decryptBackoff: { firstDelayMs: 1, maxDelayMs: 10 }, onceRetryMs: 300 };

    // one-shot runs while the SDK keeps failing, past the 20 tries after which envelopes were given up
    for (let run = 0; run < 30 && (await mostAttempts(app, sim.corp.corpid)) <= 20; run++) {
      const [progress] = await archiveOnce(app, timing, flakyDecrypt(sim, stuck, outage));
      expect(progress).toMatchObject({ state: 'ok', messages: run === 0 ? 62 : 0 });
    }
    expect(await mostAttempts(app, sim.corp.corpid)).toBeGreaterThan(20);
    const [status] = await corpStatuses(app.store.db, Date.now());
    expect(status).toMatchObject({ messages: 62, pending: 0 });
    expect(status!.waiting).toEqual([
      {
        reason: 'sdk_error',
        code: 10003,
        count: 38,
        label: 'SDK error 10003 (system failure)',
        retry: 'automatic',
        nextAttemptAt: expect.any(Number),
        oldestReceivedAt: expect.any(Number),
        age: { underHour: 38, hourToDay: 0, overDay: 0 },
      },
    ]);

    // WeCom's SDK recovers: the next run decrypts them, with no command in between
    outage.on = false;
    await archiveOnce(app, timing, flakyDecrypt(sim, stuck, outage));
    await expectArchivedExactly(app, sim, 100);
    await expectEnvelopesDecrypted(app.store.db, sim.corp.corpid, 100);
  });

  it('makes the envelopes an older version gave up on (20 tries of a transient SDK failure) due at once when it migrates', async () => {
    const dbUrl = await url();
    const store = await openStore(dbUrl, { migrate: false });
    try {
      const migrator = new Migrator({ db: store.db, provider: { getMigrations: async () => migrationsFor(store.dialect) } });
      expect((await migrator.migrateTo('0006-pull-lease')).error).toBeUndefined();
      const now = Date.now();
      const row = (msgid: string, reason: string, code: number | null) => ({
        corpid: 'wwold',
        msgid,
        seq: msgid.padStart(20, '0'),
        publickey_ver: 1,
        encrypt_random_key: 'k',
        encrypt_chat_msg: 'c',
        state: 'waiting',
        reason,
        reason_code: code,
        reason_detail: 'd',
        attempts: 20,
        received_at: now,
        updated_at: now,
      });
      await (store.db as Kysely<any>)
        .insertInto('envelopes')
        .values([row('1', 'sdk_error', 10003), row('2', 'sdk_error', null), row('3', 'sdk_error', 10006), row('4', 'key_missing', 2)])
        .execute();
      expect((await migrateStore(store))[0]).toBe('0007-decrypt-backoff');
      const rows = await store.db.selectFrom('envelopes').select(['msgid', 'attempts', 'next_attempt_at']).orderBy('msgid').execute();
      expect(rows.map((r) => [r.msgid, Number(r.attempts), r.next_attempt_at === null ? null : Number(r.next_attempt_at)])).toEqual([
        ['1', 0, 0],
        ['2', 0, 0],
        ['3', 20, null],
        ['4', 20, null],
      ]);
    } finally {
      await store.close();
    }
  });

  it('keeps the backoff across runs; `decrypt retry` queues waiting envelopes at once and checks --reason; status shows them by reason and age', async () => {
    const dbUrl = await url();
    const store = await openStore(dbUrl);
    try {
      await retryAtOnce(store, dbUrl);
    } finally {
      await store.close();
    }
  });
});

/** The second test's body, on a store it opened itself (the CLI needs the database's URL). */
async function retryAtOnce(store: Store, dbUrl: string): Promise<void> {
  const app = appOn(store);
  const sim = await simulator({ messages: 40, seed: 'decrypt-retry-cli' });
  await addSimulatorCorp(app, sim);
  const stuck = new Set(Array.from({ length: 40 }, (_, i) => sim.msgidOf(i)));
  const outage = { on: true, calls: 0 };
  // the first retry is due in an hour: far past this run's retry time
  const timing = { ...FAST_TIMING, decryptBackoff: { firstDelayMs: 3_600_000, maxDelayMs: 3_600_000 }, onceRetryMs: 100 };
  // at debug level the stage tells its decisions: the batch, what became of it, the backoff chosen
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
  await runArchive(app, log, new AbortController().signal, { once: true, timing, createBackend: flakyDecrypt(sim, stuck, outage) });
  const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(logged).toContainEqual(expect.objectContaining({ corp: sim.corp.corpid, stage: 'decrypt', msg: 'batch claimed', lane: 'fresh', envelopes: 40 }));
  expect(logged).toContainEqual(
    expect.objectContaining({
      corp: sim.corp.corpid,
      stage: 'decrypt',
      msg: 'batches committed',
      decrypted: 0,
      waiting: [{ reason: 'sdk_error', code: 10003, count: 40, retryInMs: 3_600_000 }],
    }),
  );
  // never a message body, a key or the secret
  const texts = Array.from({ length: 40 }, (_, i) => (parseMessage(sim.plaintextOf(i)).text as { content?: string } | undefined)?.content).filter(
    (t): t is string => !!t && t.length > 3,
  );
  expect(texts.length).toBeGreaterThan(0);
  for (const t of [...texts, sim.corp.secret, 'PRIVATE KEY']) expect(lines.join('\n')).not.toContain(t);
  // one try each: the next is an hour away, past this run's retry time
  expect(outage.calls).toBe(40);

  const status = await cli(dbUrl, ['status']);
  expect(status.code).toBe(0);
  expect(status.out).toMatch(/waiting: 40 × SDK error 10003 \(system failure\); oldest stored \d+s ago \(40 under 1 h\); retried by itself, next try in (59|60)m/);

  // recovered, but not due yet: a run leaves them waiting (the backoff is stored, not the process's)
  outage.on = false;
  await archiveOnce(app, timing, flakyDecrypt(sim, stuck, outage));
  expect(outage.calls).toBe(40);
  expect((await corpStatuses(store.db, Date.now()))[0]!.waiting).toMatchObject([{ reason: 'sdk_error', code: 10003, count: 40 }]);

  const bad = await cli(dbUrl, ['decrypt', 'retry', '--reason', 'sdk_busy']);
  expect(bad.code).toBe(2);
  expect(bad.err).toMatch(/--reason must be one of key_missing, bad_base64, rsa_failed, sdk_error, bad_json, got "sdk_busy"/);
  expect((await cli(dbUrl, ['decrypt', 'retry', '--reason', 'bad_envelope'])).err).toMatch(/malformed chat data entry is kept as WeCom sent it/);
  expect((await cli(dbUrl, ['decrypt', 'retry', '--corp', 'wwnope'])).err).toMatch(/corp "wwnope" has never been archived here/);
  const none = await cli(dbUrl, ['decrypt', 'retry', '--reason', 'key_missing']);
  expect(none).toMatchObject({ code: 0, out: 'no waiting envelopes (key_missing) to queue again' });

  const retried = await cli(dbUrl, ['decrypt', 'retry', '--corp', sim.corp.corpid, '--reason', 'sdk_error']);
  expect(retried).toMatchObject({ code: 0, out: `${sim.corp.corpid}: 40 waiting envelopes (sdk_error) queued again; \`wecom-archive run\` decrypts them` });
  expect((await corpStatuses(store.db, Date.now()))[0]).toMatchObject({ pending: 40, waiting: [] });
  await archiveOnce(app, timing, flakyDecrypt(sim, stuck, outage));
  await expectArchivedExactly(app, sim, 40);
  await expectEnvelopesDecrypted(store.db, sim.corp.corpid, 40);
}
