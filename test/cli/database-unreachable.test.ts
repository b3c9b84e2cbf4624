import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = new URL('../../bin/wecom-archive', import.meta.url).pathname;
const SECRET = 's3cret-Pw';

/** Runs a command that needs the database; resolves with its exit code and stderr. */
function cli(dir: string, dbUrl: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(BIN, ['status', '--db', dbUrl, '--data-dir', dir], { env: { ...process.env, WECOM_ARCHIVE_MASTER_KEY: '03'.repeat(32) } }, (err, _stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code) : 0, stderr });
    });
  });
}

/** A port nothing listens on (taken, then given back). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function expectClearError(result: { code: number; stderr: string }, shown: string, why: RegExp): void {
  expect(result.code, result.stderr).not.toBe(0);
  expect(result.stderr).toContain(`error: cannot reach the database ${shown}`);
  expect(result.stderr).toMatch(why);
  expect(result.stderr).not.toContain(SECRET);
  expect(result.stderr).not.toMatch(/migration|internal error|\n\s+at /);
}

const servers = [
  { name: 'postgres', scheme: 'postgres', admin: process.env.TEST_POSTGRES_URL },
  { name: 'mysql', scheme: 'mysql', admin: process.env.TEST_MYSQL_URL },
];

describe('a database that cannot be reached at start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-unreachable-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const server of servers) {
    it(`names the ${server.name} URL, password masked, and says the connection was refused`, async () => {
      const port = await closedPort();
      const result = await cli(dir, `${server.scheme}://archiver:${SECRET}@127.0.0.1:${port}/archive`);
      expectClearError(result, `${server.scheme}://archiver:***@127.0.0.1:${port}/archive`, /connection refused.*ECONNREFUSED/);
    });

    it.skipIf(!server.admin)(`says the ${server.name} database does not exist`, async () => {
      const url = new URL(server.admin!);
      url.pathname = `/wa_missing_${randomBytes(4).toString('hex')}`;
      const result = await cli(dir, url.toString());
      expectClearError(result, url.toString(), /does not exist on the server, create it first: .*(3D000|ER_BAD_DB_ERROR)/);
    });

    it.skipIf(!server.admin)(`says ${server.name} refused the login`, async () => {
      const url = new URL(server.admin!);
      url.username = `wa_nobody_${randomBytes(3).toString('hex')}`;
      url.password = SECRET;
      const shown = new URL(url.toString());
      shown.password = '***';
      const result = await cli(dir, url.toString());
      expectClearError(result, shown.toString(), /refused the login: .*(28000|28P01|ER_ACCESS_DENIED_(NO_PASSWORD_)?ERROR)/);
    });
  }
});
