/**
 * Search tokenizing benchmark. Prints one JSON line:
 *   {messages, fields, tokens, input_mb, seconds, messages_per_s, tokens_per_s, mb_per_s}
 * over simulated messages of every type (the generator's mix: mostly text, some chat records,
 * mixed messages, files, links, …): from the stored JSON bytes to the message's distinct index
 * tokens, i.e. parse + searchable fields + tokens, which is the work the index stage does per
 * message. tokens counts the distinct tokens, what the index stage writes. input_mb counts the JSON bytes; the messages are generated before the clock starts, and the whole set
 * is tokenized --rounds times (the first round also warms the JIT and is not counted).
 *
 *   npx tsx bench/search-tokenize.ts [--messages 20000] [--rounds 3]
 */
import { parseArgs } from 'node:util';
import { searchableTextOfRaw } from '../src/search/searchable-text.ts';
import { distinctIndexTokens } from '../src/search/tokenize.ts';
import { generatedPlaintexts } from '../test/support/generated-messages.ts';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '3' } } });
const count = Number(values.messages);
const rounds = Number(values.rounds);

function tokenizeAll(plaintexts: readonly Buffer[]): { fields: number; tokens: number } {
  let fields = 0;
  let tokens = 0;
  for (const raw of plaintexts) {
    const found = searchableTextOfRaw(raw);
    fields += found.length;
    tokens += distinctIndexTokens(found.map((f) => f.text)).length;
  }
  return { fields, tokens };
}

async function main(): Promise<void> {
  const plaintexts = await generatedPlaintexts('bench-search', count);
  const bytes = plaintexts.reduce((n, p) => n + p.length, 0);
  const once = tokenizeAll(plaintexts);
  const started = performance.now();
  for (let r = 0; r < rounds; r++) tokenizeAll(plaintexts);
  const seconds = (performance.now() - started) / 1000;
  const round = (x: number): number => Math.round(x * 100) / 100;
  console.log(
    JSON.stringify({
      messages: count,
      fields: once.fields,
      tokens: once.tokens,
      input_mb: round(bytes / 1e6),
      seconds: round(seconds),
      messages_per_s: Math.round((count * rounds) / seconds),
      tokens_per_s: Math.round((once.tokens * rounds) / seconds),
      mb_per_s: round((bytes * rounds) / 1e6 / seconds),
    }),
  );
}

await main();
