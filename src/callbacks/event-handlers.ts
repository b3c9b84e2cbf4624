/**
 * What each stored callback event does. A handler is a job: it validates its payload
 * (the inbox row) on its first line, is safe to run twice (every write is an upsert or a set
 * operation), honours the abort signal, and throws to ask for a retry.
 * - msgaudit_notify: wakes the corp's pull now (debounced by the waker).
 * - change_contact: applies the member, department or tag change to the directory.
 * - change_external_contact / change_external_chat: queue the contact or group for a refresh through
 *   the API (the events carry ids, not names); msg_audit_approved also records the consent; a
 *   dismissed group is marked so.
 * Handlers do not call the WeCom API themselves: they write rows the directory stage works off
 * (stages hand work on by rows, never by calling each other), and ring its bell.
 */
import { ValidationError } from '../errors/errors.ts';
import type { DirectoryStore } from '../directory/directory-store.ts';
import { parseCallbackEvent, type CallbackEvent, type ChangeContactEvent } from './callback-events.ts';
import type { InboxRow } from './callback-inbox.ts';

export interface EventHandlerDeps {
  directory: DirectoryStore;
  /** Wakes the corp's pull; false when this process runs no pull for the corp. */
  wakePull(corpid: string): boolean;
  /** Tells the directory stage its queue has work (an event, not a call into it). */
  wakeDirectory(corpid: string): void;
  /** Marks earlier notifies of the corp done (one wake covers them). */
  completeEarlierNotifies(corpid: string, upToId: number): Promise<number>;
}

/** The result a handler reports; both mean the row is done. */
export type HandlerOutcome = 'handled' | 'nothing_to_do';

/** The job's payload check: a row of a kind handlers know, whose body parses to that kind. */
export function eventOfRow(row: InboxRow): CallbackEvent {
  if (typeof row?.body !== 'string' || typeof row.corpid !== 'string' || row.corpid === '') {
    throw new ValidationError('INBOX_PAYLOAD_INVALID', 'inbox row without a corpid or body');
  }
  const event = parseCallbackEvent(row.body);
  if (event.kind !== row.kind) throw new ValidationError('INBOX_PAYLOAD_INVALID', `inbox row ${row.id} says ${row.kind} but its body is ${event.kind}`);
  return event;
}

export async function handleInboxEvent(deps: EventHandlerDeps, row: InboxRow, signal?: AbortSignal): Promise<HandlerOutcome> {
  const event = eventOfRow(row);
  signal?.throwIfAborted();
  const corpid = row.corpid;
  const d = deps.directory;
  switch (event.kind) {
    case 'msgaudit_notify': {
      deps.wakePull(corpid);
      await deps.completeEarlierNotifies(corpid, row.id);
      return 'handled';
    }
    case 'change_contact':
      await applyContactChange(d, corpid, event);
      deps.wakeDirectory(corpid);
      return 'handled';
    case 'change_external_contact': {
      if (event.changeType === 'transfer_fail') return 'nothing_to_do';
      if (event.changeType === 'msg_audit_approved') {
        await d.upsertConsent(corpid, {
          scope: 'single',
          scopeId: event.userId,
          externalId: event.externalUserId,
          status: 'Agree',
          changeTime: event.createTime * 1000,
          source: 'event',
        });
      }
      await d.enqueue(corpid, 'external', event.externalUserId, 'event', { force: true });
      deps.wakeDirectory(corpid);
      return 'handled';
    }
    case 'change_external_chat':
      if (event.changeType === 'dismiss') await d.markGroup(corpid, event.chatId, 'dismissed', null, null);
      else await d.enqueue(corpid, 'group', event.chatId, 'customer_event', { force: true });
      deps.wakeDirectory(corpid);
      return 'handled';
    case 'unknown':
      return 'nothing_to_do';
  }
}

async function applyContactChange(d: DirectoryStore, corpid: string, e: ChangeContactEvent): Promise<void> {
  switch (e.changeType) {
    case 'create_user':
    case 'update_user': {
      const u = e.user;
      const fields = {
        userid: u.userId,
        name: u.name,
        alias: u.alias,
        position: u.position,
        departments: u.department,
        mainDepartment: u.mainDepartment,
        status: u.status,
      };
      if (e.changeType === 'update_user' && e.newUserId) {
        await d.renameUserId(corpid, u.userId, e.newUserId, 'event');
        await d.upsertMember(corpid, { ...fields, userid: e.newUserId }, 'event');
      } else {
        await d.upsertMember(corpid, fields, 'event');
      }
      // Newer apps do not receive the name in the event: ask user/get for it.
      if (!u.name) await d.enqueue(corpid, 'member', e.changeType === 'update_user' && e.newUserId ? e.newUserId : u.userId, 'event', { force: true });
      return;
    }
    case 'delete_user':
      await d.deleteMember(corpid, e.userId);
      return;
    case 'create_party':
    case 'update_party':
      await d.upsertDepartment(corpid, { id: e.party.id, name: e.party.name, parentId: e.party.parentId, order: e.party.order }, 'event');
      return;
    case 'delete_party':
      await d.deleteDepartment(corpid, e.partyId);
      return;
    case 'update_tag':
      await d.applyTagChange(corpid, e.tagId, { addUsers: e.addUserItems, delUsers: e.delUserItems, addParties: e.addPartyItems, delParties: e.delPartyItems });
  }
}
