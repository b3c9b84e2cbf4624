/** The `messages` row of a decrypted message: its normalized columns and its bytes as the SDK returned them. */
import type { NewMessage } from '../store/schema.ts';
import type { NormalizedMessage } from './normalize-message.ts';

/** The row that stores `m` (normalized from `raw`) under `corpid` at `seq` (encoded, seq-codec.ts). */
export function messageRowOf(corpid: string, seq: string, m: NormalizedMessage, raw: Buffer, createdAt: number): NewMessage {
  return {
    corpid,
    msgid: m.msgid,
    seq,
    action: m.action,
    from_id: m.fromId,
    tolist: JSON.stringify(m.tolist),
    roomid: m.roomid,
    msgtime: m.msgtime,
    msgtype: m.msgtype,
    conversation_key: m.conversationKey,
    is_external: m.isExternal ? 1 : 0,
    is_updown: m.isUpdown ? 1 : 0,
    known_type: m.knownType ? 1 : 0,
    pre_msgid: m.preMsgid,
    raw,
    created_at: createdAt,
  };
}
