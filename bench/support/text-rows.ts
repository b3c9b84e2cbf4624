/**
 * Bench text messages as stored rows of one corp, written straight into the messages table by
 * bench:search and bench:web-timeline: one a second from START, from 50 senders, in `rooms` group
 * conversations `room:r{n % rooms}`, their text from chat-text.ts.
 */
import { encodeSeq } from '../../src/store/seq-codec.ts';
import type { seededRng } from '../../test/support/test-seed.ts';
import { chatText } from './chat-text.ts';

export const CORP = 'wwbench';
export const START = Date.UTC(2026, 0, 1);

/** The stored row of bench message `n`, in the group conversation `room:r{n % rooms}`. */
export function messageRow(n: number, rng: ReturnType<typeof seededRng>, rooms = 200) {
  const msgid = `bench${n}`;
  const raw = JSON.stringify({
    msgid,
    action: 'send',
    from: `u${n % 50}`,
    tolist: [],
    roomid: `r${n % rooms}`,
    msgtime: START + n * 1000,
    msgtype: 'text',
    text: { content: chatText(rng) },
  });
  return {
    corpid: CORP,
    msgid,
    seq: encodeSeq(BigInt(n + 1)),
    action: 'send',
    from_id: `u${n % 50}`,
    tolist: '[]',
    roomid: `r${n % rooms}`,
    msgtime: START + n * 1000,
    msgtype: 'text',
    conversation_key: `room:r${n % rooms}`,
    is_external: 0,
    is_updown: 0,
    known_type: 1,
    pre_msgid: null,
    raw: Buffer.from(raw),
    created_at: START,
  };
}
