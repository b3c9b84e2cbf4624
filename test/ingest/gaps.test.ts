/**
 * Gaps told apart, on every database, with the simulator's window and its silent skip: a jump in
 * seq while the cursor is well inside WeCom's 5-day window is recorded as a seq jump (WeCom does not
 * promise contiguous seqs), a jump when the cursor was older than the window, or within
 * GAP_LOSS_MARGIN_MS of its edge, as a loss. The simulator stands in for both by keeping its data
 * for a shorter time than WeCom: a jump after a few hours is what a non-contiguous seq looks like.
 * The archive's clock is the simulator's, as WeCom's and the archive's clocks are one real time.
 */
import { expect, it } from 'vitest';
import { status as statusCommand } from '../../src/cli/commands/status.ts';
import type { CommandIo } from '../../src/cli/command.ts';
import { GAP_LOSS_MARGIN_MS, WECOM_RETENTION_MS } from '../../src/pull/gap-kind.ts';
import { pullPage } from '../../src/pull/pull-page.ts';
import { createSimulatorBackend } from '../../src/sdk/simulator-backend.ts';

import { migrateStore, openStore, type Store } from '../../src/store/open-store.ts';
import { encodeSeq } from '../../src/store/seq-codec.ts';
import { corpStatuses } from '../../src/status/corp-status.ts';
import { openStoreMigratedTo } from '../support/older-schema.ts';
import { addSimulatorCorp, appOn } from '../support/archive-harness.ts';
import { describeEachDialect } from '../support/databases.ts';
import { messageRow } from '../support/message-rows.ts';
import { useSimulators } from '../support/simulators.ts';

const H = 3600_000;
const simulator = useSimulators();

/**
 * Pulls 100 messages (caught up), lets `advanceMs` pass with 50 more arriving at its start, then
 * pulls again: the simulator, keeping data for `retentionMs`, has dropped those 50 by then.
 */
async function jumpAfter(store: Store, seed: string, retentionMs: number, advanceMs: number) {
  const sim = await simulator({ messages: 100, spanMs: H, seed, freezeClock: true, retentionMs, corpid: `ww${seed}` });
  const app = appOn(store);
  await addSimulatorCorp(app, sim);
  const corp = await app.corps.get(sim.corp.corpid);
  const deps = {
    db: store.db,
    dialect: store.dialect,
    backend: createSimulatorBackend({ url: sim.url, corpid: corp.corpid, secret: corp.secret }),
    now: () => sim.sim.clock.now(),
  };
  try {
    expect(await pullPage(deps, corp)).toMatchObject({ stored: 100, full: false, gaps: 0 });
    sim.appendGenerated(50);
    sim.advanceClock(advanceMs);
    sim.appendGenerated(20);
    const page = await pullPage(deps, corp);
    expect(page.stored).toBe(20);
    const status = (await corpStatuses(store.db, sim.sim.clock.now())).find((s) => s.corpid === corp.corpid)!;
    return { sim, page, status };
  } finally {
    await deps.backend.close();
  }
}

function statusText(store: Store): Promise<string> {
  const lines: string[] = [];
  const io = { out: (line: string) => lines.push(line) } as unknown as CommandIo;
  return statusCommand.run({ app: { store } as never, values: {}, io } as never).then(() => lines.join('\n'));
}

describeEachDialect('gaps', ({ open, url }) => {
  it('records a jump while the cursor is hours old as a seq jump, not a loss, and status raises no alarm', async () => {
    const store = await open();
    const { sim, page, status } = await jumpAfter(store, 'gapjump', 2 * H, 3 * H);
    expect(page).toMatchObject({ gaps: 0, seqJumps: 1 });
    expect(status.gaps).toEqual({ count: 0, latest: [] });
    expect(status.seqJumps).toMatchObject({ count: 1, latest: [{ afterSeq: sim.seqOf(99).toString(), nextSeq: sim.seqOf(150).toString(), cursorAgeMs: 3 * H }] });
    expect(status.seqJumps.latest[0]!.note).toMatch(/^seq jumped by 50 between \d+ and \d+ while the cursor was 3 h old, well inside the window/);
    const text = await statusText(store);
    expect(text).not.toContain('GAPS');
    expect(text).toContain('seq jumps: 1 while the cursor was inside the 5-day window (nothing lost)');
  });

  it('records a jump when the cursor was older than the 5-day window as a loss, shown as a gap', async () => {
    const store = await open();
    const { sim, page, status } = await jumpAfter(store, 'gaploss', WECOM_RETENTION_MS, 5.5 * 24 * H);
    expect(page).toMatchObject({ gaps: 1, seqJumps: 0 });
    expect(status.seqJumps).toEqual({ count: 0, latest: [] });
    expect(status.gaps).toMatchObject({ count: 1, latest: [{ afterSeq: sim.seqOf(99).toString(), nextSeq: sim.seqOf(150).toString(), cursorAgeMs: 5.5 * 24 * H }] });
    expect(status.gaps.latest[0]!.note).toMatch(
      /^WeCom skipped 50 seq value\(s\) between \d+ and \d+ while the cursor was 5 d 12 h old: messages older than the 5-day window are gone$/,
    );
    expect(await statusText(store)).toContain('GAPS: 1 — WeCom skipped data that fell out of its 5-day window');
  });

  it(`takes a jump within ${GAP_LOSS_MARGIN_MS / H} h of the window's edge for a loss, and one just before that margin for a seq jump`, async () => {
    const store = await open();
    const edge = WECOM_RETENTION_MS - GAP_LOSS_MARGIN_MS;
    const near = await jumpAfter(store, 'gapnear', edge, edge + H);
    expect(near.page).toMatchObject({ gaps: 1, seqJumps: 0 });
    const before = await jumpAfter(store, 'gapbefore', edge - 2 * H, edge - H);
    expect(before.page).toMatchObject({ gaps: 0, seqJumps: 1 });
  });

  it('classifies gaps recorded before from the archived message at the cursor, and leaves the rest losses', async () => {
    const location = await url();
    const { store: early, db } = await openStoreMigratedTo(location, '0006-pull-lease');
    const at = 1_800_000_000_000;
    const message = (seq: bigint, msgtime: number) => messageRow({ corpid: 'wwold', msgid: `m${seq}`, seq, msgtime, createdAt: at });
    await db
      .insertInto('messages')
      .values([message(10n, at - H), message(30n, at - 5.5 * 24 * H)])
      .execute();
    const gap = (after: bigint, next: bigint) => ({
      corpid: 'wwold',
      after_seq: encodeSeq(after),
      next_seq: encodeSeq(next),
      detected_at: at,
      note: 'WeCom skipped …: messages older than the 5-day window are gone',
    });
    // an hour-old cursor message: a jump; a 5.5-day-old one, and one never archived: losses
    await db
      .insertInto('gaps')
      .values([gap(10n, 20n), gap(30n, 40n), gap(50n, 60n)])
      .execute();
    await early.close();

    const store = await openStore(location, { migrate: false });
    try {
      expect(await migrateStore(store)).toContain('0009-gap-kinds-refresh-lease');
      const rows = await store.db.selectFrom('gaps').select(['after_seq', 'kind', 'cursor_age_ms', 'note']).orderBy('id').execute();
      expect(rows.map((r) => [Number(r.after_seq), r.kind, r.cursor_age_ms === null ? null : Number(r.cursor_age_ms)])).toEqual([
        [10, 'jump', H],
        [30, 'loss', 5.5 * 24 * H],
        [50, 'loss', null],
      ]);
      expect(rows[0]!.note).toMatch(/^seq jumped while the cursor was well inside the 5-day window/);
      expect(rows[1]!.note).toContain('messages older than the 5-day window are gone');
    } finally {
      await store.close();
    }
  });
});
