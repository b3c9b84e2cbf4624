import { readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { expect, it } from 'vitest';
import { CorpRegistry } from '../../src/corps/corp-registry.ts';
import { openStore } from '../../src/store/open-store.ts';
import { decodeSeq, encodeSeq, SEQ_MAX } from '../../src/store/seq-codec.ts';
import { KeyVault } from '../../src/vault/key-vault.ts';
import { describeEachDialect } from '../support/databases.ts';

const MASTER = Buffer.alloc(32, 7);
const SECRET = 'archive-secret-Zq81xW0pL';

const corp = (corpid: string) => ({
  corpid,
  secret: SECRET,
  sdk: { kind: 'simulator' as const, url: 'http://127.0.0.1:9100' },
  proxy: null,
  proxyAuth: 'alice:proxy-pass-77',
  limit: 500,
  timeoutS: 5,
});

/** A stored envelope, not decrypted yet, with placeholder key and body. */
const pendingEnvelope = (corpid: string, msgid: string, seq: bigint, publickeyVer: number, now: number) => ({
  corpid,
  msgid,
  seq: encodeSeq(seq),
  publickey_ver: publickeyVer,
  encrypt_random_key: 'k',
  encrypt_chat_msg: 'c',
  state: 'pending' as const,
  reason: null,
  reason_code: null,
  reason_detail: null,
  attempts: 0,
  received_at: now,
  updated_at: now,
});

describeEachDialect('store', ({ dialect, open, url }) => {
  it('round-trips seq values beyond 2^53 exactly and orders them numerically', async () => {
    const store = await open();
    const seqs = [0n, 1n, 9007199254740993n, (1n << 63n) + 5n, SEQ_MAX - 1n, SEQ_MAX];
    const now = Date.now();
    for (const [i, seq] of seqs.entries()) {
      await store.db
        .insertInto('envelopes')
        .values(pendingEnvelope('wwseq', `m${i}`, seq, 1, now))
        .execute();
    }
    const rows = await store.db
      .selectFrom('envelopes')
      .select(['msgid', 'seq'])
      .where('corpid', '=', 'wwseq')
      .where('seq', '>', encodeSeq(9007199254740992n))
      .orderBy('seq', 'desc')
      .execute();
    expect(rows.map((r) => decodeSeq(r.seq))).toEqual([SEQ_MAX, SEQ_MAX - 1n, (1n << 63n) + 5n, 9007199254740993n]);
  });

  it('keeps msgids case-sensitive and skips duplicates without touching the stored row', async () => {
    const store = await open();
    const now = Date.now();
    const row = (msgid: string, ver: number) => pendingEnvelope('wwdup', msgid, 1n, ver, now);
    await store.db
      .insertInto('envelopes')
      .values([row('AbC=', 1), row('abc=', 1)])
      .execute();
    await store.dialect.ignoreDuplicates(store.db.insertInto('envelopes').values(row('AbC=', 9)), ['corpid', 'msgid']).execute();
    const rows = await store.db.selectFrom('envelopes').select(['msgid', 'publickey_ver']).where('corpid', '=', 'wwdup').orderBy('msgid').execute();
    expect(rows).toEqual([
      { msgid: 'AbC=', publickey_ver: 1 },
      { msgid: 'abc=', publickey_ver: 1 },
    ]);
  });

  it('stores corps with sealed secrets and gives them back opened', async () => {
    const store = await open();
    const registry = new CorpRegistry(store.db, MASTER);
    await registry.add(corp('ww01'));
    await registry.add(corp('ww02'));
    await expect(registry.add(corp('ww01'))).rejects.toThrow(/already configured/);
    expect((await registry.list()).map((c) => [c.corpid, c.limit, c.hasProxyAuth])).toEqual([
      ['ww01', 500, true],
      ['ww02', 500, true],
    ]);
    expect(await registry.get('ww02')).toEqual(corp('ww02'));
    const raw = await store.db.selectFrom('corps').select(['secret_sealed', 'proxy_auth_sealed']).where('corpid', '=', 'ww01').executeTakeFirstOrThrow();
    expect(raw.secret_sealed).toMatch(/^v1:/);
    expect(raw.secret_sealed).not.toContain(SECRET);
    await expect(new CorpRegistry(store.db, Buffer.alloc(32, 8)).get('ww01')).rejects.toThrow(/master key does not match/);
    const cursor = await store.db.selectFrom('cursors').selectAll().where('corpid', '=', 'ww01').executeTakeFirstOrThrow();
    expect(decodeSeq(cursor.seq)).toBe(0n);
    await registry.remove('ww02');
    await expect(registry.get('ww02')).rejects.toThrow(/not configured/);
    await expect(registry.remove('ww02')).rejects.toThrow(/not configured/);
  });

  it("refuses a secret with a line break and a missing SDK library before storing anything, and never shows a URL's credentials", async () => {
    const store = await open();
    const registry = new CorpRegistry(store.db, MASTER);
    await expect(registry.add({ ...corp('wwbad'), secret: `${SECRET}\n` })).rejects.toThrow(/--secret holds a line break/);
    await expect(registry.add({ ...corp('wwbad'), proxyAuth: 'alice:pass\u0007' })).rejects.toThrow(/--proxy-auth holds a control character/);
    await expect(registry.add({ ...corp('wwbad'), sdk: { kind: 'native', path: '/nonexistent.so' } })).rejects.toThrow(/native:\/nonexistent\.so: no such file/);
    expect(await store.db.selectFrom('corps').select('corpid').execute()).toEqual([]);
    // a simulator URL with credentials stored before they were refused: listed and loaded without them
    await registry.add(corp('wwold'));
    await store.db.updateTable('corps').set({ sdk: 'simulator:http://user:pw-secret-5@127.0.0.1:9100' }).where('corpid', '=', 'wwold').execute();
    expect(JSON.stringify(await registry.list())).not.toContain('pw-secret-5');
    expect((await registry.get('wwold')).sdk).toEqual({ kind: 'simulator', url: 'http://127.0.0.1:9100' });
  });

  it('keeps key versions forever, refuses a different key for a taken version, and opens them', async () => {
    const store = await open();
    const registry = new CorpRegistry(store.db, MASTER);
    const vault = new KeyVault(store.db, MASTER);
    await expect(vault.generate('ww404')).rejects.toThrow(/not configured/);
    await registry.add(corp('wwkeys'));
    const first = await vault.generate('wwkeys');
    const second = await vault.generate('wwkeys');
    expect([first.version, second.version]).toEqual([1, 2]);
    expect(first.publicKeyPem).toContain('BEGIN PUBLIC KEY');
    const keys = await vault.privateKeys('wwkeys');
    expect([...keys.keys()].sort()).toEqual([1, 2]);
    const pem = keys.get(1)!.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(await vault.add('wwkeys', 1, pem)).toMatchObject({ added: false, version: 1 });
    await expect(vault.add('wwkeys', 2, pem)).rejects.toThrow(/different key for version 2/);
    const listed = await vault.list('wwkeys');
    expect(listed.map((k) => [k.version, k.bits, k.fingerprint])).toEqual([
      [1, 2048, first.fingerprint],
      [2, 2048, second.fingerprint],
    ]);
    expect(JSON.stringify(listed)).not.toMatch(/PRIVATE|MII/);
  });

  if (dialect === 'sqlite') {
    it('leaves no secret readable in the database files', async () => {
      const dbUrl = await url();
      const store = await openStore(dbUrl);
      const registry = new CorpRegistry(store.db, MASTER);
      const vault = new KeyVault(store.db, MASTER);
      await registry.add(corp('wwfile'));
      await vault.generate('wwfile');
      const pem = (await vault.privateKeys('wwfile')).get(1)!.export({ type: 'pkcs8', format: 'der' }) as Buffer;
      await store.close();
      const dir = dirname(dbUrl.slice('sqlite:'.length));
      const bytes = Buffer.concat(readdirSync(dir).map((f) => readFileSync(`${dir}/${f}`)));
      expect(bytes.length).toBeGreaterThan(10_000);
      for (const needle of [SECRET, 'proxy-pass-77', pem.subarray(40, 72).toString('base64'), 'PRIVATE KEY']) {
        expect(bytes.includes(Buffer.from(needle)), needle).toBe(false);
      }
      expect(bytes.includes(Buffer.from('wwfile'))).toBe(true);
    });
  }
});
