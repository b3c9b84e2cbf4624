/**
 * The archive the reading pages' browser test reads: the reading tests' two corps with their
 * directory and handwritten conversations, plus one long conversation in corp A between alice and a
 * customer: LONG_TEXTS numbered texts over LONG_DAYS days (07:00 to 19:00 in Beijing) with a
 * message of every type of the UI fixture among them, and the customer's consent to archiving.
 */
import type { App } from '../../src/app/app.ts';
import type { NewMessage } from '../../src/store/schema.ts';
import { A, B, CUSTOMER, fixtureRows, loadFixture, rowOf, T0 } from '../reading/reading-fixture.ts';
import { FIXTURE_MESSAGES } from './fixtures/messages.ts';

export { A, B, CUSTOMER };
export const LONG = `pair:alice|${CUSTOMER}`;
export const LONG_TEXTS = 300;
export const LONG_DAYS = 5;
/** The first long-conversation day, 2026-03-02 in Beijing: the handwritten part of the conversation is on 03-01. */
export const LONG_START = T0 + 24 * 3_600_000;
const DAY = 24 * 3_600_000;

/** The numbered text of the long conversation's nth message (0-based), unique so a test can look for it. */
export const longText = (i: number) => `长对话第${i + 1}条消息`;
export const longMsgid = (i: number) => `long-${String(i).padStart(4, '0')}`;

/** msgtime of the nth long text: the day's messages spread over 12 hours. */
export function longTime(i: number): number {
  const perDay = Math.ceil(LONG_TEXTS / LONG_DAYS);
  const day = Math.floor(i / perDay);
  return LONG_START + day * DAY + (i % perDay) * Math.floor((12 * 3_600_000) / perDay);
}

function longRows(): NewMessage[] {
  const rows: NewMessage[] = [];
  let seq = 20_000n;
  for (let i = 0; i < LONG_TEXTS; i++) {
    const [from, to] = i % 3 === 0 ? [CUSTOMER, 'alice'] : ['alice', CUSTOMER];
    const msgid = longMsgid(i);
    rows.push(
      rowOf({ corpid: A, msgid, json: { msgid, action: 'send', from, tolist: [to], roomid: '', msgtime: longTime(i), msgtype: 'text', text: { content: longText(i) } } }, seq++),
    );
  }
  // every type, on the third day, from alice or the customer by the fixture's own sender kind
  FIXTURE_MESSAGES.forEach((f, i) => {
    const from = f.sender.kind === 'external' ? CUSTOMER : 'alice';
    const json = { ...f.message, from, tolist: [from === 'alice' ? CUSTOMER : 'alice'], roomid: '', msgtime: LONG_START + 2 * DAY + 13 * 3_600_000 + i * 60_000 };
    if (f.message.action === 'switch') Object.assign(json, { user: from, time: json.msgtime });
    rows.push(rowOf({ corpid: A, msgid: f.message.msgid, json }, seq++));
  });
  return rows;
}

/** Registers both corps and loads the archive into `app`'s store. */
export async function loadReadingArchive(app: App): Promise<void> {
  for (const corpid of [A, B]) {
    await app.corps.add({ corpid, secret: 'archive-secret', sdk: { kind: 'simulator', url: 'http://127.0.0.1:9' }, proxy: null, proxyAuth: null, limit: 1000, timeoutS: 5 });
  }
  await loadFixture(app.store, [...(await fixtureRows(0)), ...longRows()], 100);
  await app.store.db
    .insertInto('dir_consent')
    .values({ corpid: A, scope: 'single', scope_id: 'alice', external_id: CUSTOMER, status: 'Agree', status_change_time: null, source: 'api', checked_at: 1 })
    .execute();
}
