import { expect, it } from 'vitest';
import { decryptWaiting } from '../../src/app/decrypt-waiting.ts';
import { exportJsonl } from '../../src/export/export-jsonl.ts';
import { corpStatuses, corpSummaries } from '../../src/status/corp-status.ts';
import { createSimulatorBackend } from '../../src/sdk/simulator-backend.ts';
import { addSimulatorCorp, appOn, archiveOnce, expectArchivedExactly, FAST_TIMING } from '../support/archive-harness.ts';
import { describeEachDialect } from '../support/databases.ts';
import { useSimulators } from '../support/simulators.ts';

const simulator = useSimulators();

describeEachDialect('ingest', ({ open }) => {
  it('archives every message once, exactly, with seq beyond 2^53, and exports it as sent', async () => {
    const app = appOn(await open());
    const sim = await simulator({ messages: 1500, seed: 'ingest-1', seqStart: 2n ** 60n + 7n });
    await addSimulatorCorp(app, sim, { limit: 400 });
    const [progress] = await archiveOnce(app);
    expect(progress).toMatchObject({ state: 'ok', messages: 1500, failures: 0 });
    await expectArchivedExactly(app, sim, 1500);
    // A second run finds nothing new and duplicates nothing.
    await archiveOnce(app);
    await expectArchivedExactly(app, sim, 1500);

    const now = Date.now();
    const [status] = await corpStatuses(app.store.db, now);
    expect(status).toMatchObject({ cursorSeq: (2n ** 60n + 7n + 1499n).toString(), messages: 1500, pending: 0, waiting: [], gaps: { count: 0 } });
    expect(status!.hoursLeft).toBeGreaterThan(119);
    // the web UI's list of corps shows the same of each, read without the status's counts
    const { corpid, state, newestMsgtime, lagMs, hoursLeft, notIndexed } = status!;
    expect(await corpSummaries(app.store.db, now)).toEqual([{ corpid, state, newestMsgtime, lagMs, hoursLeft, notIndexed }]);
    expect(newestMsgtime).toEqual(expect.any(Number));

    let i = 0;
    for await (const line of exportJsonl(app.store.db, sim.corp.corpid)) {
      const sent = sim.plaintextOf(i).toString('utf8');
      const parsed = JSON.parse(line);
      expect(parsed.seq).toBe(sim.seqOf(i).toString());
      expect(parsed._archive.msgid).toBe(sim.msgidOf(i));
      // Every key/value as WeCom sent it: the line starts with the original members, byte for byte
      // (big integers included) once control characters are escaped.
      const original = JSON.parse(sent.replace(/[\u0000-\u001f]/g, ' ').replace(/\s+$/, '')) as object;
      for (const key of Object.keys(original)) expect(parsed).toHaveProperty(key);
      if (!/[\u0000-\u001f]/.test(sent)) expect(line.startsWith(sent.trimEnd().slice(0, -1))).toBe(true);
      i += 1;
    }
    expect(i).toBe(1500);
  });

  it('keeps new-key messages waiting until the key is added, then decrypts them', async () => {
    const app = appOn(await open());
    const sim = await simulator({ messages: 900, seed: 'rotation', keySchedule: '1:0,2:400' });
    await addSimulatorCorp(app, sim, { keyVersions: [1] });
    const [progress] = await archiveOnce(app);
    expect(progress).toMatchObject({ messages: 400, failures: 500 });
    let [status] = await corpStatuses(app.store.db, Date.now());
    expect(status!.waiting).toEqual([
      {
        reason: 'key_missing',
        code: 2,
        count: 500,
        label: 'key version 2 missing',
        retry: 'key',
        nextAttemptAt: null,
        oldestReceivedAt: expect.any(Number),
        age: { underHour: 500, hourToDay: 0, overDay: 0 },
      },
    ]);
    expect(status!.cursorSeq).toBe(sim.seqOf(899).toString());

    await app.keys.add(sim.corp.corpid, 2, sim.privateKeyPems.get(2)!);
    expect(await decryptWaiting(app, sim.corp.corpid)).toEqual({ requeued: 500, messages: 500, failures: 0 });
    await expectArchivedExactly(app, sim, 900);
    [status] = await corpStatuses(app.store.db, Date.now());
    expect(status).toMatchObject({ waiting: [], pending: 0, messages: 900 });
  });

  it('retries SDK faults, slow calls, truncated and errcode responses without losing anything', async () => {
    const app = appOn(await open());
    const sim = await simulator({ messages: 1200, seed: 'faults' });
    await addSimulatorCorp(app, sim, { limit: 100 });
    for (const f of [
      'chatdata:10001x2',
      'chatdata:10002',
      'chatdata:10003',
      'chatdata:delay=300x2',
      'chatdata:truncate',
      'chatdata:errcode=-1',
      'chatdata:errcode=45009',
      'chatdata:disconnect',
      'decrypt:10001x3',
    ]) {
      sim.injectFault(f);
    }
    // DecryptData through the simulator's HTTP route, so the decrypt faults reach it: a call per
    // message, hundreds in flight, each listening for the stop on the drain's own signal
    const warnings: string[] = [];
    const heard = (w: Error) => warnings.push(w.name);
    process.on('warning', heard);
    const [progress] = await archiveOnce(app, FAST_TIMING, (corp) => createSimulatorBackend({ url: sim.url, corpid: corp.corpid, secret: corp.secret, decrypt: 'http' })).finally(
      () => process.off('warning', heard),
    );
    expect(warnings).not.toContain('MaxListenersExceededWarning');
    expect(progress!.state).toBe('ok');
    await expectArchivedExactly(app, sim, 1200);
    expect(sim.sim.faults.list()).toEqual([]);
  });

  it('stops a corp on a configuration error while another corp is archived', async () => {
    const app = appOn(await open());
    const blocked = await simulator({ messages: 50, seed: 'blocked', corpid: 'wwblocked', faults: ['chatdata:10009x*'] });
    const healthy = await simulator({ messages: 300, seed: 'healthy', corpid: 'wwhealthy' });
    await addSimulatorCorp(app, blocked);
    await addSimulatorCorp(app, healthy);
    const progress = await archiveOnce(app);
    expect(progress.find((p) => p.corpid === 'wwblocked')).toMatchObject({ state: 'stopped', messages: 0 });
    expect(progress.find((p) => p.corpid === 'wwblocked')!.lastError).toMatch(/10009.*trusted IPs/);
    await expectArchivedExactly(app, healthy, 300);
    const statuses = await corpStatuses(app.store.db, Date.now());
    expect(statuses.find((s) => s.corpid === 'wwblocked')).toMatchObject({ state: 'stopped', lastErrorCode: 10009 });
  });

  it('records a silent skip past the 5-day window as a gap', async () => {
    const app = appOn(await open());
    // The first run happens 5.5 days ago on WeCom's clock (the archive's runs use the real clock):
    // the archive then stays down while WeCom's clock comes to now.
    const away = 5.5 * 24 * 3600_000;
    const sim = await simulator({ messages: 100, seed: 'gap', freezeClock: true, now: Date.now() - away });
    await addSimulatorCorp(app, sim);
    await archiveOnce(app);
    await app.store.db
      .updateTable('cursors')
      .set((eb) => ({ caught_up_at: eb('caught_up_at', '-', away) }))
      .execute();
    sim.appendGenerated(50); // arrive then ...
    sim.advanceClock(away); // ... and fall out of the window before the next pull
    sim.appendGenerated(20);
    await archiveOnce(app);
    const [status] = await corpStatuses(app.store.db, sim.state().now);
    expect(status!.gaps.count).toBe(1);
    expect(status!.gaps.latest[0]).toMatchObject({ afterSeq: sim.seqOf(99).toString(), nextSeq: sim.seqOf(150).toString() });
    expect(status!.messages).toBe(120);
  });
});
