/**
 * The audit log on every database: two writer processes append at once and form one unbroken chain; a row changed, removed or cut off in SQL breaks the
 * chain at that row, and verify names it; rows are exported by time.
 */
import { spawn } from 'node:child_process';
import { sql } from 'kysely';
import { afterAll, expect, it } from 'vitest';
import { AuditLog, auditRowHash } from '../../src/access/audit-log.ts';
import type { AuditEntry } from '../../src/access/caller.ts';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { describeEachDialect } from '../support/databases.ts';

const TSX = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).pathname;
const WRITER = new URL('./audit-writer.ts', import.meta.url).pathname;

function entry(i: number, writer: string): AuditEntry {
  return {
    userId: i,
    username: `${writer}-user`,
    role: 'viewer',
    action: 'messages.read',
    corpid: 'wwA',
    conversation: 'room:wr1',
    query: { writer, i, filters: { z: 1, a: [2, 'b'] } },
    items: i % 7,
    reason: i % 2 ? `case ${i}` : undefined,
    ip: '10.0.0.1',
    userAgent: 'Mozilla/5.0',
    requestId: `req-${writer}-${i}`,
  };
}

describeEachDialect('audit log', ({ url }) => {
  let a: Store;
  afterAll(async () => {
    await a?.close();
  });

  it('keeps one chain when two processes append 100 rows at once', async () => {
    const dbUrl = await url();
    // migrate first, so the two writers do not race to create the schema
    a = await openStore(dbUrl);
    const writers = ['a', 'b'].map(
      (writer) =>
        new Promise<void>((resolve, reject) => {
          const child = spawn(process.execPath, ['--import', TSX, WRITER, dbUrl, writer, '50'], { stdio: ['ignore', 'ignore', 'pipe'] });
          let stderr = '';
          child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
          child.on('error', reject);
          child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer ${writer} exited with ${code}: ${stderr}`))));
        }),
    );
    await Promise.all(writers);
    const log = new AuditLog(a.db);
    expect(await log.verify()).toEqual({ ok: true, rows: 100 });
    const rows = await a.db.selectFrom('audit_log').select(['id', 'username']).orderBy('id').execute();
    expect(rows.map((r) => Number(r.id))).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(rows.filter((r) => r.username === 'a-user')).toHaveLength(50);
    expect(rows.filter((r) => r.username === 'b-user')).toHaveLength(50);
  });

  it('names the row changed in SQL, or the next one when the changed row’s hash was made anew', async () => {
    const log = new AuditLog(a.db);
    await sql`UPDATE audit_log SET items = items + 1 WHERE id = 37`.execute(a.db);
    expect(await log.verify()).toMatchObject({ ok: false, brokenId: 37, rows: 36, why: expect.stringMatching(/content/) });
    await sql`UPDATE audit_log SET items = items - 1 WHERE id = 37`.execute(a.db);
    expect(await log.verify()).toEqual({ ok: true, rows: 100 });

    // whoever rewrites a row and makes its hash again breaks the link of the row after it
    const before = await a.db.selectFrom('audit_log').selectAll().where('id', '=', 60).executeTakeFirstOrThrow();
    const forged = { ...before, id: Number(before.id), at: Number(before.at), user_id: Number(before.user_id), items: Number(before.items), reason: 'nothing to see' };
    await sql`UPDATE audit_log SET reason = ${forged.reason}, hash = ${auditRowHash(forged)} WHERE id = 60`.execute(a.db);
    expect(await log.verify()).toMatchObject({ ok: false, brokenId: 61, why: expect.stringMatching(/previous hash/) });
    await sql`UPDATE audit_log SET reason = NULL, hash = ${before.hash} WHERE id = 60`.execute(a.db);
    expect(await log.verify()).toEqual({ ok: true, rows: 100 });
  });

  it('exports the rows of a time range in order, hostile text stored as it reads back', async () => {
    const store = a;
    {
      // after the writers' rows (written at the real time), so the range holds only these
      let t = 4_000_000_000_000;
      const log = new AuditLog(store.db, { now: () => (t += 1000) });
      for (let i = 0; i < 4; i++) await log.record(entry(i, 'd'));
      // NUL, a lone surrogate, a huge user agent: stored cut and cleaned, and the chain still verifies
      await log.record({ ...entry(9, 'd'), userAgent: `bad\u0000agent\uD800${'x'.repeat(5000)}`, reason: '理由 \uDC00' });
      expect(await log.verify()).toEqual({ ok: true, rows: 105 });
      const rows = [];
      for await (const row of log.rowsBetween(4_000_000_003_000, 4_000_000_005_000)) rows.push(row);
      expect(rows.map((r) => [r.id, r.at])).toEqual([
        [103, 4_000_000_003_000],
        [104, 4_000_000_004_000],
      ]);
      expect(JSON.parse(rows[0]!.query!)).toEqual({ filters: { a: [2, 'b'], z: 1 }, i: 2, writer: 'd' });
      const last = [];
      for await (const row of log.rowsBetween(4_000_000_005_000, undefined)) last.push(row);
      expect(last).toHaveLength(1);
      expect(last[0]!.user_agent).toMatch(/^bad\uFFFDagent\uFFFDx+$/);
      expect(last[0]!.user_agent).toHaveLength(512);
      expect(last[0]!.reason).toBe('理由 \uFFFD');
      await expect(log.record({ ...entry(1, 'd'), action: '' })).rejects.toMatchObject({ code: 'AUDIT_ENTRY_INVALID' });
    }
  });

  it('names the first missing row when rows are removed, also at the end', async () => {
    const log = new AuditLog(a.db);
    await sql`DELETE FROM audit_log WHERE id = 80`.execute(a.db);
    expect(await log.verify()).toMatchObject({ ok: false, brokenId: 80, why: 'row 80 is missing' });
    await sql`DELETE FROM audit_log WHERE id >= 80`.execute(a.db);
    expect(await log.verify()).toMatchObject({ ok: false, brokenId: 80, rows: 79, why: expect.stringMatching(/head says 105 rows/) });
  });
});
