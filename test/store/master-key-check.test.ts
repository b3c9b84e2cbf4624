import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createApp } from '../../src/app/app.ts';
import type { CommandIo } from '../../src/cli/command.ts';
import { main } from '../../src/cli/main.ts';
import { loadConfig } from '../../src/config/config.ts';
import { openStore } from '../../src/store/open-store.ts';
import { describeEachDialect } from '../support/databases.ts';

const root = mkdtempSync(join(tmpdir(), 'wa-master-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const KEY_A = 'a1'.repeat(32);
const KEY_B = 'b2'.repeat(32);

/** One CLI invocation in this process: its exit code and what it printed. */
async function cli(dbUrl: string, dataDir: string, masterKey: string | undefined, ...argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const env: Record<string, string> = { WECOM_ARCHIVE_DB: dbUrl, WECOM_ARCHIVE_DATA_DIR: dataDir, WECOM_ARCHIVE_LOG_LEVEL: 'silent' };
  if (masterKey !== undefined) env.WECOM_ARCHIVE_MASTER_KEY = masterKey;
  const io: CommandIo = { out: (l) => lines.push(l), err: (l) => lines.push(l), stdout: process.stdout, cwd: dataDir, env, signal: new AbortController().signal };
  const code = await main(argv, io);
  return { code, out: lines.join('\n') };
}

const addCorp = (corpid: string) => ['corp', 'add', '--corpid', corpid, '--secret', `secret-${corpid}`, '--sdk', 'simulator:http://127.0.0.1:9100'];

describeEachDialect('master key check', ({ url }) => {
  it("refuses a master key from the environment that did not seal the database's secrets", async () => {
    const dbUrl = await url();
    const dataDir = mkdtempSync(join(root, 'env-'));
    expect((await cli(dbUrl, dataDir, KEY_A, ...addCorp('ww1'))).code).toBe(0);
    const wrong = await cli(dbUrl, dataDir, KEY_B, ...addCorp('ww2'));
    expect(wrong.out).toMatch(/WECOM_ARCHIVE_MASTER_KEY is not the master key the secrets in .* were sealed with; nothing was changed\. Set WECOM_ARCHIVE_MASTER_KEY to the key/);
    expect(wrong.out).not.toContain(KEY_B);
    expect(wrong.code).toBe(2);
    const listed = await cli(dbUrl, dataDir, KEY_A, 'corp', 'list', '--json');
    expect(JSON.parse(listed.out).map((c: { corpid: string }) => c.corpid)).toEqual(['ww1']);
  });

  it('never creates a new key file while the database holds sealed secrets or a check value', async () => {
    const dbUrl = await url();
    const dataDir = mkdtempSync(join(root, 'file-'));
    const keyFile = join(dataDir, 'master.key');
    expect((await cli(dbUrl, dataDir, undefined, ...addCorp('ww1'))).code).toBe(0);
    const original = readFileSync(keyFile, 'utf8').trim();
    rmSync(keyFile);
    const lost = await cli(dbUrl, dataDir, undefined, ...addCorp('ww2'));
    expect(lost.out).toMatch(/master key file .*master\.key does not exist, but the database holds secrets sealed with a master key\. Restore master\.key from backup/);
    expect(lost.code).toBe(2);
    expect(existsSync(keyFile)).toBe(false);
    // another key file is refused as well
    writeFileSync(keyFile, `${KEY_B}\n`, { mode: 0o600 });
    expect((await cli(dbUrl, dataDir, undefined, 'corp', 'list')).out).toMatch(/the master key file .*master\.key is not the master key .* Restore the original master\.key/);
    // the original key, given in the environment, still opens everything
    const listed = await cli(dbUrl, dataDir, original, 'corp', 'list', '--json');
    expect(JSON.parse(listed.out).map((c: { corpid: string }) => c.corpid)).toEqual(['ww1']);
  });

  it('gives a database made before check values one, from a key that opens its secrets', async () => {
    const dbUrl = await url();
    const dataDir = mkdtempSync(join(root, 'legacy-'));
    const store = await openStore(dbUrl);
    const app = createApp(loadConfig({}, {}, dataDir), store, Buffer.from(KEY_A, 'hex'));
    await app.corps.add({
      corpid: 'wwold',
      secret: 'old-secret',
      sdk: { kind: 'simulator', url: 'http://127.0.0.1:9100' },
      proxy: null,
      proxyAuth: null,
      limit: 1000,
      timeoutS: 10,
    });
    expect(await store.db.selectFrom('vault_checks').selectAll().execute()).toEqual([]);
    const wrong = await cli(dbUrl, dataDir, KEY_B, 'corp', 'list');
    expect(wrong.out).toMatch(/is not the master key the secrets/);
    expect(await store.db.selectFrom('vault_checks').selectAll().execute()).toEqual([]);
    expect((await cli(dbUrl, dataDir, KEY_A, 'corp', 'list')).code).toBe(0);
    expect(await store.db.selectFrom('vault_checks').select('name').execute()).toEqual([{ name: 'master_key' }]);
    // once stored, the check value alone refuses another key
    await store.db.deleteFrom('corps').execute();
    expect((await cli(dbUrl, dataDir, KEY_B, 'corp', 'list')).code).toBe(2);
    expect((await cli(dbUrl, dataDir, KEY_A, 'corp', 'list')).code).toBe(0);
    await store.close();
  });
});
