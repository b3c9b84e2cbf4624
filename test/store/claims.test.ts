/**
 * The claim mechanism every background stage uses (store/claims), on every database: one lease per
 * row with a compare-and-set take, the dead-owner rule, renewal, release, a watermark that only its
 * holder moves and never backwards, and row queues with backoff and give-up as data (on the queues of the callback inbox, counting a try
 * as it claims, and of the directory refresh queue, counting a try when it fails); a claim takes nothing from a row read before its
 * last change, takes back its own leases as told, and reads as many due rows as told.
 */
import { expect, it } from 'vitest';
import { INBOX_QUEUE } from '../../src/callbacks/callback-inbox.ts';
import { REFRESH_QUEUE } from '../../src/directory/directory-store.ts';
import { doublingBackoff } from '../../src/runtime/backoff.ts';
import { ClaimQueue } from '../../src/store/claims/claim-queue.ts';
import { RowLease } from '../../src/store/claims/lease.ts';
import { newLeaseOwner } from '../../src/store/lease-owner.ts';
import type { Store } from '../../src/store/open-store.ts';
import { encodeSeq } from '../../src/store/seq-codec.ts';
import { describeEachDialect } from '../support/databases.ts';
import { deadOwnerHere } from '../support/dead-owner.ts';
import { readsBeforeLastChange } from '../support/stale-reads.ts';

const OTHER_HOST = 'far-away-host/1234/0123456789ab';

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

async function cursorRow(store: Store, corpid: string, seq = 0n): Promise<void> {
  await store.db
    .insertInto('cursors')
    .values({ corpid, seq: encodeSeq(seq), state: 'ok', updated_at: 0, lease_owner: null, lease_until: null })
    .execute();
}

const holderOf = async (store: Store, corpid: string) =>
  (await store.db.selectFrom('cursors').select('lease_owner').where('corpid', '=', corpid).executeTakeFirstOrThrow()).lease_owner;

async function queueRows(store: Store, count: number, at: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await store.db
      .insertInto('callback_inbox')
      .values({
        corpid: 'wwq',
        app: 'a',
        dedup_key: String(i).padStart(64, '0'),
        kind: 'change_contact',
        event: null,
        change_type: null,
        body: `<xml>${i}</xml>`,
        remote_addr: null,
        event_time: null,
        state: 'pending',
        attempts: 0,
        next_attempt_at: at,
        lease_owner: null,
        lease_until: null,
        last_error: null,
        received_at: at,
        updated_at: at,
        done_at: null,
      })
      .execute();
  }
}

describeEachDialect('claims: row lease', ({ open }) => {
  it('is held by exactly one of several owners racing for it, and the others are told who holds it', async () => {
    const store = await open();
    await cursorRow(store, 'wwrace');
    const leases = Array.from({ length: 6 }, (_, i) => new RowLease(store.db, 'cursors', { corpid: 'wwrace' }, `${OTHER_HOST.slice(0, -1)}${i}`, 60_000));
    const answers = await Promise.all(leases.map((l) => l.acquire()));
    const winners = leases.filter((_, i) => answers[i]!.held);
    expect(winners).toHaveLength(1);
    expect(await holderOf(store, 'wwrace')).toBe(winners[0]!.owner);
    for (const a of answers) if (!a.held) expect(a.holder?.owner ?? winners[0]!.owner).toBe(winners[0]!.owner);
  });

  it('is renewed by its holder, also twice within one millisecond, and taken by another only once it has ended', async () => {
    const store = await open();
    await cursorRow(store, 'wwrenew');
    const clock = manualClock();
    const mine = new RowLease(store.db, 'cursors', { corpid: 'wwrenew' }, 'host-a/1/aaaaaaaaaaaa', 1_000, clock.now);
    const theirs = new RowLease(store.db, 'cursors', { corpid: 'wwrenew' }, 'host-b/1/bbbbbbbbbbbb', 1_000, clock.now);
    expect(await mine.acquire()).toEqual({ held: true });
    // same values written again: still counts as held (the UPDATE counts rows matched)
    expect(await mine.acquire()).toEqual({ held: true });
    clock.advance(900);
    expect(await mine.acquire()).toEqual({ held: true });
    clock.advance(900); // the first term would have ended; the renewal keeps it
    expect(await theirs.acquire()).toEqual({ held: false, holder: { owner: mine.owner, until: clock.now() + 100 } });
    clock.advance(101);
    expect(await theirs.acquire()).toEqual({ held: true });
    expect(await mine.acquire()).toMatchObject({ held: false, holder: { owner: theirs.owner } });
  });

  it('is taken, not answered "held by nobody", when it ends (or is given up) between the take and the read back', async () => {
    const store = await open();
    await cursorRow(store, 'wwgap');
    let t = 1_000_000;
    const theirs = new RowLease(store.db, 'cursors', { corpid: 'wwgap' }, 'host-b/1/bbbbbbbbbbbb', 1_000, () => t);
    expect(await theirs.acquire()).toEqual({ held: true });
    t += 1_000;
    // a clock a millisecond on at every look: the take sees the lease's last millisecond, the read back sees it ended
    const mine = new RowLease(store.db, 'cursors', { corpid: 'wwgap' }, 'host-a/1/aaaaaaaaaaaa', 1_000, () => t++);
    expect(await mine.acquire()).toEqual({ held: true });
    expect(await holderOf(store, 'wwgap')).toBe(mine.owner);
  });

  it('is taken over at once, by exactly one taker, from a process of this host that is gone; not from a live one elsewhere', async () => {
    const store = await open();
    await cursorRow(store, 'wwdead');
    await store.db
      .updateTable('cursors')
      .set({ lease_owner: deadOwnerHere(), lease_until: Date.now() + 600_000 })
      .where('corpid', '=', 'wwdead')
      .execute();
    const takers = Array.from({ length: 4 }, () => new RowLease(store.db, 'cursors', { corpid: 'wwdead' }, newLeaseOwner(), 60_000));
    const answers = await Promise.all(takers.map((t) => t.acquire()));
    expect(answers.filter((a) => a.held)).toHaveLength(1);
    expect(takers.map((t) => t.owner)).toContain(await holderOf(store, 'wwdead'));

    await store.db
      .updateTable('cursors')
      .set({ lease_owner: OTHER_HOST, lease_until: Date.now() + 600_000 })
      .where('corpid', '=', 'wwdead')
      .execute();
    expect(await takers[0]!.acquire()).toMatchObject({ held: false, holder: { owner: OTHER_HOST } });
  });

  it('is taken only while a condition on the row holds, also from a process of this host that is gone', async () => {
    const store = await open();
    await cursorRow(store, 'wwwhen');
    const lease = new RowLease(store.db, 'cursors', { corpid: 'wwwhen' }, newLeaseOwner(), 60_000);
    expect(await lease.acquire((eb) => eb('state', '=', 'stopped'))).toEqual({ held: false, holder: undefined });
    expect(await holderOf(store, 'wwwhen')).toBeNull();
    expect(await lease.acquire((eb) => eb('state', '=', 'ok'))).toEqual({ held: true });

    const dead = deadOwnerHere();
    await store.db
      .updateTable('cursors')
      .set({ lease_owner: dead, lease_until: Date.now() + 600_000 })
      .where('corpid', '=', 'wwwhen')
      .execute();
    expect(await lease.acquire((eb) => eb('state', '=', 'stopped'))).toEqual({ held: false, holder: undefined });
    expect(await holderOf(store, 'wwwhen')).toBe(dead);
    expect(await lease.acquire((eb) => eb('state', '=', 'ok'))).toEqual({ held: true });
    expect(await holderOf(store, 'wwwhen')).toBe(lease.owner);
  });

  it('is released only by its holder, and is free at once after', async () => {
    const store = await open();
    await cursorRow(store, 'wwrel');
    const a = new RowLease(store.db, 'cursors', { corpid: 'wwrel' }, 'host-a/1/aaaaaaaaaaaa', 60_000);
    const b = new RowLease(store.db, 'cursors', { corpid: 'wwrel' }, 'host-b/1/bbbbbbbbbbbb', 60_000);
    expect(await a.acquire()).toEqual({ held: true });
    await b.release();
    expect(await holderOf(store, 'wwrel')).toBe(a.owner);
    await a.release();
    expect(await holderOf(store, 'wwrel')).toBeNull();
    expect(await b.acquire()).toEqual({ held: true });
  });

  it('refuses the commit of a holder that lost it, and never moves its watermark back', async () => {
    const store = await open();
    await cursorRow(store, 'wwmark', 10n);
    const clock = manualClock(Date.now());
    const a = new RowLease(store.db, 'cursors', { corpid: 'wwmark' }, 'host-a/1/aaaaaaaaaaaa', 1_000, clock.now);
    const b = new RowLease(store.db, 'cursors', { corpid: 'wwmark' }, 'host-b/1/bbbbbbbbbbbb', 1_000, clock.now);
    const seqOf = async () => (await store.db.selectFrom('cursors').select('seq').where('corpid', '=', 'wwmark').executeTakeFirstOrThrow()).seq;
    const move = (lease: RowLease<'cursors'>, seq: bigint) =>
      store.db.transaction().execute((trx) => lease.updateIfHeld(trx, { seq: encodeSeq(seq) }, { column: 'seq', value: encodeSeq(seq) }));

    expect(await a.acquire()).toEqual({ held: true });
    expect(await move(a, 20n)).toBe(true);
    expect(await move(a, 20n)).toBe(true); // no move is no step back
    expect(await move(a, 15n)).toBe(false);
    expect(await seqOf()).toBe(encodeSeq(20n));
    clock.advance(1_001);
    expect(await b.acquire()).toEqual({ held: true });
    expect(await move(a, 30n)).toBe(false);
    expect(await seqOf()).toBe(encodeSeq(20n));
    expect(await move(b, 30n)).toBe(true);
    expect(await seqOf()).toBe(encodeSeq(30n));
  });
});

describeEachDialect('claims: row queue', ({ open }) => {
  it('gives each due row to one of several claimers racing, and none twice', async () => {
    const store = await open();
    await queueRows(store, 30, Date.now() - 1);
    const queue = new ClaimQueue(store.db, INBOX_QUEUE);
    const owners = ['host-a/1/aaaaaaaaaaaa', 'host-b/1/bbbbbbbbbbbb', 'host-c/1/cccccccccccc'];
    const rounds = await Promise.all(owners.map((o) => queue.claim(o, 30, 60_000)));
    const ids = rounds.flatMap((r) => r.claimed.map((row) => Number(row.id)));
    expect(ids).toHaveLength(30);
    expect(new Set(ids).size).toBe(30);
    const rows = await store.db.selectFrom('callback_inbox').select(['id', 'lease_owner', 'attempts', 'state']).execute();
    for (const [i, round] of rounds.entries()) {
      for (const row of round.claimed) expect(rows.find((r) => Number(r.id) === Number(row.id))).toMatchObject({ lease_owner: owners[i], attempts: 1, state: 'working' });
    }
  });

  it('puts a failed row back after the backoff the policy gives, and gives it up after maxAttempts tries', async () => {
    const store = await open();
    const clock = manualClock(Date.now());
    await queueRows(store, 1, clock.now());
    const queue = new ClaimQueue(store.db, INBOX_QUEUE, clock.now);
    const policy = { backoff: doublingBackoff(1_000, 3_000), maxAttempts: 3 };
    const owner = 'host-a/1/aaaaaaaaaaaa';
    const waits: number[] = [];
    for (let tries = 1; tries <= 3; tries++) {
      const [row] = (await queue.claim(owner, 5, 60_000)).claimed;
      expect(row?.attempts).toBe(tries);
      const outcome = await queue.fail(row!, owner, policy, { values: (gaveUp) => ({ last_error: gaveUp ? 'for good' : 'again' }) });
      waits.push(outcome.nextAt - clock.now());
      if (outcome.gaveUp) break;
      // not due before its time, due at it
      clock.advance(outcome.nextAt - clock.now() - 1);
      expect((await queue.claim(owner, 5, 60_000)).claimed).toEqual([]);
      clock.advance(1);
    }
    expect(waits).toEqual([1_000, 2_000, 0]);
    const row = await store.db.selectFrom('callback_inbox').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ state: 'failed', attempts: 3, last_error: 'for good', lease_owner: null, lease_until: null });
    clock.advance(10_000_000);
    expect((await queue.claim(owner, 5, 60_000)).claimed).toEqual([]);
  });

  it('gives up at once on a permanent failure, and does not count a wait as a try', async () => {
    const store = await open();
    const clock = manualClock(Date.now());
    await store.db
      .insertInto('dir_refresh_queue')
      .values(
        ['u1', 'u2'].map((id) => ({
          corpid: 'wwr',
          entity_kind: 'member',
          entity_id: id,
          reason: 'seen',
          state: 'pending',
          attempts: 0,
          next_attempt_at: clock.now(),
          last_error_code: null,
          last_error: null,
          lease_owner: null,
          lease_until: null,
          created_at: 0,
          updated_at: 0,
        })),
      )
      .execute();
    const queue = new ClaimQueue(store.db, REFRESH_QUEUE, clock.now);
    const policy = { backoff: doublingBackoff(10, 100), maxAttempts: 5 };
    const owner = newLeaseOwner();
    const { claimed } = await queue.claim(owner, 5, 60_000, { where: { corpid: 'wwr' } });
    expect(claimed.map((r) => r.entity_id)).toEqual(['u1', 'u2']);
    expect(await queue.fail(claimed[0]!, owner, policy, { permanent: true })).toMatchObject({ gaveUp: true, tries: 1, written: true });
    expect(await queue.fail(claimed[1]!, owner, policy, { waitMs: 5_000 })).toMatchObject({ gaveUp: false, tries: 0, nextAt: clock.now() + 5_000, written: true });
    const rows = await store.db.selectFrom('dir_refresh_queue').select(['entity_id', 'state', 'attempts']).orderBy('entity_id').execute();
    expect(rows).toEqual([
      { entity_id: 'u1', state: 'gave_up', attempts: 1 },
      { entity_id: 'u2', state: 'pending', attempts: 0 },
    ]);
  });

  it('takes back a working row whose holder died on this host or whose lease ended, not one a live process holds; a lost row takes no result', async () => {
    const store = await open();
    const now = Date.now();
    await queueRows(store, 3, now);
    const lease = (id: number, owner: string, until: number) =>
      store.db.updateTable('callback_inbox').set({ state: 'working', attempts: 1, lease_owner: owner, lease_until: until }).where('id', '=', id).execute();
    const ids = (await store.db.selectFrom('callback_inbox').select('id').orderBy('id').execute()).map((r) => Number(r.id));
    const dead = deadOwnerHere();
    await lease(ids[0]!, dead, now + 600_000);
    await lease(ids[1]!, OTHER_HOST, now - 1);
    await lease(ids[2]!, OTHER_HOST, now + 600_000);
    const queue = new ClaimQueue(store.db, INBOX_QUEUE);
    const owner = newLeaseOwner();
    const { claimed } = await queue.claim(owner, 10, 60_000);
    expect(claimed.map((r) => Number(r.id))).toEqual([ids[0], ids[1]]);
    expect(claimed.map((r) => r.attempts)).toEqual([2, 2]);
    // the dead holder's result (were it to arrive) is refused; the new holder's is taken
    expect(await queue.finish({ id: ids[0]! }, dead, { state: 'done' })).toBe(false);
    expect(await queue.finish({ id: ids[0]! }, owner, { state: 'done' })).toBe(true);
    const states = await store.db.selectFrom('callback_inbox').select(['state', 'lease_owner']).orderBy('id').execute();
    expect(states).toEqual([
      { state: 'done', lease_owner: null },
      { state: 'working', lease_owner: owner },
      { state: 'working', lease_owner: OTHER_HOST },
    ]);
  });

  it('claims only the rows a claim asks for, leaves out those it excepts, and writes what it adds with the lease', async () => {
    const store = await open();
    await queueRows(store, 4, Date.now() - 1);
    const ids = (await store.db.selectFrom('callback_inbox').select('id').orderBy('id').execute()).map((r) => Number(r.id));
    await store.db.updateTable('callback_inbox').set({ kind: 'msgaudit_notify' }).where('id', '=', ids[3]!).execute();
    const queue = new ClaimQueue(store.db, INBOX_QUEUE);
    const { claimed } = await queue.claim(newLeaseOwner(), 10, 60_000, {
      where: { kind: ['change_contact'] },
      except: { id: [ids[0]!] },
      values: (row) => ({ last_error: `claimed after ${row.attempts} tries` }),
    });
    expect(claimed.map((r) => [Number(r.id), r.last_error])).toEqual([
      [ids[1], 'claimed after 0 tries'],
      [ids[2], 'claimed after 0 tries'],
    ]);
    const stored = await store.db.selectFrom('callback_inbox').select(['id', 'last_error']).where('last_error', 'is not', null).orderBy('id').execute();
    expect(stored.map((r) => Number(r.id))).toEqual([ids[1], ids[2]]);
  });

  it('takes nothing from a row read before its last change, which the claim would write over', async () => {
    const store = await open();
    await queueRows(store, 1, Date.now() - 1);
    const owner = newLeaseOwner();
    const stale = new ClaimQueue(readsBeforeLastChange(store.db), INBOX_QUEUE);
    expect(await stale.claim(owner, 5, 60_000, { values: () => ({ last_error: 'from a stale read' }) })).toEqual({ claimed: [], heldElsewhere: 1 });
    const row = await store.db.selectFrom('callback_inbox').select(['state', 'lease_owner', 'attempts', 'last_error']).executeTakeFirstOrThrow();
    expect(row).toEqual({ state: 'pending', lease_owner: null, attempts: 0, last_error: null });
    expect((await new ClaimQueue(store.db, INBOX_QUEUE).claim(owner, 5, 60_000)).claimed).toHaveLength(1);
  });

  it('takes back a live lease of its own for the rows retakeOwn names, and by default for all', async () => {
    const store = await open();
    const now = Date.now();
    await queueRows(store, 2, now);
    const owner = newLeaseOwner();
    await store.db
      .updateTable('callback_inbox')
      .set({ state: 'working', attempts: 1, lease_owner: owner, lease_until: now + 600_000 })
      .execute();
    const ids = (await store.db.selectFrom('callback_inbox').select('id').orderBy('id').execute()).map((r) => Number(r.id));
    const queue = new ClaimQueue(store.db, INBOX_QUEUE);
    const claimedIds = async (options: Parameters<typeof queue.claim>[3]) => (await queue.claim(owner, 5, 60_000, options)).claimed.map((r) => Number(r.id));
    expect(await claimedIds({ retakeOwn: (row) => Number(row.id) === ids[1] })).toEqual([ids[1]]);
    expect(await claimedIds({ retakeOwn: () => false })).toEqual([]);
    expect(await claimedIds({})).toEqual(ids);
  });

  it('reads as many due rows as `scan` says, so rows that live neighbours on this host hold do not hide the rest', async () => {
    const store = await open();
    const now = Date.now();
    await queueRows(store, 3, now);
    const ids = (await store.db.selectFrom('callback_inbox').select('id').orderBy('id').execute()).map((r) => Number(r.id));
    // another owner of this very process: alive, so its leases stand
    await store.db
      .updateTable('callback_inbox')
      .set({ state: 'working', lease_owner: newLeaseOwner(), lease_until: now + 600_000 })
      .where('id', 'in', ids.slice(0, 2))
      .execute();
    const queue = new ClaimQueue(store.db, INBOX_QUEUE);
    const owner = newLeaseOwner();
    expect(await queue.claim(owner, 1, 60_000)).toEqual({ claimed: [], heldElsewhere: 2 });
    const { claimed } = await queue.claim(owner, 1, 60_000, { scan: 3 });
    expect(claimed.map((r) => Number(r.id))).toEqual([ids[2]]);
  });
});
