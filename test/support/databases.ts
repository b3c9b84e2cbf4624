import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, sql } from 'kysely';
import { afterAll, describe } from 'vitest';
import type { DialectName } from '../../src/store/dialects/dialect.ts';
import { dialectFromUrl, openStore, type Store } from '../../src/store/open-store.ts';

/**
 * Every store test runs on every dialect: SQLite always, PostgreSQL and MariaDB when
 * TEST_POSTGRES_URL / TEST_MYSQL_URL are set (CI sets both). Each test database is created fresh
 * with a random name and dropped afterwards, so runs never collide.
 */
export interface TestDatabase {
  readonly dialect: DialectName;
  readonly url: string;
  drop(): Promise<void>;
}

type Provider = { dialect: DialectName; create(): Promise<TestDatabase> };

function providers(): Provider[] {
  const list: Provider[] = [{ dialect: 'sqlite', create: createSqlite }];
  const pg = process.env.TEST_POSTGRES_URL;
  const my = process.env.TEST_MYSQL_URL;
  if (pg) list.push({ dialect: 'postgres', create: () => createServerDatabase('postgres', pg) });
  if (my) list.push({ dialect: 'mysql', create: () => createServerDatabase('mysql', my) });
  return list;
}

async function createSqlite(): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'wa-test-'));
  return { dialect: 'sqlite', url: `sqlite:${join(dir, 'archive.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

async function createServerDatabase(dialect: DialectName, adminUrl: string): Promise<TestDatabase> {
  const name = `wa_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new Kysely<any>({ dialect: dialectFromUrl(adminUrl).createKyselyDialect() });
  try {
    const charset = dialect === 'mysql' ? sql` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin` : sql``;
    await sql`CREATE DATABASE ${sql.id(name)}${charset}`.execute(admin);
  } finally {
    await admin.destroy();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    dialect,
    url: url.toString(),
    async drop() {
      const a = new Kysely<any>({ dialect: dialectFromUrl(adminUrl).createKyselyDialect() });
      try {
        // pg's Pool.end() resolves before its clients' sockets are closed; a FORCE drop while one is
        // still closing makes the server kill it, and the pool reports that as an unhandled error.
        for (let i = 0; dialect === 'postgres' && i < 40; i++) {
          const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ${name}`.execute(a);
          if (Number(r.rows[0]?.n ?? 0) === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        const force = dialect === 'postgres' ? sql` WITH (FORCE)` : sql``;
        await sql`DROP DATABASE IF EXISTS ${sql.id(name)}${force}`.execute(a);
      } finally {
        await a.destroy();
      }
    },
  };
}

/** The dialects this run covers. */
export function testDialects(): DialectName[] {
  return providers().map((p) => p.dialect);
}

/** Creates a fresh empty database of the given dialect. */
export async function createTestDatabase(dialect: DialectName): Promise<TestDatabase> {
  const provider = providers().find((p) => p.dialect === dialect);
  if (!provider) throw new Error(`dialect ${dialect} is not configured for this test run`);
  return provider.create();
}

/**
 * `describe` once per configured dialect. `ctx.open()` opens a migrated store on a fresh database
 * (closed and dropped after the suite).
 */
export function describeEachDialect(title: string, body: (ctx: { dialect: DialectName; open(): Promise<Store>; url(): Promise<string> }) => void): void {
  for (const provider of providers()) {
    describe(`${title} [${provider.dialect}]`, () => {
      const cleanups: Array<() => Promise<void>> = [];
      const url = async () => {
        const database = await provider.create();
        cleanups.push(() => database.drop());
        return database.url;
      };
      const open = async () => {
        const store = await openStore(await url());
        cleanups.unshift(() => store.close());
        return store;
      };
      afterAll(async () => {
        for (const cleanup of cleanups.splice(0)) await cleanup();
      });
      body({ dialect: provider.dialect, open, url });
    });
  }
}
