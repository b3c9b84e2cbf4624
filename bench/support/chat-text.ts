/**
 * Chat text with realistic term frequencies for the benches that search or read many messages: a
 * common word in about 10% of messages, rare words, people's names, numbers and English words among
 * common Chinese characters. The words are exported so a bench can query for them.
 */
import type { Rng } from '../../src/simulator/core/prng.ts';

const FILLER = [
  ...'我们你他她这那就是在有和了不会要说到对下上时大地为子中年着过去以可能没好还开得出也来看里后自之于能多天都现发实用成理动同如面经心作用道学所然家意主明法问量种无样外前见二三长什么日当从重机由由此使新电进力其些至定性手高向已被走口期间',
];
/** in about 10% of messages */
export const COMMON_WORD = '合同';
export const RARE_WORDS = ['罄竹', '龃龉', '饕餮', '觊觎', '耄耋'];
export const NAME_WORDS = ['张伟', '王芳', '李娜', '刘洋', '陈静'];
export const ENGLISH_WORDS = ['deploy', 'invoice', 'review', 'meeting', 'release', 'budget', 'contract'];

/** One message's text: 3 to 11 pieces, each a word of the lists above or a run of filler characters. */
export function chatText(rng: Rng): string {
  let text = '';
  const pieces = rng.range(3, 12);
  for (let i = 0; i < pieces; i++) {
    const roll = rng.float();
    if (roll < 0.012) text += COMMON_WORD;
    else if (roll < 0.014) text += rng.pick(RARE_WORDS);
    else if (roll < 0.05) text += rng.pick(NAME_WORDS);
    else if (roll < 0.12) text += ` ${rng.pick(ENGLISH_WORDS)} `;
    else if (roll < 0.16) text += String(rng.range(1, 99999));
    else text += Array.from({ length: rng.range(2, 6) }, () => rng.pick(FILLER)).join('');
    if (rng.chance(0.2)) text += '，';
  }
  return text;
}
