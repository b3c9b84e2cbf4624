/**
 * The API's message view in the shapes the message components take: the message as WeCom wrote it
 * (its content back under its type's key), its media keyed by sdkfileid, and its sender.
 */
import { bodyKey, isFields, parseInner } from '../messages/body.ts';
import type { ArchivedMessage, MediaRef, MediaRefs, MediaState, Sender } from '../messages/types.ts';
import { mediaUrl, type MessageView, type PersonRef } from './api.ts';

export interface ShownMessage {
  message: ArchivedMessage;
  media: MediaRefs;
  sender: Sender;
  recalled: boolean;
  quotedMsgid: string | undefined;
}

const STATES: ReadonlySet<string> = new Set(['pending', 'downloading', 'done', 'unverified', 'failed', 'expired']);

export function senderOf(person: PersonRef): Sender {
  const kind = person.kind === 'customer' ? 'external' : person.kind;
  return { id: person.id, name: person.name ?? '', kind };
}

/**
 * The object a media path points at in the content: `image` is the content itself,
 * `mixed.item[2]` the third item's content, `chatrecord.item[1].item[0]` one level deeper (the
 * paths the archive's media references use, src/media/jobs/media-refs.ts).
 */
export function atMediaPath(content: Record<string, unknown> | null, path: string): Record<string, unknown> | undefined {
  let here: Record<string, unknown> | undefined = content ?? undefined;
  const steps = path.split('.').slice(1);
  for (const step of steps) {
    const m = /^item\[(\d+)\]$/.exec(step);
    if (!m || !here) return undefined;
    const items = here.item;
    const item = Array.isArray(items) ? (items[Number(m[1])] as unknown) : undefined;
    here = isFields(item) ? parseInner(item.content) : undefined;
  }
  return here;
}

function mediaRefs(corpid: string, view: MessageView): MediaRefs {
  const refs: Record<string, MediaRef> = {};
  for (const m of view.media) {
    const at = atMediaPath(view.content, m.path);
    const sdkfileid = typeof at?.sdkfileid === 'string' ? at.sdkfileid : '';
    if (!sdkfileid || !STATES.has(m.state)) continue;
    const hasBytes = m.sha256 !== null && (m.state === 'done' || m.state === 'unverified');
    refs[sdkfileid] = {
      state: m.state as MediaState,
      url: hasBytes ? mediaUrl(corpid, m.sha256!) : undefined,
      thumbUrl: hasBytes && m.kind === 'image' ? mediaUrl(corpid, m.sha256!, 'thumb') : undefined,
      mp3Url: hasBytes && m.mp3 ? mediaUrl(corpid, m.sha256!, 'mp3') : undefined,
      contentType: m.contentType ?? undefined,
      size: m.size ?? undefined,
      fileName: m.fileName ?? undefined,
      reason: m.error ?? undefined,
    };
  }
  return refs;
}

export function shownMessage(corpid: string, view: MessageView): ShownMessage {
  const message: ArchivedMessage = { msgid: view.msgid, action: view.action, from: view.from.id, msgtime: view.msgtime, msgtype: view.msgtype };
  if (view.action === 'switch') {
    message.user = view.content?.user ?? view.from.id;
    message.time = view.msgtime;
  } else if (view.content) {
    message[bodyKey(view.msgtype)] = view.content;
  }
  return {
    message,
    media: mediaRefs(corpid, view),
    sender: senderOf(view.from),
    recalled: view.revokedBy !== null,
    quotedMsgid: view.quote?.target?.msgid ?? undefined,
  };
}
