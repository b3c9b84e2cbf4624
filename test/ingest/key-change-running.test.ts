import { expect, it } from 'vitest';
import { DecryptStage, KEY_CHANGE_GRACE_MS } from '../../src/decrypt/decrypt-stage.ts';
import { RsaPool } from '../../src/decrypt/rsa-pool.ts';
import { createBackend } from '../../src/sdk/create-backend.ts';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.ts';
import { addSimulatorCorp, appOn, archiveOnce, expectArchivedExactly, wrongKeyPem } from '../support/archive-harness.ts';
import { useCleanups } from '../support/cleanups.ts';
import { describeEachDialect } from '../support/databases.ts';

const defer = useCleanups();

/**
 * A running archive holds its keys in its RSA workers. When `keys replace` runs in another process,
 * the envelopes it queues again must not be tried with the replaced key and then left waiting.
 */
describeEachDialect('decrypt: a key replaced while an archive runs', ({ open }) => {
  async function setUp(seed: string) {
    const app = appOn(await open());
    const sim: RunningSimulator = await startSimulator({ messages: 40, seed });
    defer(() => sim.close());
    const corpid = sim.corp.corpid;
    await addSimulatorCorp(app, sim, { keyVersions: [] });
    await app.keys.add(corpid, 1, wrongKeyPem());
    const backend = createBackend(await app.corps.get(corpid));
    const rsa = new RsaPool();
    defer(
      () => backend.close(),
      () => rsa.close(),
    );
    let clock = Date.now();
    const stage = new DecryptStage({ db: app.store.db, dialect: app.store.dialect, backend, rsa, now: () => clock, loadKeys: (id) => app.keys.privateKeys(id) });
    return {
      app,
      sim,
      corpid,
      stage,
      advance: (ms: number) => {
        clock += ms;
      },
    };
  }

  it('a drain notices the replacement and loads the new key before trying the envelopes again', async () => {
    const { app, sim, corpid, stage, advance } = await setUp('key-change-drain');
    // the archive pulls and tries everything with the wrong key; this stage loads it too
    await archiveOnce(app);
    await stage.requeue(corpid);
    await stage.drain(corpid);
    const waitingBefore = await app.store.db
      .selectFrom('envelopes')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('corpid', '=', corpid)
      .where('reason', '=', 'rsa_failed')
      .executeTakeFirstOrThrow();
    expect(Number(waitingBefore.n)).toBe(40);

    // another process replaces the key (and queues the envelopes again); this stage still holds the old one
    const replaced = await app.keys.replace(corpid, 1, sim.privateKeyPems.get(1)!);
    expect(replaced.requeued).toBe(40);
    advance(1_500);
    const result = await stage.drain(corpid);
    expect(result).toMatchObject({ messages: 40, failures: 0 });
    await expectArchivedExactly(app, sim, 40);
  });

  it('requeue takes up envelopes that failed with the old key just after the replacement, and not later ones nor transient ones', async () => {
    const { app, sim, corpid, stage } = await setUp('key-change-requeue');
    await archiveOnce(app);
    await app.keys.replace(corpid, 1, sim.privateKeyPems.get(1)!);
    const key = await app.store.db.selectFrom('key_versions').select('created_at').where('corpid', '=', corpid).where('version', '=', 1).executeTakeFirstOrThrow();
    const storedAt = Number(key.created_at);
    // as a process that had not yet seen the new key would leave them: some failed a second after the
    // replacement, half long after it (a key that is really wrong: not retried again and again)
    const rows = await app.store.db.selectFrom('envelopes').select('msgid').where('corpid', '=', corpid).orderBy('seq').execute();
    const early = rows.slice(0, 15).map((r) => r.msgid);
    const transient = rows.slice(15, 20).map((r) => r.msgid);
    const late = rows.slice(20).map((r) => r.msgid);
    await app.store.db
      .updateTable('envelopes')
      .set({ state: 'waiting', reason: 'rsa_failed', next_attempt_at: null, updated_at: storedAt + 1_000 })
      .where('corpid', '=', corpid)
      .where('msgid', 'in', early)
      .execute();
    await app.store.db
      .updateTable('envelopes')
      .set({ state: 'waiting', reason: 'rsa_failed', next_attempt_at: null, updated_at: storedAt + KEY_CHANGE_GRACE_MS + 1 })
      .where('corpid', '=', corpid)
      .where('msgid', 'in', late)
      .execute();

    // a transient failure at the same time keeps its backoff: it is due later, whatever the key
    await app.store.db
      .updateTable('envelopes')
      .set({ state: 'waiting', reason: 'sdk_error', reason_code: 10003, next_attempt_at: storedAt + 3_600_000, updated_at: storedAt + 1_000 })
      .where('corpid', '=', corpid)
      .where('msgid', 'in', transient)
      .execute();

    expect(await stage.requeue(corpid)).toBe(15);
    expect(await stage.drain(corpid)).toMatchObject({ messages: 15, failures: 0 });
    const archived = await app.store.db.selectFrom('messages').select('msgid').where('corpid', '=', corpid).execute();
    expect(archived.map((m) => m.msgid).sort()).toEqual([...early].sort());
  });
});
