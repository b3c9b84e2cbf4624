/**
 * GET /readyz: 200 only when the database answers, every migration is applied and some configured
 * corp is being pulled; otherwise 503 with a body that names each condition that fails.
 */
import { sql } from 'kysely';
import { afterEach, expect, it } from 'vitest';
import { type HttpServer, startHttpServer } from '../../src/api/http-server.ts';
import { createLogger } from '../../src/app/logger.ts';
import { createOpsEndpoints } from '../../src/ops/ops-endpoints.ts';
import { readiness } from '../../src/ops/readiness.ts';
import { openStore } from '../../src/store/open-store.ts';
import { appWithEnv, rawRequest } from '../callbacks/harness.ts';
import { describeEachDialect } from '../support/databases.ts';
import { insertCursor } from './ops-rows.ts';
import { addOfflineCorp } from '../support/corp-rows.ts';

const servers: HttpServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

describeEachDialect('GET /readyz', ({ url }) => {
  it('answers 503 naming what is not ready, and 200 once all is', async () => {
    const store = await openStore(await url());
    const app = appWithEnv(store);
    const log = createLogger('silent');
    const server = await startHttpServer(app, 0, log, '127.0.0.1', { ops: createOpsEndpoints(store, app.config.ops, log) });
    servers.push(server);
    const readyz = async () => {
      const r = await rawRequest(`http://127.0.0.1:${server.port}`, 'GET', '/readyz');
      return { status: r.status, body: JSON.parse(r.body) };
    };

    // no corp at all
    let r = await readyz();
    expect(r.status).toBe(503);
    expect(r.body.checks.database).toEqual({ ok: true });
    expect(r.body.checks.migrations).toEqual({ ok: true });
    expect(r.body.checks.pulling).toEqual({ ok: false, detail: 'no corp is configured (corp add)' });

    await addOfflineCorp(app, 'wwready');
    // configured, but no process holds its pull
    r = await readyz();
    expect(r.status).toBe(503);
    expect(r.body.checks.pulling.detail).toBe('none of 1 corp(s) is being pulled');

    await store.db
      .updateTable('cursors')
      .set({ lease_owner: 'host/1/abc', lease_until: Date.now() + 60_000 })
      .where('corpid', '=', 'wwready')
      .execute();
    r = await readyz();
    expect(r).toEqual({ status: 200, body: { ok: true, checks: { database: { ok: true }, migrations: { ok: true }, pulling: { ok: true } } } });

    // held, but stopped on a configuration error: not pulling
    await store.db.updateTable('cursors').set({ state: 'stopped' }).execute();
    r = await readyz();
    expect(r.status).toBe(503);
    expect(r.body.checks.pulling.detail).toBe('none of 1 corp(s) is being pulled; 1 stopped on a configuration error (see status)');
    await store.db.updateTable('cursors').set({ state: 'ok' }).execute();

    // a database migrated by an older build
    await sql`delete from kysely_migration where name = ${'0010-search-index'}`.execute(store.db);
    r = await readyz();
    expect(r.status).toBe(503);
    expect(r.body.checks.migrations).toEqual({ ok: false, detail: 'not applied: 0010-search-index' });
    expect(r.body.checks.pulling).toEqual({ ok: true });

    // a cursor whose corp was removed does not count, nor does a lapsed lease
    await insertCursor(store.db, 'wwremoved', { leaseOwner: 'h/1/x', leaseUntil: Date.now() + 60_000 });
    await store.db
      .updateTable('cursors')
      .set({ lease_until: Date.now() - 1 })
      .where('corpid', '=', 'wwready')
      .execute();
    expect((await readiness(store.db, store.dialect)).checks.pulling).toEqual({ ok: false, detail: 'none of 1 corp(s) is being pulled' });

    // the database is gone
    await store.close();
    r = await readyz();
    expect(r.status).toBe(503);
    expect(r.body.checks.database.ok).toBe(false);
    expect(r.body.checks.database.detail).toMatch(/^the database did not answer: /);
    expect(r.body.checks.pulling.ok).toBe(false);
  });
});
