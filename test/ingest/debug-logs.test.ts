import { rmSync } from 'node:fs';
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { runArchive } from '../../src/app/archive-runner.ts';
import { startSimulator } from '../../src/simulator/server.ts';
import { FAST_TIMING } from '../support/archive-harness.ts';
import { describeEachDialect } from '../support/databases.ts';
import { addCorp, FAST_MEDIA_POLICY, mediaApp } from '../media/media-support.ts';

const MESSAGES = 250;

interface Line {
  level: number;
  msg: string;
  [field: string]: unknown;
}

describeEachDialect('debug logs of the pull and media stages', ({ open }) => {
  it('say at debug level what each decision was (page and seq range, backoff and why, lease, media job claimed and finished), with no secret or message body', async () => {
    // one transient failure of GetChatData, so a backoff is chosen
    const sim = await startSimulator({ messages: MESSAGES, seed: 'debug-logs', faults: ['chatdata:10001x1'] });
    const store = await open();
    const { app, dataDir } = mediaApp(store);
    const lines: Line[] = [];
    const text: string[] = [];
    const log = pino(
      { level: 'debug', base: undefined },
      {
        write: (line: string) => {
          text.push(line);
          lines.push(JSON.parse(line) as Line);
        },
      },
    );
    try {
      await addCorp(app, sim);
      await app.store.db.updateTable('corps').set({ chat_limit: 100 }).execute();
      await runArchive(app, log, new AbortController().signal, { once: true, timing: FAST_TIMING, mediaPolicy: FAST_MEDIA_POLICY });

      const debug = lines.filter((l) => l.level === 20);
      const corp = sim.corp.corpid;
      expect(debug.find((l) => l.msg.startsWith('pull lease taken'))).toMatchObject({ corp, stage: 'pull' });
      const pages = debug.filter((l) => l.msg.startsWith('page fetched'));
      expect(pages.map((p) => [p.from, p.to, p.received, p.full])).toEqual([
        ['0', String(sim.seqOf(99)), 100, true],
        [String(sim.seqOf(99)), String(sim.seqOf(199)), 100, true],
        [String(sim.seqOf(199)), String(sim.seqOf(249)), 50, false],
      ]);
      const backoff = debug.find((l) => l.msg.startsWith('backing off'));
      expect(backoff).toMatchObject({ corp, stage: 'pull', code: 10001, failures: 1 });
      expect(backoff!.waitMs).toEqual(expect.any(Number));

      const jobs = await store.db.selectFrom('media').select(['id', 'state']).execute();
      expect(jobs.length).toBeGreaterThan(0);
      const claimed = new Set(debug.filter((l) => l.msg.startsWith('media job claimed')).map((l) => l.job));
      const finished = debug.filter((l) => l.msg === 'media job finished');
      expect(claimed).toEqual(new Set(jobs.map((j) => j.id)));
      expect(new Set(finished.map((l) => l.job))).toEqual(new Set(jobs.map((j) => j.id)));
      for (const l of finished) expect(l).toMatchObject({ corp, stage: 'media', state: jobs.find((j) => j.id === l.job)!.state });

      // never a secret, a key or a decrypted body (docs/design.md rule 6)
      const all = text.join('');
      expect(all).not.toContain(sim.corp.secret);
      expect(all).not.toMatch(/PRIVATE KEY|MII/);
      let checked = 0;
      for (let i = 0; i < MESSAGES; i++) {
        // the texts of text messages (a few bodies hold raw control characters on purpose: matched as text)
        const content = /"content":"([^"\\]{8,})"/.exec(sim.plaintextOf(i).toString('utf8'))?.[1];
        if (!content) continue;
        expect(all).not.toContain(content);
        checked += 1;
      }
      expect(checked).toBeGreaterThan(10);
    } finally {
      await sim.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
