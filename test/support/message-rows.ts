import { encodeSeq } from '../../src/store/seq-codec.ts';

/** What a test says of a stored message; everything else takes a plain 1:1 text message's value. */
export interface MessageRowFields {
  corpid: string;
  msgid: string;
  seq: bigint;
  msgtime?: number;
  msgtype?: string;
  raw?: Buffer;
  createdAt?: number;
}

/** A `messages` row as the decrypt stage writes it, for tests that put messages into a store directly. */
export function messageRow(fields: MessageRowFields) {
  return {
    corpid: fields.corpid,
    msgid: fields.msgid,
    seq: encodeSeq(fields.seq),
    action: 'send',
    from_id: 'a',
    tolist: '[]',
    roomid: '',
    msgtime: fields.msgtime ?? 1,
    msgtype: fields.msgtype ?? 'text',
    conversation_key: 'pair:a|b',
    is_external: 0,
    is_updown: 0,
    known_type: 1,
    pre_msgid: null,
    raw: fields.raw ?? Buffer.from('{}'),
    created_at: fields.createdAt ?? 1,
  };
}
