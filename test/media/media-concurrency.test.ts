import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { CorpConfig } from '../../src/corps/corp-registry.ts';
import type { SdkBackend } from '../../src/sdk/backend.ts';
import { createSimulatorBackend } from '../../src/sdk/simulator-backend.ts';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.ts';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { messageRow } from '../support/message-rows.ts';
import { addCorp, archiveWithMedia, media, mediaApp, message, ref } from './media-support.ts';

const sims: RunningSimulator[] = [];
const stores: Store[] = [];
afterAll(async () => {
  for (const s of sims) await s.close();
  for (const s of stores) await s.close();
});

it('bounds downloads per corp and overall, and never makes a pull wait for media', async () => {
  const store = await openStore(`sqlite:${join(mkdtempSync(join(tmpdir(), 'wa-conc-')), 'archive.db')}`);
  stores.push(store);
  const { app } = mediaApp(store, { 'media-concurrency': '3', 'media-corp-concurrency': '2' });
  for (const corpid of ['wwcorpa', 'wwcorpb']) {
    const sim = await startSimulator({ messages: 0, seed: `conc-${corpid}`, corpid });
    sims.push(sim);
    const files = Array.from({ length: 6 }, (_, i) => ref(sim, 'dat', i % 2 ? 1 : 0));
    sim.appendFixtures(files.map((f, i) => message(`${corpid}-${i}`, 'file', { file: media(f, { filename: `${i}.bin` }) })));
    // every media chunk is slow, so downloads overlap as much as the bounds let them
    sim.injectFault('media:delay=60x*');
    await addCorp(app, sim);
  }
  let total = 0;
  let maxTotal = 0;
  const perCorp = new Map<string, { now: number; max: number }>();
  let lastPullDone = 0;
  let firstMediaDone = Infinity;
  const wrap = (corp: CorpConfig): SdkBackend => {
    const inner = createSimulatorBackend({ url: corp.sdk.kind === 'simulator' ? corp.sdk.url : '', corpid: corp.corpid, secret: corp.secret });
    const mine = perCorp.get(corp.corpid) ?? { now: 0, max: 0 };
    perCorp.set(corp.corpid, mine);
    return {
      ...inner,
      getChatData: async (req, signal) => {
        const out = await inner.getChatData(req, signal);
        lastPullDone = Math.max(lastPullDone, performance.now());
        return out;
      },
      getMediaData: async (req, signal) => {
        total += 1;
        mine.now += 1;
        maxTotal = Math.max(maxTotal, total);
        mine.max = Math.max(mine.max, mine.now);
        try {
          return await inner.getMediaData(req, signal);
        } finally {
          total -= 1;
          mine.now -= 1;
          firstMediaDone = Math.min(firstMediaDone, performance.now());
        }
      },
      close: () => inner.close(),
    };
  };
  await archiveWithMedia(app, { createBackend: wrap });
  const states = await store.db
    .selectFrom('media')
    .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('state')
    .execute();
  expect(states.map((s) => [s.state, Number(s.n)])).toEqual([['done', 12]]);
  expect(maxTotal).toBe(3);
  for (const [, c] of perCorp) expect(c.max).toBeLessThanOrEqual(2);
  expect(Math.max(...[...perCorp.values()].map((c) => c.max))).toBe(2);
  // the chat pulls were over before the first media chunk (60 ms each) even came back
  expect(lastPullDone).toBeLessThan(firstMediaDone);
});

it('`media scan` makes the jobs of messages stored before media support, once', async () => {
  const { scanMessagesForMedia } = await import('../../src/media/jobs/media-job-repository.ts');
  const store = await openStore(`sqlite:${join(mkdtempSync(join(tmpdir(), 'wa-scan-')), 'archive.db')}`);
  stores.push(store);
  const raw = (msgtype: string, body: object) => Buffer.from(JSON.stringify({ msgtype, ...body }));
  const row = (msgid: string, seq: number, msgtype: string, body: object) => messageRow({ corpid: 'wwscan', msgid, seq: BigInt(seq), msgtype, raw: raw(msgtype, body) });
  await store.db
    .insertInto('messages')
    .values([
      row('s1', 1, 'image', { image: { sdkfileid: 'IMG1', md5sum: '', filesize: 3 } }),
      row('s2', 2, 'text', { text: { content: 'no media' } }),
      row('s3', 3, 'mixed', {
        mixed: {
          item: [
            { type: 'image', content: JSON.stringify({ sdkfileid: 'M1' }) },
            { type: 'file', content: JSON.stringify({ sdkfileid: 'M2', filename: 'x' }) },
          ],
        },
      }),
    ])
    .execute();
  expect(await scanMessagesForMedia(store.db, store.dialect, 'wwscan', Date.now(), 2)).toBe(3);
  expect(await scanMessagesForMedia(store.db, store.dialect, 'wwscan', Date.now(), 2)).toBe(0);
  const jobs = await store.db.selectFrom('media').select(['msgid', 'slot', 'kind', 'state', 'sdkfileid']).orderBy('msgid').orderBy('slot').execute();
  expect(jobs).toEqual([
    { msgid: 's1', slot: 0, kind: 'image', state: 'pending', sdkfileid: 'IMG1' },
    { msgid: 's3', slot: 0, kind: 'image', state: 'pending', sdkfileid: 'M1' },
    { msgid: 's3', slot: 1, kind: 'file', state: 'pending', sdkfileid: 'M2' },
  ]);
});
