/**
 * How media jobs are claimed and held, through the claim queue of store/claims with the media
 * table's descriptor (MEDIA_QUEUE), on every database: which jobs a claim takes, that it takes a
 * job once and nothing from a job read before its last change, whose leases it takes over, and
 * that only the holder writes, defers (counting a failure, not a download) and finishes a job.
 */
import { expect, it } from 'vitest';
import { MEDIA_QUEUE } from '../../src/media/jobs/media-job-queue.ts';
import { doublingBackoff } from '../../src/runtime/backoff.ts';
import { type ClaimOptions, ClaimQueue } from '../../src/store/claims/claim-queue.ts';
import { updateHeldRow } from '../../src/store/claims/lease.ts';
import { HOST_OWNER_PREFIX } from '../../src/store/lease-owner.ts';
import type { Store } from '../../src/store/open-store.ts';
import type { MediaJob, NewMediaJob } from '../../src/store/schema.ts';
import { describeEachDialect } from '../support/databases.ts';
import { mediaRow } from '../support/media-rows.ts';
import { readsBeforeLastChange } from '../support/stale-reads.ts';

const CORP = 'wwleases';
const ME = `${HOST_OWNER_PREFIX}${process.pid}/aaaaaaaaaaaa`;
/** a process of another host: never recognized as dead here */
const OTHER = 'elsewhere/4242/bbbbbbbbbbbb';
/** a process of this host that cannot exist (beyond any pid limit) */
const DEAD_HERE = `${HOST_OWNER_PREFIX}2147483646/cccccccccccc`;
const T = 1_000_000;
const LEASE_MS = 60_000;

function makeJob(msgid: string, over: Partial<NewMediaJob> = {}): NewMediaJob {
  return mediaRow(CORP, msgid, 'image', T, over);
}

async function insert(store: Store, job: NewMediaJob): Promise<MediaJob> {
  await store.db.insertInto('media').values(job).execute();
  return stored(store, job.msgid);
}

function stored(store: Store, msgid: string): Promise<MediaJob> {
  return store.db.selectFrom('media').selectAll().where('msgid', '=', msgid).executeTakeFirstOrThrow();
}

/** The msgids one claim of the corp's jobs takes for `owner` at `now`. */
async function claimedMsgids(queue: ClaimQueue<'media'>, owner: string, options: ClaimOptions<'media'> = {}): Promise<string[]> {
  const { claimed } = await queue.claim(owner, 10, LEASE_MS, { where: { corpid: CORP }, ...options });
  return claimed.map((job) => job.msgid);
}

describeEachDialect('media job leases', ({ open }) => {
  it('claims the jobs due now that no live process of another host holds, in id order; a job whose holder left may be resumed whatever its due time', async () => {
    const store = await open();
    const free = await insert(store, makeJob('free'));
    await insert(store, makeJob('later', { next_try_at: T + 10_000 }));
    await insert(store, makeJob('done', { state: 'done' }));
    await insert(store, makeJob('held', { state: 'downloading', lease_owner: OTHER, lease_until: T + LEASE_MS }));
    const ended = await insert(store, makeJob('ended', { state: 'downloading', lease_owner: OTHER, lease_until: T - 1 }));
    const here = await insert(store, makeJob('here', { state: 'downloading', lease_owner: DEAD_HERE, lease_until: T + LEASE_MS }));
    // its due time was kept when it was claimed; a holder whose lease ended left it half done
    const left = await insert(store, makeJob('left', { state: 'downloading', next_try_at: T + 10_000, lease_owner: OTHER, lease_until: T - 1 }));
    const running = await insert(store, makeJob('running'));
    await insert(store, makeJob('other corp', { corpid: 'wwother' }));
    const queue = new ClaimQueue(store.db, MEDIA_QUEUE, () => T);
    expect(await claimedMsgids(queue, ME, { except: { id: [running.id] } })).toEqual([free, ended, here, left].map((r) => r.msgid));
  });

  it('claims a job once, writing what the claim adds; a job read before its last change or held by a live process is left alone', async () => {
    const store = await open();
    const row = await insert(store, makeJob('once'));
    const queue = new ClaimQueue(store.db, MEDIA_QUEUE, () => T + 1);
    const stale = new ClaimQueue(readsBeforeLastChange(store.db), MEDIA_QUEUE, () => T + 1);
    expect(await claimedMsgids(stale, ME)).toEqual([]);
    expect(await stored(store, 'once')).toEqual(row);

    const owners = [ME, OTHER, `${HOST_OWNER_PREFIX}${process.pid}/dddddddddddd`];
    const claims = await Promise.all(
      owners.map((owner) => queue.claim(owner, 1, LEASE_MS, { values: (job) => ({ attempts: job.attempts + 1, partial_id: '0123456789abcdef01234567' }) })),
    );
    const winners = claims.flatMap((c, i) => (c.claimed.length ? [{ owner: owners[i]!, job: c.claimed[0]! }] : []));
    expect(winners).toHaveLength(1);
    const after = await stored(store, 'once');
    expect(after).toMatchObject({
      state: 'downloading',
      lease_owner: winners[0]!.owner,
      lease_until: T + 1 + LEASE_MS,
      attempts: 1,
      partial_id: '0123456789abcdef01234567',
      updated_at: T + 1,
    });
    expect(winners[0]!.job).toEqual(after);
    const loser = owners.find((o) => o !== winners[0]!.owner)!;
    expect((await queue.claim(loser, 1, LEASE_MS)).claimed).toEqual([]);
  });

  it('takes over the lease of a dead process of this host or one that ended, and its own live lease only when told to', async () => {
    const store = await open();
    const queue = new ClaimQueue(store.db, MEDIA_QUEUE, () => T + 1);
    await insert(store, makeJob('orphan', { state: 'downloading', lease_owner: DEAD_HERE, lease_until: T + LEASE_MS }));
    expect(await claimedMsgids(queue, ME, { where: { msgid: 'orphan' } })).toEqual(['orphan']);
    const mine = await insert(store, makeJob('mine', { state: 'downloading', lease_owner: ME, lease_until: T + LEASE_MS }));
    expect(await claimedMsgids(queue, ME, { where: { msgid: 'mine' }, retakeOwn: () => false })).toEqual([]);
    expect(await claimedMsgids(queue, ME, { where: { msgid: 'mine' }, retakeOwn: (job) => job.id === mine.id })).toEqual(['mine']);
    await insert(store, makeJob('expired', { state: 'downloading', lease_owner: OTHER, lease_until: T }));
    expect(await claimedMsgids(queue, ME, { where: { msgid: 'expired' } })).toEqual(['expired']);
  });

  it('writes only for the holder; a deferral counts a failure, not a download, keeps the progress and waits its backoff; a finished job belongs to nobody', async () => {
    const store = await open();
    let now = T + 1;
    const queue = new ClaimQueue(store.db, MEDIA_QUEUE, () => now);
    await insert(store, makeJob('update', { attempts: 2, failures: 1 }));
    const [job] = (await queue.claim(ME, 1, LEASE_MS)).claimed;
    expect(await updateHeldRow(store.db, 'media', { id: job!.id }, OTHER, { bytes_done: 99 })).toBe(false);
    expect(await updateHeldRow(store.db, 'media', { id: job!.id }, ME, { bytes_done: 512, index_token: 'Range:bytes=512-1023' })).toBe(true);
    const backoff = doublingBackoff(1_000, 60_000);
    expect(await queue.fail(job!, ME, { backoff }, { values: () => ({ error: 'busy' }) })).toEqual({ gaveUp: false, tries: 2, nextAt: now + 2_000, written: true });
    expect(await updateHeldRow(store.db, 'media', { id: job!.id }, ME, { bytes_done: 0 })).toBe(false);
    expect(await stored(store, 'update')).toMatchObject({
      state: 'pending',
      attempts: 2,
      failures: 2,
      next_try_at: T + 2_001,
      bytes_done: 512,
      index_token: 'Range:bytes=512-1023',
      error: 'busy',
      lease_owner: null,
      lease_until: null,
      updated_at: T + 1,
    });

    now = T + 2_000;
    expect(await claimedMsgids(queue, ME)).toEqual([]);
    now = T + 2_001;
    expect(await claimedMsgids(queue, ME)).toEqual(['update']);
    expect(await queue.finish({ id: job!.id }, ME, { state: 'done', finished_at: now })).toBe(true);
    expect(await stored(store, 'update')).toMatchObject({ state: 'done', lease_owner: null, lease_until: null, finished_at: T + 2_001, updated_at: T + 2_001 });
  });
});
