/**
 * Bench messages: text with realistic term frequencies (a common word in about 10% of them, rarer
 * words, names, numbers, English words), as stored rows of one corp, written straight into the
 * messages table by bench:search and bench:web-timeline.
 */
import { encodeSeq } from '../src/store/seq-codec.ts';
import type { seededRng } from '../test/support/test-seed.ts';

export const CORP = 'wwbench';
export const FILLER = [
  ...'我们你他她这那就是在有和了不会要说到对下上时大地为子中年着过去以可能没好还开得出也来看里后自之于能多天都现发实用成理动同如面经心作用道学所然家意主明法问量种无样外前见二三长什么日当从重机由由此使新电进力其些至定性手高向已被走口期间',
];
export const COMMON = '合同'; // about 10% of messages
export const RARE = ['罄竹', '龃龉', '饕餮', '觊觎', '耄耋'];
export const NAMES = ['张伟', '王芳', '李娜', '刘洋', '陈静'];
export const ENGLISH = ['deploy', 'invoice', 'review', 'meeting', 'release', 'budget', 'contract'];
export const START = Date.UTC(2026, 0, 1);

export function messageText(rng: ReturnType<typeof seededRng>): string {
  let text = '';
  const pieces = rng.range(3, 12);
  for (let i = 0; i < pieces; i++) {
    const roll = rng.float();
    if (roll < 0.012) text += COMMON;
    else if (roll < 0.014) text += rng.pick(RARE);
    else if (roll < 0.05) text += rng.pick(NAMES);
    else if (roll < 0.12) text += ` ${rng.pick(ENGLISH)} `;
    else if (roll < 0.16) text += String(rng.range(1, 99999));
    else text += Array.from({ length: rng.range(2, 6) }, () => rng.pick(FILLER)).join('');
    if (rng.chance(0.2)) text += '，';
  }
  return text;
}

/** Messages a transaction while loading: big transactions, each written with the dialect's multi-row inserts. */
export const LOAD_BATCH = 10_000;

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
    text: { content: messageText(rng) },
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
