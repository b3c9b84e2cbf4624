import { readFileSync } from 'node:fs';
import { beforeAll, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { main } from '../../src/cli/main.ts';
import type { CommandIo } from '../../src/cli/command.ts';
import { exportJsonl } from '../../src/export/export-jsonl.ts';
import { pullPage } from '../../src/pull/pull-page.ts';
import { createBackend } from '../../src/sdk/create-backend.ts';
import { recordHostRestarts } from '../../src/sdk/native/host-restart-log.ts';
import type { RunningSimulator } from '../../src/simulator/server.ts';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { corpStatuses } from '../../src/status/corp-status.ts';
import { addSimulatorCorp, appOn, archiveOnce, expectArchivedExactly, expectEnvelopesDecrypted } from '../support/archive-harness.ts';
import { describeEachDialect } from '../support/databases.ts';
import { buildFinanceDouble } from './build-double.ts';
import { addNativeCorp, tempFile, withDoubleEnv } from './native-support.ts';
import { useSimulators } from '../support/simulators.ts';

let lib: string;
beforeAll(async () => {
  lib = await buildFinanceDouble();
});

const simulator = useSimulators();

/** An app that archives messages only: media downloads are off (the media test below turns them on). */
function messagesOnly(store: Store): App {
  return createApp(loadConfig({ 'media-concurrency': '0' }, {}, '/tmp'), store, Buffer.alloc(32, 3));
}

async function exportLines(app: App, corpid: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of exportJsonl(app.store.db, corpid)) lines.push(line);
  return lines;
}

async function expectArchivedOnceAndDone(app: App, sim: RunningSimulator, count: number): Promise<void> {
  await expectArchivedExactly(app, sim, count);
  await expectEnvelopesDecrypted(app.store.db, sim.corp.corpid, count);
}

describeEachDialect('ingest through the native SDK', ({ open, url }) => {
  it('archives exactly what the simulator backend archives: the same export, line for line', async () => {
    const sim = await simulator({ messages: 1200, seed: 'native-ingest', seqStart: 2n ** 60n + 7n });
    const viaSimulator = messagesOnly(await open());
    await addSimulatorCorp(viaSimulator, sim, { limit: 400 });
    expect(await archiveOnce(viaSimulator)).toMatchObject([{ state: 'ok', messages: 1200, failures: 0 }]);

    const viaNative = messagesOnly(await open());
    await addNativeCorp(viaNative, sim, lib, { limit: 400 });
    expect(await withDoubleEnv(sim, {}, () => archiveOnce(viaNative))).toMatchObject([{ state: 'ok', messages: 1200, failures: 0 }]);

    await expectArchivedOnceAndDone(viaNative, sim, 1200);
    const expected = await exportLines(viaSimulator, sim.corp.corpid);
    expect(expected).toHaveLength(1200);
    expect(await exportLines(viaNative, sim.corp.corpid)).toEqual(expected);
  });

  it('a crash on every 50th SDK call and a hang end with every message archived once', async () => {
    const sim = await simulator({ messages: 700, seed: 'native-crashes' });
    const app = messagesOnly(await open());
    await addNativeCorp(app, sim, lib, { limit: 100, timeoutS: 1 });
    // One call counter for every host: the 50th, 100th, … call of the corp dies of SIGSEGV, the 333rd hangs.
    const faults = { WECOM_DOUBLE_SEGV: 'every:50', WECOM_DOUBLE_HANG: '333', WECOM_DOUBLE_COUNTER: tempFile('counter') };
    const [progress] = await withDoubleEnv(sim, faults, () => archiveOnce(app));
    expect(progress).toMatchObject({ state: 'ok', messages: 700, failures: 0 });
    await expectArchivedOnceAndDone(app, sim, 700);
    const calls = Number(readFileSync(faults.WECOM_DOUBLE_COUNTER, 'utf8'));
    expect(calls).toBeGreaterThan(700); // so at least 14 calls died of SIGSEGV on the way
    // and a second run finds nothing new and duplicates nothing
    await withDoubleEnv(sim, {}, () => archiveOnce(app));
    await expectArchivedOnceAndDone(app, sim, 700);
  });

  it('aborts and crashes of the SDK during media downloads end with every file archived once, verified', async () => {
    const sim = await simulator({ messages: 150, seed: 'native-media-ingest' });
    const app = appOn(await open());
    await addNativeCorp(app, sim, lib, { limit: 1000 });
    // Only media calls count: the 2nd and 9th abort ("free(): invalid pointer"), every 20th dies of SIGSEGV.
    const faults = { WECOM_DOUBLE_OPS: 'media', WECOM_DOUBLE_ABORT: '2,9', WECOM_DOUBLE_SEGV: 'every:20', WECOM_DOUBLE_COUNTER: tempFile('counter') };
    const [progress] = await withDoubleEnv(sim, faults, () => archiveOnce(app));
    expect(progress).toMatchObject({ state: 'ok', messages: 150, failures: 0 });
    await expectArchivedOnceAndDone(app, sim, 150);
    const media = await app.store.db.selectFrom('media').select(['msgid', 'slot', 'state', 'md5', 'md5_expected', 'size']).where('corpid', '=', sim.corp.corpid).execute();
    const calls = Number(readFileSync(faults.WECOM_DOUBLE_COUNTER, 'utf8'));
    expect(calls).toBeGreaterThan(20); // the faults happened during the downloads
    expect(media.length).toBeGreaterThan(10);
    expect(new Set(media.map((m) => `${m.msgid}/${m.slot}`)).size).toBe(media.length);
    for (const m of media) {
      expect(m.state === 'done' || (m.state === 'unverified' && !m.md5_expected), `${m.msgid}/${m.slot}: ${m.state}`).toBe(true);
      if (m.md5_expected) expect(m.md5).toBe(m.md5_expected);
    }
  });

  it('counts host restarts in `status`, with the signal and the call', async () => {
    const sim = await simulator({ messages: 30, seed: 'native-status' });
    const dbUrl = await url();
    const store = await openStore(dbUrl);
    try {
      const app = appOn(store);
      await addNativeCorp(app, sim, lib);
      const corp = await app.corps.get(sim.corp.corpid);
      // the first GetChatData dies of SIGSEGV and is retried on a fresh host
      await withDoubleEnv(sim, { WECOM_DOUBLE_OPS: 'chatdata', WECOM_DOUBLE_SEGV: '1', WECOM_DOUBLE_COUNTER: tempFile('counter') }, async () => {
        const backend = createBackend(corp, { onHostRestart: recordHostRestarts(store.db) });
        try {
          await pullPage({ db: store.db, dialect: store.dialect, backend, now: Date.now }, corp);
        } finally {
          await backend.close();
        }
      });
      // the restart is recorded in the background: wait for it
      let status;
      for (let i = 0; i < 50; i++) {
        [status] = await corpStatuses(store.db, Date.now());
        if (status?.sdkHostRestarts.count) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(status!.sdkHostRestarts).toMatchObject({ count: 1, latest: { lane: 'chat', cause: 'crash', signal: 'SIGSEGV', operation: 'GetChatData' } });
      expect(status!.cursorSeq).toBe(sim.seqOf(29).toString());

      const out: string[] = [];
      const io: CommandIo = {
        out: (l) => out.push(l),
        err: () => undefined,
        stdout: process.stdout,
        cwd: '/tmp',
        env: { WECOM_ARCHIVE_MASTER_KEY: '03'.repeat(32), WECOM_ARCHIVE_DATA_DIR: '/tmp' },
        signal: new AbortController().signal,
      };
      expect(await main(['status', '--db', dbUrl], io)).toBe(0);
      expect(out.join('\n')).toMatch(/SDK host restarts: 1; last \d+s ago: crash \(SIGSEGV\) of the chat host during GetChatData/);
    } finally {
      await store.close();
    }
  });
});
