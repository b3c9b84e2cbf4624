/**
 * What the reading tests expect, computed from the fixture's rows on their own terms (no query, no
 * code of src/reading): conversations with their messages in order, participants, and which
 * conversations a scope may see.
 */
import type { ReadScope } from '../../src/access/read-scope.ts';
import type { NewMessage } from '../../src/store/schema.ts';
import { DEPARTMENTS, MEMBER_DEPARTMENTS } from './reading-fixture.ts';

export interface ModelConversation {
  corpid: string;
  key: string;
  roomid: string;
  /** in time order: msgtime, then seq */
  messages: NewMessage[];
  participants: Set<string>;
}

export function model(rows: readonly NewMessage[]): ModelConversation[] {
  const byKey = new Map<string, ModelConversation>();
  for (const r of rows) {
    const id = `${r.corpid} ${r.conversation_key}`;
    let c = byKey.get(id);
    if (!c) byKey.set(id, (c = { corpid: r.corpid, key: r.conversation_key, roomid: r.roomid, messages: [], participants: new Set() }));
    c.messages.push(r);
    for (const p of [r.from_id, ...(JSON.parse(r.tolist) as string[])]) if (p) c.participants.add(p);
  }
  for (const c of byKey.values()) c.messages.sort((x, y) => Number(x.msgtime) - Number(y.msgtime) || (x.seq < y.seq ? -1 : x.seq > y.seq ? 1 : 0));
  return [...byKey.values()];
}

/** Whether `scope` may see `c`, by the rule of ReadScope (departments include the ones below them). */
export function sees(scope: ReadScope, c: ModelConversation): boolean {
  if (scope.kind === 'everything') return true;
  if (scope.corps.includes(c.corpid)) return true;
  if (scope.conversations.some((g) => g.corpid === c.corpid && g.conversation === c.key)) return true;
  const granted = new Set(scope.departments.filter((d) => d.corpid === c.corpid).map((d) => d.departmentId));
  let grew = true;
  while (grew) {
    grew = false;
    for (const d of DEPARTMENTS) {
      if (d.corpid === c.corpid && d.parent_id !== null && granted.has(d.parent_id) && !granted.has(d.dept_id)) {
        granted.add(d.dept_id);
        grew = true;
      }
    }
  }
  const members = MEMBER_DEPARTMENTS[c.corpid] ?? {};
  return [...c.participants].some((p) => (members[p] ?? []).some((d) => granted.has(d)));
}
