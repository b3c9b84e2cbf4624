import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { App } from '../../src/app/app.ts';
import type { Command } from '../../src/cli/command.ts';
import { keysAdd, keysReplace } from '../../src/cli/commands/keys.ts';
import { loadConfig } from '../../src/config/config.ts';
import { ArchiveError } from '../../src/errors/errors.ts';
import { corpStatuses } from '../../src/status/corp-status.ts';
import { parseRsaPrivateKey, publicKeyFingerprint } from '../../src/vault/rsa-key.ts';
import { addSimulatorCorp, appOn, archiveOnce, expectArchivedExactly, wrongKeyPem } from '../support/archive-harness.ts';
import { describeEachDialect } from '../support/databases.ts';
import { useSimulators } from '../support/simulators.ts';

const dir = mkdtempSync(join(tmpdir(), 'wa-keys-'));
const simulator = useSimulators();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a keys command as the CLI does; what it printed, and the error it exits with, if any. */
async function cli(app: App, command: Command, values: Record<string, string | boolean>): Promise<{ out: string; err: string; error?: ArchiveError }> {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l), stdout: process.stdout, cwd: dir, env: {}, signal: new AbortController().signal };
  try {
    await command.run({ app, config: loadConfig({ 'log-level': 'silent' }, {}, dir), values, positionals: [], io });
    return { out: out.join('\n'), err: err.join('\n') };
  } catch (e) {
    if (!(e instanceof ArchiveError)) throw e;
    return { out: out.join('\n'), err: err.join('\n'), error: e };
  }
}

function pemFile(name: string, pem: string): string {
  const file = join(dir, `${name}-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(file, pem);
  return file;
}

describeEachDialect('keys: a wrong key is found and replaced', ({ open }) => {
  it("warns when a key opens none of its version's envelopes, replaces it, decrypts everything, and keeps the history", async () => {
    const app = appOn(await open());
    const sim = await simulator({ messages: 120, seed: 'wrong-key' });
    const corpid = sim.corp.corpid;
    await addSimulatorCorp(app, sim, { keyVersions: [] });
    expect((await archiveOnce(app))[0]).toMatchObject({ messages: 0, failures: 120 });

    // another corp's key stored as version 1: the check says so, and every message fails with it
    const wrongPem = wrongKeyPem();
    const rightPem = sim.privateKeyPems.get(1)!;
    const added = await cli(app, keysAdd, { corp: corpid, version: '1', file: pemFile('wrong', wrongPem) });
    expect(added.error).toBeUndefined();
    expect(added.err).toMatch(/warning: this key decrypts none of the 8 stored envelope\(s\) of version 1/);
    let [status] = await corpStatuses(app.store.db, Date.now());
    expect(status!.waiting).toEqual([expect.objectContaining({ reason: 'rsa_failed', count: 120 })]);

    // the right key cannot be added over it, and says what to do instead
    const refused = await cli(app, keysAdd, { corp: corpid, version: '1', file: pemFile('right', rightPem) });
    expect(refused.error?.message).toMatch(/already has a different key for version 1 .*keys replace --corp/);

    const replaced = await cli(app, keysReplace, { corp: corpid, version: '1', file: pemFile('right', rightPem) });
    expect(replaced.error).toBeUndefined();
    const wrongFp = publicKeyFingerprint(parseRsaPrivateKey(wrongPem));
    const rightFp = publicKeyFingerprint(parseRsaPrivateKey(rightPem));
    expect(replaced.out).toContain(`key version 1 of ${corpid} replaced: sha256:${wrongFp} → sha256:${rightFp}; 120 waiting envelope(s) queued again`);
    expect(replaced.out).toContain('checked on 8 stored envelope(s) of version 1: decrypts 8');
    expect(replaced.out).toContain('decrypted 120 waiting message(s); 0 still waiting');
    await expectArchivedExactly(app, sim, 120);
    [status] = await corpStatuses(app.store.db, Date.now());
    expect(status).toMatchObject({ waiting: [], pending: 0, messages: 120 });
    expect((await app.keys.list(corpid)).map((k) => k.fingerprint)).toEqual([rightFp]);

    // a key that has decrypted messages is not replaced without --force, which names how many
    const inUse = await cli(app, keysReplace, { corp: corpid, version: '1', file: pemFile('wrong', wrongPem) });
    expect(inUse.error?.code).toBe('KEY_IN_USE');
    expect(inUse.error?.message).toMatch(/has already decrypted 120 message\(s\).*--force/);
    expect((await app.keys.list(corpid)).map((k) => k.fingerprint)).toEqual([rightFp]);
    const forced = await cli(app, keysReplace, { corp: corpid, version: '1', file: pemFile('wrong', wrongPem), force: true });
    expect(forced.error).toBeUndefined();
    expect(forced.err).toMatch(/warning: this key decrypts none of the 8/);
    await expectArchivedExactly(app, sim, 120);

    const history = await app.keys.history(corpid);
    expect(history.map((h) => [h.version, h.oldFingerprint, h.newFingerprint, h.decryptedMessages, h.forced])).toEqual([
      [1, wrongFp, rightFp, 0, false],
      [1, rightFp, wrongFp, 120, true],
    ]);
    const rows = await app.store.db.selectFrom('key_history').selectAll().execute();
    expect(JSON.stringify(rows)).not.toMatch(/PRIVATE|MII/);
    await expect(app.keys.replace(corpid, 2, rightPem)).rejects.toThrow(/has no key of version 2 to replace; add it with/);
  }, 60_000);
});
