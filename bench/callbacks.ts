/**
 * Callback and directory benchmark. Prints one JSON line per figure:
 *   {figure:"callback_reply_ms", n, concurrency, p50, p99, max}  — signed, encrypted POSTs from the
 *     simulator (as WeCom sends them) to the archive's endpoint, each stored in the inbox before the
 *     reply, while the inbox workers handle them;
 *   {figure:"directory_sync_ms", members, departments, first_ms, again_ms}  — a full member sync
 *     (department/list + user/simplelist per department, over HTTP, into the database) of a corp
 *     with N members, then the same sync again with nothing changed;
 *   {figure:"notify_to_archived_ms", n, p50, p99, max}  — new messages in WeCom and a msgaudit_notify
 *     callback, until the messages are archived (decrypted), with polls two minutes apart.
 *
 *   npx tsx bench/callbacks.ts [--callbacks 2000] [--members 10000] [--notifies 20] [--db URL]
 * With --db the database should be empty (a fresh database or schema); default a temporary SQLite file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createApp } from '../src/app/app.ts';
import { createLogger } from '../src/app/logger.ts';
import { startArchiveProcess } from '../src/app/archive-process.ts';
import { registerCorps, simulatorCorp } from '../src/corps/corp-registration.ts';
import { DirectorySync } from '../src/directory/directory-sync.ts';
import { loadConfig } from '../src/config/config.ts';
import { deliverCallback, eventXml } from '../src/simulator/callbacks/callback-sender.ts';
import { startSimulator } from '../src/simulator/server.ts';
import { openStore } from '../src/store/open-store.ts';
import { rowCount } from '../test/support/corp-rows.ts';

const { values } = parseArgs({
  options: { callbacks: { type: 'string', default: '2000' }, members: { type: 'string', default: '10000' }, notifies: { type: 'string', default: '20' }, db: { type: 'string' } },
});
const callbacks = Number(values.callbacks);
const members = Number(values.members);
const notifies = Number(values.notifies);
const dir = mkdtempSync(join(tmpdir(), 'wa-bench-cb-'));
const dbUrl = values.db ?? `sqlite:${join(dir, 'archive.db')}`;

function percentile(sorted: number[], p: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 100) / 100;
}

async function main(): Promise<void> {
  const store = await openStore(dbUrl);
  const app = createApp(loadConfig({}, { WECOM_ARCHIVE_MEDIA_CONCURRENCY: '0' }, dir), store, Buffer.alloc(32, 7));
  const sim = await startSimulator({ messages: 0, seed: 'bench-callbacks' });
  sim.api.addBulkMembers(members);
  const corpid = sim.corp.corpid;
  await registerCorps(app, [simulatorCorp(sim, { timeoutS: 30 })]);
  const log = createLogger('warn');
  // The pulls start with the rest, and idle until a notify (a poll is two minutes away; no messages yet).
  let markStarted = (): void => undefined;
  const archiversUp = new Promise<void>((resolve) => {
    markStarted = resolve;
  });
  const running = await startArchiveProcess(app, log, {
    listen: { host: '127.0.0.1', port: 0 },
    callbacks: { handlePullNotifies: true, directory: false },
    archive: { once: false, timing: { pollIntervalMs: 120_000 }, onStarted: () => markStarted() },
  });
  const { services, server } = running;
  const stop = new AbortController();
  const archiving = running.run(stop.signal);
  try {
    // Directory: a full member sync of the whole corp, then again with nothing changed.
    const client = await services.clients.client(corpid);
    const sync = async (): Promise<number> => {
      const started = performance.now();
      const s = new DirectorySync({ store: services.directoryStore, log, now: Date.now });
      const r = await s.syncMembers(corpid, client);
      if (r.items < members) throw new Error(`synced ${r.items} members, expected at least ${members}`);
      return performance.now() - started;
    };
    const first = await sync();
    const again = await sync();
    console.log(
      JSON.stringify({
        figure: 'directory_sync_ms',
        members: sim.api.data.members.size,
        departments: sim.api.data.departments.size,
        first_ms: Math.round(first),
        again_ms: Math.round(again),
        db: store.dialect.name,
      }),
    );

    // Callbacks: distinct update_user events, one at a time and 16 at a time.
    const target = `http://127.0.0.1:${server.port}/callback`;
    const userids = [...sim.api.data.members.keys()];
    let seq = 0;
    const one = async (): Promise<number> => {
      const n = seq++;
      const xml = eventXml(corpid, Math.floor(Date.now() / 1000), 'change_contact', 'update_user', { UserID: userids[n % userids.length]!, Name: `名字${n}` });
      const d = await deliverCallback(target, corpid, sim.api.callbackApps.contacts, xml, Math.floor(Date.now() / 1000));
      if (d.status !== 200) throw new Error(`callback answered ${d.status}: ${d.body}`);
      return d.ms;
    };
    for (const concurrency of [1, 16]) {
      const times: number[] = [];
      let started = 0;
      const lanes = Array.from({ length: concurrency }, async () => {
        while (started++ < callbacks) times.push(await one());
      });
      await Promise.all(lanes);
      times.sort((a, b) => a - b);
      console.log(
        JSON.stringify({
          figure: 'callback_reply_ms',
          n: times.length,
          concurrency,
          p50: percentile(times, 50),
          p99: percentile(times, 99),
          max: percentile(times, 100),
          db: store.dialect.name,
        }),
      );
    }

    // msgaudit_notify: new messages are archived at once, not at the next poll (two minutes away).
    sim.api.callbackTarget = target;
    await archiversUp;
    const archived = () => rowCount(store.db, 'messages', corpid);
    const delays: number[] = [];
    for (let i = 0; i < notifies; i++) {
      // a second apart: WeCom's notifies within one second are the same event (stored once), and a
      // notify within a second of the last pull it caused waits for the end of that second (debounce)
      await new Promise((r) => setTimeout(r, 1_100));
      const want = (await archived()) + 3;
      sim.appendGenerated(3);
      const t = performance.now();
      if ((await sim.api.notifyNewData())?.status !== 200) throw new Error('the msgaudit_notify callback was not accepted');
      while ((await archived()) < want) {
        if (performance.now() - t > 60_000) throw new Error('new messages not archived within 60 s of their notify');
        await new Promise((r) => setTimeout(r, 5));
      }
      delays.push(performance.now() - t);
    }
    delays.sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        figure: 'notify_to_archived_ms',
        n: delays.length,
        p50: percentile(delays, 50),
        p99: percentile(delays, 99),
        max: percentile(delays, 100),
        db: store.dialect.name,
      }),
    );
  } finally {
    stop.abort();
    await archiving;
    await running.close();
    await sim.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
