import { expect, it } from 'vitest';
import { type ClaimRequest, mediaJobLeases } from '../../src/media/jobs/media-job-leases.ts';
import { HOST_OWNER_PREFIX } from '../../src/store/lease-owner.ts';
import type { MediaJob, NewMediaJob } from '../../src/store/schema.ts';
import type { Store } from '../../src/store/open-store.ts';
import { describeEachDialect } from '../support/databases.ts';

const CORP = 'wwleases';
const ME = `${HOST_OWNER_PREFIX}${process.pid}/aaaaaaaaaaaa`;
/** a process of another host: never recognized as dead here */
const OTHER = 'elsewhere/4242/bbbbbbbbbbbb';
/** a process of this host that cannot exist (beyond any pid limit) */
const DEAD_HERE = `${HOST_OWNER_PREFIX}2147483646/cccccccccccc`;
const T = 1_000_000;
const LEASE_MS = 60_000;

function makeJob(msgid: string, over: Partial<NewMediaJob> = {}): NewMediaJob {
  return {
    corpid: CORP, msgid, slot: 0, msgtype: 'image', kind: 'image', path: 'image', sdkfileid: `sdk-${msgid}`,
    md5_expected: null, size_expected: null, file_name: null, state: 'pending', index_token: '', bytes_done: 0, partial_id: null,
    attempts: 0, failures: 0, next_try_at: 0, lease_owner: null, lease_until: null, error_code: null, error: null,
    sha256: null, md5: null, size: null, content_type: null, storage_key: null, voice_format: null,
    converted_key: null, converted_type: null, convert_error: null, created_at: T, updated_at: T, finished_at: null, ...over,
  };
}

async function insert(store: Store, job: NewMediaJob): Promise<MediaJob> {
  await store.db.insertInto('media').values(job).execute();
  return store.db.selectFrom('media').selectAll().where('corpid', '=', CORP).where('msgid', '=', job.msgid).executeTakeFirstOrThrow();
}

const request = (over: Partial<ClaimRequest> = {}): ClaimRequest => ({ owner: ME, now: T + 1, leaseMs: LEASE_MS, retakeOwn: false, set: {}, ...over });

describeEachDialect('media job leases', ({ open }) => {
  it('offers the rows due now that no live process of another host holds, in id order', async () => {
    const store = await open();
    const leases = mediaJobLeases(store.db);
    const free = await insert(store, makeJob('free'));
    await insert(store, makeJob('later', { next_try_at: T + 10_000 }));
    await insert(store, makeJob('done', { state: 'done' }));
    await insert(store, makeJob('held', { state: 'downloading', lease_owner: OTHER, lease_until: T + LEASE_MS }));
    const ended = await insert(store, makeJob('ended', { state: 'downloading', lease_owner: OTHER, lease_until: T - 1 }));
    const here = await insert(store, makeJob('here', { state: 'downloading', lease_owner: DEAD_HERE, lease_until: T + LEASE_MS }));
    const running = await insert(store, makeJob('running'));
    const ids = (await leases.claimable(CORP, T, new Set([running.id]), 10)).map((r) => r.msgid);
    expect(ids).toEqual([free, ended, here].map((r) => r.msgid));
  });

  it('claims a row once: a second claim from the same read finds it changed, a live holder keeps it', async () => {
    const store = await open();
    const leases = mediaJobLeases(store.db);
    const row = await insert(store, makeJob('once'));
    const first = await leases.claim(row, request({ set: { attempts: 1, partial_id: '0123456789abcdef01234567' } }));
    expect(first.kind).toBe('claimed');
    const stored = await store.db.selectFrom('media').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ state: 'downloading', lease_owner: ME, lease_until: T + 1 + LEASE_MS, attempts: 1, partial_id: '0123456789abcdef01234567', updated_at: T + 1 });
    expect(first.kind === 'claimed' && first.job).toEqual(stored);
    expect(await leases.claim(row, request({ owner: OTHER, now: T + 2 }))).toEqual({ kind: 'changed' });
    expect(await leases.claim(stored, request({ owner: OTHER, now: T + 2 }))).toEqual({ kind: 'held', holder: ME });
  });

  it('takes over the lease of a dead process of this host, and its own lease only when asked to', async () => {
    const store = await open();
    const leases = mediaJobLeases(store.db);
    const orphan = await insert(store, makeJob('orphan', { state: 'downloading', lease_owner: DEAD_HERE, lease_until: T + LEASE_MS }));
    expect((await leases.claim(orphan, request())).kind).toBe('claimed');
    const mine = await insert(store, makeJob('mine', { state: 'downloading', lease_owner: ME, lease_until: T + LEASE_MS }));
    expect(await leases.claim(mine, request())).toEqual({ kind: 'held', holder: ME });
    expect((await leases.claim(mine, request({ retakeOwn: true }))).kind).toBe('claimed');
    const expired = await insert(store, makeJob('expired', { state: 'downloading', lease_owner: OTHER, lease_until: T }));
    expect((await leases.claim(expired, request())).kind).toBe('claimed');
  });

  it('writes only for the holder, and a released job belongs to nobody', async () => {
    const store = await open();
    const leases = mediaJobLeases(store.db);
    const row = await insert(store, makeJob('update'));
    await leases.claim(row, request());
    expect(await leases.updateHeld(row.id, OTHER, { bytes_done: 99 }, T + 5)).toBe(false);
    expect(await leases.updateHeld(row.id, ME, { bytes_done: 512, index_token: 'Range:bytes=512-1023' }, T + 5)).toBe(true);
    expect(await leases.release(row.id, ME, T + 6)).toBe(true);
    expect(await leases.updateHeld(row.id, ME, { bytes_done: 0 }, T + 7)).toBe(false);
    const stored = await store.db.selectFrom('media').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ bytes_done: 512, index_token: 'Range:bytes=512-1023', lease_owner: null, lease_until: null, updated_at: T + 6 });
  });
});
