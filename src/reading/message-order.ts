/**
 * A conversation's time order, (msgtime, seq), as SQL conditions relative to a cursor. Each carries
 * the bare bound on msgtime beside the exact test: the OR of the exact test alone gives no database
 * an index range, so a page from the middle of a long conversation read the index from one end up
 * to the cursor (measured by bench:api: 50,000 index entries for a page in the middle of a
 * 100,000-message conversation); with the bound the index is entered at the cursor.
 */
import type { Expression, ExpressionBuilder, SqlBool } from 'kysely';
import type { Database } from '../store/schema.ts';
import type { MessageCursor } from './read-cursor.ts';

export type MessageCondition = (eb: ExpressionBuilder<Database, 'messages'>) => Expression<SqlBool>;

/** (msgtime, seq) before the cursor. */
export function olderThan(c: MessageCursor): MessageCondition {
  return (eb) => eb.and([eb('msgtime', '<=', c.time), eb.or([eb('msgtime', '<', c.time), eb.and([eb('msgtime', '=', c.time), eb('seq', '<', c.seq)])])]);
}

/** (msgtime, seq) at or after the cursor (`inclusive`), or strictly after it. */
export function newerThan(c: MessageCursor, inclusive: boolean): MessageCondition {
  return (eb) => eb.and([eb('msgtime', '>=', c.time), eb.or([eb('msgtime', '>', c.time), eb.and([eb('msgtime', '=', c.time), eb('seq', inclusive ? '>=' : '>', c.seq)])])]);
}
