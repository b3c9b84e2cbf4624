import type { Kysely, Transaction } from 'kysely';
import type { SearchDoc, StoreDialect } from '../store/dialects/dialect.ts';
import { groupBy } from '../runtime/group-by.ts';
import { transactionRetryingConflicts } from '../store/in-transaction.ts';
import type { Database } from '../store/schema.ts';

/** A stored message as the index stage reads it: its text, and what its facets are made of (facets.ts). */
export interface MessageToIndex {
  readonly corpid: string;
  readonly msgid: string;
  readonly conversation_key: string;
  readonly from_id: string;
  readonly msgtime: number;
  readonly raw: Uint8Array;
}

/**
 * The stored messages of one corp's queue rows. Where the dialect reads them by time
 * (StoreDialect.readsQueuedByTime), within the rows' range of msgtime: a queue row's msgtime is its
 * message's (both written in one transaction, and a stored message's time never changes). Without
 * the range, PostgreSQL without statistics of the messages read every message of the corp for each
 * batch (300,000 loaded at once: 58 ms a batch of 200, 87 of the 118 s the stage took; with it,
 * 1.7 s of 40). A msgid not found in the range is looked for again by its key alone, so no message
 * is left unindexed whatever the times say.
 */
async function queuedMessages(
  trx: Transaction<Database>,
  dialect: StoreDialect,
  corpid: string,
  msgids: readonly string[],
  oldest: number,
  newest: number,
): Promise<MessageToIndex[]> {
  const read = (ids: readonly string[]) =>
    trx.selectFrom('messages').select(['corpid', 'msgid', 'conversation_key', 'from_id', 'msgtime', 'raw']).where('corpid', '=', corpid).where('msgid', 'in', ids);
  if (!dialect.readsQueuedByTime) return read(msgids).execute();
  const inRange = await read(msgids).where('msgtime', '>=', oldest).where('msgtime', '<=', newest).execute();
  if (inRange.length === msgids.length) return inRange;
  const found = new Set(inRange.map((m) => m.msgid));
  return [...inRange, ...(await read(msgids.filter((id) => !found.has(id))).execute())];
}

/** Messages waiting for the index, by corp. */
export interface IndexBacklog {
  readonly corpid: string;
  readonly pending: number;
}

/**
 * Every query of the index stage: the queue of messages to index (search_pending) and the index
 * itself, through the dialect's search SQL. The stage holds the logic; this module holds the SQL.
 */
export class IndexRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: StoreDialect,
  ) {}

  /**
   * Indexes up to `limit` queued messages in one transaction: the queue rows are locked (rows
   * another process holds are skipped), the messages' entries written, and the queue rows deleted.
   * A crash before the commit leaves the queue as it was, and an entry is written by replacing the
   * message's old one, so no message is ever missing from the index or in it twice. `docsOf` turns
   * messages into entries (none for a message without searchable text). Returns how many queue rows
   * were done.
   *
   * The queue is read in key order, oldest message first: the entries of a batch then lie together
   * in the index, whose entry ids follow time. It is also the order the decrypt stage's inserts lock
   * the queue in, and a batch the database picks as a deadlock victim is run again.
   */
  async indexBatch(limit: number, docsOf: (messages: readonly MessageToIndex[]) => SearchDoc[]): Promise<number> {
    return transactionRetryingConflicts(this.db, this.dialect, async (trx) => {
      // on SQLite, a `reindex` and a `run` both write: without the lock first, this batch would
      // read the queue, and then fail to write when the other process committed in between
      await this.dialect.lockForWrite(trx, 'search_pending');
      const queued = await this.dialect
        .forUpdateSkipLocked(trx.selectFrom('search_pending').select(['corpid', 'msgtime', 'msgid']).orderBy('corpid').orderBy('msgtime').orderBy('msgid').limit(limit))
        .execute();
      if (queued.length === 0) return 0;
      for (const [corpid, rows] of groupBy(queued, (q) => q.corpid)) {
        const msgids = rows.map((q) => q.msgid);
        // the corp's rows are in msgtime order: their key range, narrowed to their ids
        const oldest = Number(rows[0]!.msgtime);
        const newest = Number(rows.at(-1)!.msgtime);
        const messages = await queuedMessages(trx, this.dialect, corpid, msgids, oldest, newest);
        await this.dialect.search.writeDocs(trx, docsOf(messages));
        await trx.deleteFrom('search_pending').where('corpid', '=', corpid).where('msgtime', '>=', oldest).where('msgtime', '<=', newest).where('msgid', 'in', msgids).execute();
      }
      return queued.length;
    });
  }

  /** Messages waiting for the index, per corp (only corps with some), or of one corp. */
  backlog(corpid?: string): Promise<IndexBacklog[]> {
    return indexBacklog(this.db, corpid);
  }

  /**
   * Queues every stored message of one corp (every corp when absent) again, for a rebuild of its
   * index entries. The entries stay searchable meanwhile; each is replaced as it is indexed again,
   * and an interrupted rebuild resumes from the queue. Returns how many messages are queued.
   *
   * The decrypt stage queues the messages it stores meanwhile: a row it inserted but has not
   * committed is invisible to the NOT EXISTS here, and the insert then meets it at the key, so the
   * insert skips existing keys instead of failing on them.
   */
  async queueAll(corpid: string | undefined, now: number): Promise<number> {
    // MariaDB locks the rows the INSERT … SELECT reads, and may pick it as a deadlock's victim
    // against the decrypt stage's inserts: it only adds what is missing, so it is simply run again
    await transactionRetryingConflicts(this.db, this.dialect, (trx) => this.queueMissing(trx, corpid, now));
    const queued = await this.backlog(corpid);
    return queued.reduce((sum, b) => sum + b.pending, 0);
  }

  private async queueMissing(trx: Transaction<Database>, corpid: string | undefined, now: number): Promise<void> {
    let messages = trx
      .selectFrom('messages as m')
      .select((eb) => ['m.corpid', 'm.msgtime', 'm.msgid', eb.val(now).as('queued_at')])
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('search_pending as p').select('p.msgid').whereRef('p.corpid', '=', 'm.corpid').whereRef('p.msgtime', '=', 'm.msgtime').whereRef('p.msgid', '=', 'm.msgid'),
          ),
        ),
      );
    if (corpid !== undefined) messages = messages.where('m.corpid', '=', corpid);
    await this.dialect
      .ignoreDuplicates(trx.insertInto('search_pending').columns(['corpid', 'msgtime', 'msgid', 'queued_at']).expression(messages), ['corpid', 'msgtime', 'msgid'])
      .execute();
  }
}

/** Messages waiting for the index, per corp (only corps with some), or of one corp: how far behind the index is. */
export async function indexBacklog(db: Kysely<Database>, corpid?: string): Promise<IndexBacklog[]> {
  let q = db.selectFrom('search_pending').select((eb) => ['corpid', eb.fn.countAll<number>().as('n')]);
  if (corpid !== undefined) q = q.where('corpid', '=', corpid);
  const rows = await q.groupBy('corpid').orderBy('corpid').execute();
  return rows.map((r) => ({ corpid: r.corpid, pending: Number(r.n) }));
}
