/**
 * `search --from` through the real command: a sender given by id, name, pinyin or initials is
 * resolved through the directory, several matches filter on all of them, an unknown text is refused
 * (exit 2), and every hit carries the sender's name from the directory.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../src/app/logger.ts';
import { reindexSearch } from '../../src/app/search-reindex.ts';
import { DirectoryStore } from '../../src/directory/directory-store.ts';
import { openStore } from '../../src/store/open-store.ts';
import { appOn } from '../support/archive-harness.ts';
import { runCli } from '../support/cli-runner.ts';
import { describeEachDialect } from '../support/databases.ts';
import { messageRow } from '../support/message-rows.ts';

const CORP = 'wwfrom';
const CUSTOMER = 'wmCUSTOMER0000000000';

/** Who sent which message; every message holds 合同. */
const SENT: ReadonlyArray<readonly [msgid: string, from: string]> = [
  ['m1', 'u001'],
  ['m2', 'u001'],
  ['m3', 'u002'],
  ['m4', 'u003'],
  ['m5', CUSTOMER],
  ['m6', 'ghost'],
];
const from = (...senders: string[]) =>
  SENT.filter(([, f]) => senders.includes(f))
    .map(([msgid]) => msgid)
    .sort()
    .reverse();

describeEachDialect('search --from', ({ url }) => {
  let cli: (args: string[]) => ReturnType<typeof runCli>;

  beforeAll(async () => {
    const location = await url();
    const env = { WECOM_ARCHIVE_MASTER_KEY: '05'.repeat(32), WECOM_ARCHIVE_LOG_LEVEL: 'warn', WECOM_ARCHIVE_DATA_DIR: mkdtempSync(join(tmpdir(), 'wa-search-from-')) };
    cli = (args) => runCli(['--db', location, 'search', '--corp', CORP, ...args], { cwd: tmpdir(), env });
    const store = await openStore(location);
    try {
      const dir = new DirectoryStore(store.db, store.dialect);
      await dir.replaceMembers(CORP, [
        { userid: 'u001', name: '张三' },
        { userid: 'u002', name: '赵四' },
        { userid: 'u003', name: '张三丰' },
      ]);
      await dir.upsertExternal(CORP, { externalUserId: CUSTOMER, name: 'Alice王', type: 1, corpName: null, corpFullName: null, position: null, followUsers: [] }, 'sync');
      await store.db
        .insertInto('messages')
        .values(
          SENT.map(([msgid, sender], i) => ({
            ...messageRow({
              corpid: CORP,
              msgid,
              seq: BigInt(i + 1),
              msgtime: 1_800_000_000_000 + i,
              raw: Buffer.from(JSON.stringify({ msgid, action: 'send', from: sender, tolist: ['x'], msgtype: 'text', text: { content: `第${i}份合同` } })),
            }),
            from_id: sender,
          })),
        )
        .execute();
      await reindexSearch(appOn(store), createLogger('silent'), CORP, new AbortController().signal, () => undefined);
    } finally {
      await store.close();
    }
  });

  const found = async (args: string[]) => {
    const run = await cli(['--json', ...args, '合同']);
    expect(run.code, run.stderr).toBe(0);
    const hits = run.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    return { msgids: hits.map((h) => h.msgid), hits, stderr: run.stderr };
  };

  it('finds 张三 by name, pinyin and initials, and by id, with the sender name in every hit', async () => {
    const byName = await found(['--from', '张三']);
    // the exact name wins over 张三丰, whose name only starts with it
    expect(byName.msgids).toEqual(from('u001'));
    expect(byName.stderr).toContain('from: 张三 (u001)');
    expect(byName.hits.every((h) => h.from === 'u001' && h.from_name === '张三')).toBe(true);
    expect((await found(['--from', 'zhangsan'])).msgids).toEqual(from('u001'));
    expect((await found(['--from', 'Zhang San'])).msgids).toEqual(from('u001'));
    expect((await found(['--from', 'u001'])).msgids).toEqual(from('u001'));
    // a prefix of the pinyin takes everyone it starts: 张三 and 张三丰
    expect((await found(['--from', 'zhangs'])).msgids).toEqual(from('u001', 'u003'));

    const table = await cli(['--from', 'zhangsan', '合同']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain('张三 (u001)');
    expect(table.stdout).toContain('【合同】');
  });

  it('filters on every person ambiguous initials stand for, and says who on stderr', async () => {
    // 张三 and 赵四 are both zs; 张三丰 (zsf) only starts with it and is left out
    const zs = await found(['--from', 'zs']);
    expect(zs.msgids).toEqual(from('u001', 'u002'));
    expect(zs.stderr).toContain('from: 张三 (u001), 赵四 (u002)');
    expect(new Set(zs.hits.map((h) => h.from_name))).toEqual(new Set(['张三', '赵四']));
  });

  it('finds a customer by a Latin name, and a sender the directory never saw by id', async () => {
    const alice = await found(['--from', 'alice']);
    expect(alice.msgids).toEqual(from(CUSTOMER));
    expect(alice.hits[0]).toMatchObject({ from: CUSTOMER, from_name: 'Alice王' });
    const ghost = await found(['--from', 'ghost']);
    expect(ghost.msgids).toEqual(from('ghost'));
    expect(ghost.hits[0]).toMatchObject({ from: 'ghost', from_name: null });
    expect(ghost.stderr).toContain('ghost (an id the directory does not know)');
    // without --from every hit still has its sender's name
    const all = await found([]);
    expect(Object.fromEntries(all.hits.map((h) => [h.msgid, h.from_name]))).toEqual({ m1: '张三', m2: '张三', m3: '赵四', m4: '张三丰', m5: 'Alice王', m6: null });
  });

  it('takes from:X in the query as --from X, and several senders as any of them', async () => {
    const inQuery = await cli(['--json', '合同', 'from:zhangsan']);
    expect(inQuery.code, inQuery.stderr).toBe(0);
    const msgids = (run: { stdout: string }) =>
      run.stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).msgid);
    expect(msgids(inQuery)).toEqual(from('u001'));
    expect(inQuery.stderr).toContain('from: 张三 (u001)');
    const both = await cli(['--json', '--from', 'alice', '合同', 'from:赵四']);
    expect(both.code, both.stderr).toBe(0);
    expect(msgids(both)).toEqual(from('u002', CUSTOMER));
    const unknown = await cli(['合同', 'from:nobody']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(`no member or customer of ${CORP} matches "nobody"`);
  });

  it('refuses a sender nobody matches, with exit 2 and a message that says so', async () => {
    for (const text of ['nobody', '李四', '%']) {
      const run = await cli(['--from', text, '合同']);
      expect(run.code, text).toBe(2);
      expect(run.stderr).toContain(`no member or customer of ${CORP} matches "${text}"`);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(run.stdout).toBe('');
    }
  });
});
