import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { exportJsonl } from '../../src/export/export-jsonl.ts';
import type { CommandIo } from '../../src/cli/command.ts';
import { main } from '../../src/cli/main.ts';
import { openStore, type Store } from '../../src/store/open-store.ts';
import type { RunningSimulator } from '../../src/simulator/server.ts';
import { corpStatuses } from '../../src/status/corp-status.ts';
import { describeEachDialect } from '../support/databases.ts';
import { voiceSamples } from '../../src/simulator/sdk/voice-samples.ts';
import { decodeMp3, harmonicRatio } from './audio-check.ts';
import { addCorp, archiveWithMedia, blobBytes, filesUnder, item, media, mediaApp, message, ref, type Ref } from './media-support.ts';
import { useSimulators } from '../support/simulators.ts';

const stores: Store[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});
// after the hook above, so that (hooks running last-registered first) simulators close before stores
const startTrackedSimulator = useSimulators();
async function simulator(seed: string): Promise<RunningSimulator> {
  return startTrackedSimulator({ messages: 0, seed });
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const KEY = /^media\/[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{64}(\.mp3)?$/;

describeEachDialect('media', ({ open, url }) => {
  it('stores every media kind byte for byte (NUL bytes included), once per content, typed by its bytes, voice made playable', async () => {
    const store = await open();
    const { app, dataDir } = mediaApp(store);
    const sim = await simulator('media-kinds');
    const pool = sim.sim.media;
    const smallestVideo = [0, 1, 2, 3].reduce((a, b) => (pool.size('mp4', b) < pool.size('mp4', a) ? b : a));
    const r = {
      jpg: ref(sim, 'jpg', 0),
      png: ref(sim, 'png', 1),
      amr: ref(sim, 'amr', 1),
      silk02: ref(sim, 'silk', 0),
      silk: ref(sim, 'silk', 1),
      amrwb: ref(sim, 'amrwb', 0),
      video: ref(sim, 'mp4', smallestVideo),
      chunk: ref(sim, 'dat', 0),
      chunkPlusOne: ref(sim, 'dat', 1),
      tiny: ref(sim, 'dat', 2),
      gif: ref(sim, 'gif', 0),
      call: ref(sim, 'mp3', 0),
      pdf: ref(sim, 'pdf', 0),
      jpgAgain: ref(sim, 'jpg', 0),
      pngAgain: ref(sim, 'png', 1),
      jpg2: ref(sim, 'jpg', 2),
      docx: ref(sim, 'docx', 0),
      videoAgain: ref(sim, 'mp4', smallestVideo),
    };
    sim.appendFixtures([
      message('m-image', 'image', { image: media(r.jpg) }),
      message('m-png', 'image', { image: media(r.png) }),
      message('m-amr', 'voice', { voice: { md5sum: r.amr.md5sum, voice_size: r.amr.filesize, play_length: 4, sdkfileid: r.amr.sdkfileid } }),
      message('m-silk02', 'voice', { voice: { md5sum: r.silk02.md5sum, voice_size: r.silk02.filesize, play_length: 2, sdkfileid: r.silk02.sdkfileid } }),
      message('m-silk', 'voice', { voice: { md5sum: r.silk.md5sum, voice_size: r.silk.filesize, play_length: 3, sdkfileid: r.silk.sdkfileid } }),
      message('m-amrwb', 'voice', { voice: { md5sum: r.amrwb.md5sum, voice_size: r.amrwb.filesize, play_length: 2, sdkfileid: r.amrwb.sdkfileid } }),
      message('m-video', 'video', { video: media(r.video, { play_length: 5 }) }),
      // hostile and foreign names are metadata only; the bytes decide the type
      message('m-file1', 'file', { file: media(r.chunk, { filename: '资料.docx', fileext: 'docx' }) }),
      message('m-file2', 'file', { file: media(r.chunkPlusOne, { filename: '../../etc/passwd', fileext: '' }) }),
      message('m-file3', 'file', { file: media(r.tiny, { filename: '/tmp/x\u0000.exe', fileext: 'exe' }) }),
      message('m-emotion', 'emotion', { emotion: { type: 1, width: 240, height: 240, imagesize: r.gif.filesize, md5sum: r.gif.md5sum, sdkfileid: r.gif.sdkfileid } }),
      message('m-call', 'meeting_voice_call', { voiceid: 'grb1', meeting_voice_call: { endtime: 1, sdkfileid: r.call.sdkfileid } }),
      message('m-share', 'voip_doc_share', { voipid: 'gr1', voip_doc_share: media(r.pdf, { filename: '季度复盘.pdf' }) }),
      message('m-mixed', 'mixed', {
        mixed: {
          item: [
            item('text', { content: 'see' }),
            item('image', media(r.jpgAgain)),
            item('emotion', { type: 2, imagesize: r.pngAgain.filesize, md5sum: r.pngAgain.md5sum, sdkfileid: r.pngAgain.sdkfileid }),
          ],
        },
      }),
      message('m-record', 'chatrecord', {
        chatrecord: {
          title: '群聊',
          item: [
            { type: 'ChatRecordText', msgtime: 1, content: JSON.stringify({ content: 'hi' }) },
            { type: 'ChatRecordFile', msgtime: 1, content: JSON.stringify(media(r.docx, { filename: 'a/../../b.docx' })) },
            { type: 'ChatRecordMixed', msgtime: 1, content: JSON.stringify({ item: [item('image', media(r.jpg2))] }) },
            { type: 'ChatRecordVideo', msgtime: 1, content: JSON.stringify(media(r.videoAgain)) },
          ],
        },
      }),
    ]);
    await addCorp(app, sim);
    const [progress] = await archiveWithMedia(app);
    expect(progress).toMatchObject({ state: 'ok', messages: 15 });

    const rows = await store.db.selectFrom('media').selectAll().orderBy('id').execute();
    const expected: Array<[string, number, string, Ref]> = [
      ['m-image', 0, 'image', r.jpg],
      ['m-png', 0, 'image', r.png],
      ['m-amr', 0, 'voice', r.amr],
      ['m-silk02', 0, 'voice', r.silk02],
      ['m-silk', 0, 'voice', r.silk],
      ['m-amrwb', 0, 'voice', r.amrwb],
      ['m-video', 0, 'video', r.video],
      ['m-file1', 0, 'file', r.chunk],
      ['m-file2', 0, 'file', r.chunkPlusOne],
      ['m-file3', 0, 'file', r.tiny],
      ['m-emotion', 0, 'emotion', r.gif],
      ['m-call', 0, 'meeting_voice_call', r.call],
      ['m-share', 0, 'voip_doc_share', r.pdf],
      ['m-mixed', 0, 'image', r.jpgAgain],
      ['m-mixed', 1, 'emotion', r.pngAgain],
      ['m-record', 0, 'file', r.docx],
      ['m-record', 1, 'image', r.jpg2],
      ['m-record', 2, 'video', r.videoAgain],
    ];
    expect(rows.map((x) => [x.msgid, x.slot, x.kind])).toEqual(expected.map(([m, s, k]) => [m, s, k]));
    for (const [i, [msgid, , , source]] of expected.entries()) {
      const row = rows[i]!;
      const bytes = blobBytes(sim, source);
      // meeting_voice_call carries no md5sum: stored, but unverified
      expect(row.state, msgid).toBe(msgid === 'm-call' ? 'unverified' : 'done');
      expect(row.size).toBe(bytes.length);
      expect(row.sha256).toBe(sha256(bytes));
      expect(row.storage_key).toBe(`${row.sha256!.slice(0, 2)}/${row.sha256!.slice(2, 4)}/${row.sha256}`);
      const stored = readFileSync(join(dataDir, 'media', row.storage_key!));
      expect(stored.equals(bytes), `${msgid} bytes on disk`).toBe(true);
    }
    // binary bytes with NULs, and the 512 KB chunk edges, came through whole
    expect(blobBytes(sim, r.chunkPlusOne).includes(0)).toBe(true);
    expect(rows.find((x) => x.msgid === 'm-file2')!.size).toBe(2 * 524288 + 1);
    expect(rows.find((x) => x.msgid === 'm-file1')!.size).toBe(524288);

    // the same bytes are stored once: 18 references, 15 different contents
    const files = filesUnder(dataDir).filter((f) => f.startsWith('media/'));
    const originals = files.filter((f) => !f.endsWith('.mp3'));
    expect(new Set(rows.map((x) => x.sha256)).size).toBe(15);
    expect(originals).toHaveLength(15);
    // nothing but content-addressed files: no name from a message became a path, nothing is left half-done
    for (const f of files) expect(f).toMatch(KEY);
    expect(filesUnder(dataDir).filter((f) => !f.startsWith('media/') && !/^archive\.db(-wal|-shm)?$/.test(f))).toEqual([]);
    expect(existsSync(join(dataDir, '..', 'etc', 'passwd'))).toBe(false);

    const type = (msgid: string, slot = 0) => rows.find((x) => x.msgid === msgid && x.slot === slot)!.content_type;
    expect([type('m-image'), type('m-png'), type('m-video'), type('m-share'), type('m-emotion'), type('m-file1'), type('m-record')]).toEqual([
      'image/jpeg',
      'image/png',
      'video/mp4',
      'application/pdf',
      'image/gif',
      'application/octet-stream',
      'application/zip',
    ]);

    // voice: AMR-NB and SILK (with and without 0x02) get a playable MP3 beside the original; AMR-WB
    // without ffmpeg says why not
    for (const [msgid, source] of [
      ['m-amr', r.amr],
      ['m-silk02', r.silk02],
      ['m-silk', r.silk],
    ] as const) {
      const row = rows.find((x) => x.msgid === msgid)!;
      expect(row.voice_format, msgid).toBe(msgid === 'm-amr' ? 'amr-nb' : 'silk');
      expect(row.converted_key).toBe(`${row.storage_key}.mp3`);
      expect(row.converted_type).toBe('audio/mpeg');
      const audio = await decodeMp3(readFileSync(join(dataDir, 'media', row.converted_key!)));
      expect(audio.errors).toBe(0);
      const v = await voiceSamples();
      const s = source.kind === 'amr' ? v.amr[source.blob]! : v.silk[source.blob]!;
      expect(Math.abs(audio.samples.length / audio.sampleRate - s.durationMs / 1000)).toBeLessThan(0.3);
      expect(harmonicRatio(audio.samples, audio.sampleRate, s.pitchHz)).toBeGreaterThan(5);
      expect(readFileSync(join(dataDir, 'media', row.storage_key!)).equals(blobBytes(sim, source))).toBe(true);
    }
    const wb = rows.find((x) => x.msgid === 'm-amrwb')!;
    expect(wb).toMatchObject({ state: 'done', voice_format: 'amr-wb', converted_key: null });
    expect(wb.convert_error).toMatch(/AMR-WB voice needs ffmpeg/);

    const [status] = await corpStatuses(store.db, Date.now());
    expect(status!.media.states).toEqual({ pending: 0, downloading: 0, done: 17, unverified: 1, failed: 0, expired: 0 });
    expect(status!.media.voices).toEqual({ converted: 3, notConverted: 1 });

    const lines: Array<Record<string, any>> = [];
    for await (const line of exportJsonl(store.db, sim.corp.corpid)) lines.push(JSON.parse(line));
    const record = lines.find((l) => l.msgid === 'm-record')!;
    expect(record._archive.media.map((m: any) => [m.slot, m.kind, m.path, m.state, m.stored])).toEqual([
      [0, 'file', 'chatrecord.item[1]', 'done', rows.find((x) => x.msgid === 'm-record' && x.slot === 0)!.storage_key],
      [1, 'image', 'chatrecord.item[2].item[0]', 'done', rows.find((x) => x.msgid === 'm-record' && x.slot === 1)!.storage_key],
      [2, 'video', 'chatrecord.item[3]', 'done', rows.find((x) => x.msgid === 'm-record' && x.slot === 2)!.storage_key],
    ]);
    const amr = lines.find((l) => l.msgid === 'm-amr')!._archive.media[0];
    expect(amr).toMatchObject({ state: 'done', content_type: 'audio/amr', voice_format: 'amr-nb', converted: { content_type: 'audio/mpeg' }, error_code: null });
    expect(lines.find((l) => l.msgid === 'm-text')).toBeUndefined();
    expect(lines.find((l) => l.msgid === 'm-file2')!.file.filename).toBe('../../etc/passwd');
  });

  it('retries transient codes, marks 10010 expired and other codes failed with the code kept, refetches on md5 mismatch, then fails with both digests', async () => {
    const dbUrl = await url();
    const store = await openStore(dbUrl);
    stores.push(store);
    const { app, dataDir } = mediaApp(store, { 'media-corp-concurrency': '2' });
    const sim = await simulator('media-faults');
    const flaky = ref(sim, 'dat', 1);
    const gone = ref(sim, 'pdf', 0);
    const broken = ref(sim, 'jpg', 1);
    const wrong = ref(sim, 'png', 0, 'wrong');
    const corruptOnce = ref(sim, 'dat', 0);
    const noMd5 = ref(sim, 'jpg', 3, 'empty');
    // per-file answers, in call order, before the real ones (the simulator's own fault queue is global)
    const plan = new Map<string, Array<number | 'corrupt'>>([
      [flaky.sdkfileid, [10001, 10002, 10003, 10001]],
      [gone.sdkfileid, [10010]],
      [broken.sdkfileid, [10005]],
      [corruptOnce.sdkfileid, ['corrupt']],
    ]);
    const calls: Array<{ id: string; index: string }> = [];
    const real = sim.sim.getMediaData.bind(sim.sim);
    sim.sim.getMediaData = (id, index) => {
      calls.push({ id, index });
      const next = plan.get(id)?.shift();
      if (typeof next === 'number') return { ret: next, detail: 'planned by the test' };
      const out = real(id, index);
      if (next === 'corrupt' && out.ret === 0 && 'value' in out) {
        const data = Buffer.from(out.value.data);
        data[100] = data[100]! ^ 0xff;
        return { ret: 0, value: { ...out.value, data } };
      }
      return out;
    };
    // and transport faults on the first calls, whichever file they hit
    sim.injectFault('media:disconnect');
    sim.injectFault('media:truncate');
    sim.appendFixtures([
      message('f-flaky', 'file', { file: media(flaky, { filename: 'a.bin' }) }),
      message('f-gone', 'file', { file: media(gone, { filename: 'b.pdf' }) }),
      message('f-broken', 'image', { image: media(broken) }),
      message('f-wrong', 'image', { image: media(wrong) }),
      message('f-corrupt', 'file', { file: media(corruptOnce, { filename: 'c.bin' }) }),
      message('f-nomd5', 'image', { image: media(noMd5) }),
    ]);
    await addCorp(app, sim);
    await archiveWithMedia(app);

    const rows = new Map((await store.db.selectFrom('media').selectAll().execute()).map((x) => [x.msgid, x]));
    expect(rows.get('f-flaky')).toMatchObject({ state: 'done', sha256: sha256(blobBytes(sim, flaky)), attempts: 1 });
    expect(rows.get('f-gone')).toMatchObject({ state: 'expired', error_code: 10010, storage_key: null });
    expect(rows.get('f-gone')!.error).toMatch(/10010: data expired/);
    expect(rows.get('f-broken')).toMatchObject({ state: 'failed', error_code: 10005 });
    expect(rows.get('f-broken')!.error).toMatch(/fileid error/);
    // a wrong md5sum: fetched three times in all, then failed, naming both digests (the bytes are kept)
    const realMd5 = sim.sim.media.md5('png', 0);
    expect(rows.get('f-wrong')).toMatchObject({ state: 'failed', attempts: 3, md5: realMd5, md5_expected: wrong.md5sum });
    expect(rows.get('f-wrong')!.error).toContain(`WeCom's md5sum is ${wrong.md5sum}, the downloaded file's md5 is ${realMd5}`);
    expect(calls.filter((c) => c.id === wrong.sdkfileid && c.index === '').length).toBe(3);
    // one corrupted chunk: the md5 caught it, the second download is right
    expect(rows.get('f-corrupt')).toMatchObject({ state: 'done', attempts: 2, sha256: sha256(blobBytes(sim, corruptOnce)) });
    expect(rows.get('f-nomd5')).toMatchObject({ state: 'unverified', sha256: sha256(blobBytes(sim, noMd5)) });
    expect(rows.get('f-nomd5')!.error).toMatch(/no usable md5sum/);
    expect(sim.sim.faults.list()).toEqual([]);

    const [status] = await corpStatuses(store.db, Date.now());
    expect(status!.media.states).toMatchObject({ done: 2, unverified: 1, failed: 2, expired: 1 });
    expect(status!.media.latestFailures.map((f) => f.errorCode).sort()).toEqual([10005, 10010, null]);

    // what a user sees: `status`, then `media retry --state expired` (queued again from the first
    // byte; WeCom has it again this time)
    const out: string[] = [];
    const io: CommandIo = {
      out: (l) => out.push(l),
      err: (l) => out.push(l),
      stdout: process.stdout,
      cwd: dataDir,
      env: { WECOM_ARCHIVE_MASTER_KEY: '03'.repeat(32), WECOM_ARCHIVE_DATA_DIR: dataDir },
      signal: new AbortController().signal,
    };
    expect(await main(['status', '--db', dbUrl], io)).toBe(0);
    expect(out.join('\n')).toMatch(/media: 2 done, 1 unverified, 2 failed, 1 expired \([\d.]+ MB stored\)/);
    expect(out.join('\n')).toMatch(/expired file of message f-gone \(code 10010\)/);
    expect(await main(['media', 'retry', '--state', 'expired', '--corp', sim.corp.corpid, '--db', dbUrl], io)).toBe(0);
    expect(out.at(-1)).toBe(`1 expired media job of ${sim.corp.corpid} queued again; \`wecom-archive run\` downloads them`);
    // an operator's change leaves its audit row, as the operations page's retry does
    const retried = await store.db.selectFrom('audit_log').selectAll().where('action', '=', 'media.retry').execute();
    expect(retried).toMatchObject([{ corpid: sim.corp.corpid, items: 1, request_id: 'cli' }]);
    expect(JSON.parse(retried[0]!.query!)).toEqual({ state: 'expired' });
    expect(await main(['media', 'retry', '--state', 'done', '--db', dbUrl], io)).toBe(2);
    // a mistyped corp is named, not answered with "0 … queued again"
    for (const command of [
      ['media', 'retry', '--corp', 'wwNOPE'],
      ['media', 'scan', '--corp', 'wwNOPE'],
    ]) {
      expect(await main([...command, '--db', dbUrl], io), command.join(' ')).toBe(3);
      expect(out.at(-1)).toContain('corp wwNOPE is unknown: it is not configured and nothing of it is archived');
    }
    await archiveWithMedia(app);
    const again = await store.db.selectFrom('media').selectAll().where('msgid', '=', 'f-gone').executeTakeFirstOrThrow();
    expect(again).toMatchObject({ state: 'done', sha256: sha256(blobBytes(sim, gone)), error_code: null, error: null });
  });
});
