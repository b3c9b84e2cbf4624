import type { Kysely, Migration } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.ts';
import * as m0001 from './0001-initial.ts';
import * as m0002 from './0002-sdk-host.ts';
import * as m0003 from './0003-media.ts';
import * as m0004 from './0004-directory.ts';
import * as m0005 from './0005-decrypt-watermark.ts';
import * as m0006 from './0006-pull-lease.ts';
import * as m0007 from './0007-decrypt-backoff.ts';
import * as m0008 from './0008-vault-checks.ts';
import * as m0009 from './0009-gap-kinds-refresh-lease.ts';
import * as m0010 from './0010-search-index.ts';
import * as m0011 from './0011-directory-name-keys.ts';
import * as m0012 from './0012-accounts-audit.ts';
import * as m0013 from './0013-conversations.ts';
import * as m0014 from './0014-search-doc-parts.ts';
import * as m0015 from './0015-event-outbox.ts';
import * as m0016 from './0016-alerts.ts';
import * as m0017 from './0017-config-revision.ts';
import * as m0018 from './0018-search-facets.ts';
import * as m0019 from './0019-wecom-login.ts';
import * as m0020 from './0020-search-time-ids.ts';
import * as m0021 from './0021-search-id-ranges.ts';
import * as m0022 from './0022-search-keys-by-second.ts';
import * as m0023 from './0023-search-queue-by-time.ts';
import * as m0024 from './0024-search-entry-conversations.ts';
import * as m0025 from './0025-participants-by-user.ts';
import * as m0026 from './0026-search-corps-indexed.ts';

type DialectMigration = { up(db: Kysely<any>, dialect: StoreDialect): Promise<void> };

/** Every migration in order. Never edit one that has shipped: add the next. */
const MIGRATIONS: ReadonlyArray<readonly [string, DialectMigration]> = [
  ['0001-initial', m0001],
  ['0002-sdk-host', m0002],
  ['0003-media', m0003],
  ['0004-directory', m0004],
  ['0005-decrypt-watermark', m0005],
  ['0006-pull-lease', m0006],
  ['0007-decrypt-backoff', m0007],
  ['0008-vault-checks', m0008],
  ['0009-gap-kinds-refresh-lease', m0009],
  ['0010-search-index', m0010],
  ['0011-directory-name-keys', m0011],
  ['0012-accounts-audit', m0012],
  ['0013-conversations', m0013],
  ['0014-search-doc-parts', m0014],
  ['0015-event-outbox', m0015],
  ['0016-alerts', m0016],
  ['0017-config-revision', m0017],
  ['0018-search-facets', m0018],
  ['0019-wecom-login', m0019],
  ['0020-search-time-ids', m0020],
  ['0021-search-id-ranges', m0021],
  ['0022-search-keys-by-second', m0022],
  ['0023-search-queue-by-time', m0023],
  ['0024-search-entry-conversations', m0024],
  ['0025-participants-by-user', m0025],
  ['0026-search-corps-indexed', m0026],
];

export function migrationsFor(dialect: StoreDialect): Record<string, Migration> {
  return Object.fromEntries(MIGRATIONS.map(([name, m]) => [name, { up: (db: Kysely<any>) => m.up(db, dialect) }]));
}
