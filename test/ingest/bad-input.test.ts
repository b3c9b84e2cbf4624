import { expect, it } from 'vitest';
import { exportJsonl } from '../../src/export/export-jsonl.ts';
import type { SdkBackend } from '../../src/sdk/backend.ts';
import { createBackend } from '../../src/sdk/create-backend.ts';
import type { RunningSimulator } from '../../src/simulator/server.ts';
import { corpStatuses } from '../../src/status/corp-status.ts';
import { rsaPkcs1v15Encrypt } from '../../src/vault/rsa-pkcs1.ts';
import { addSimulatorCorp, appOn, archiveOnce, wrongKeyPem } from '../support/archive-harness.ts';
import { describeEachDialect } from '../support/databases.ts';
import { useSimulators } from '../support/simulators.ts';

const message = (msgid: string, extra: Record<string, unknown>) =>
  JSON.stringify({ msgid, action: 'send', from: 'zhangsan', tolist: ['lisi'], roomid: '', msgtime: 1763800000000, ...extra });

const BIG_TEXT = '档案'.repeat(180_000) + 'end'; // a message of about 1 MB
const FIXTURES: Array<Buffer | string> = [
  message('ok-1', { msgtype: 'text', text: { content: 'hello 你好' } }),
  '{"msgid":"malformed","msgtype":"text","text":{"content":"cut',
  '[1,2,3]',
  message('ctrl', { msgtype: 'text', text: { content: 'X' } }).replace('"X"', '"a\u0001b\u0013c\td\ne"'),
  message('big', { msgtype: 'text', text: { content: BIG_TEXT } }),
  // eslint-disable-next-line no-loss-of-precision -- a number too big for a double, which the archive must keep as written
  message('alien', { msgtype: 'hologram', hologram: { id: 12345678901234567890123 } }).replace('"id":1.2345678901234568e+22', '"id":12345678901234567890123'),
  // a raw NUL and a byte that is not UTF-8, inside the text
  Buffer.concat(
    message('latin', { msgtype: 'text', text: { content: 'Z' } })
      .split('Z')
      .flatMap((part, i) => (i ? [Buffer.from([0x00, 0xff]), Buffer.from(part)] : [Buffer.from(part)])),
  ),
  message('bad-b64', { msgtype: 'text', text: { content: 'x' } }),
  message('short-rsa', { msgtype: 'text', text: { content: 'x' } }),
  message('wrong-key', { msgtype: 'text', text: { content: 'x' } }),
  message('cut-msg', { msgtype: 'text', text: { content: 'x' } }),
  message('ok-2', { msgtype: 'text', text: { content: 'bye' } }),
];

/** A WeCom that sends damaged envelopes for some messages: the archive must keep them, not die. */
function damaging(inner: SdkBackend, sim: RunningSimulator): SdkBackend {
  // a key that opens none of the corp's envelopes: 3072 bits against its 2048, so its block fails on
  // its length every time (wrongKeyPem)
  const stranger = wrongKeyPem();
  const damage: Record<string, (e: Record<string, unknown>) => void> = {
    'bad-b64': (e) => {
      e.encrypt_random_key = 'this is *not* base64!';
    },
    'short-rsa': (e) => {
      e.encrypt_random_key = (e.encrypt_random_key as string).slice(0, 200);
    },
    'wrong-key': (e) => {
      e.encrypt_random_key = rsaPkcs1v15Encrypt(stranger, Buffer.alloc(32, 65)).toString('base64');
    },
    'cut-msg': (e) => {
      e.encrypt_chat_msg = (e.encrypt_chat_msg as string).slice(0, 24);
    },
  };
  const byMsgid = new Map(FIXTURES.map((_, i) => [sim.msgidOf(i), i]));
  return {
    ...inner,
    async getChatData(req, signal) {
      const page = JSON.parse((await inner.getChatData(req, signal)).replace(/"seq":(\d+)/g, '"seq":"$1"'));
      for (const e of page.chatdata) {
        const fixture = FIXTURES[byMsgid.get(e.msgid) ?? -1];
        const id = typeof fixture === 'string' ? /"msgid":"([^"]+)"/.exec(fixture)?.[1] : undefined;
        if (id && damage[id]) damage[id](e);
      }
      return JSON.stringify(page).replace(/"seq":"(\d+)"/g, '"seq":$1');
    },
    decryptData: (k, m, s) => inner.decryptData(k, m, s),
    getMediaData: (r, s) => inner.getMediaData(r, s),
    close: () => inner.close(),
  };
}

const simulator = useSimulators();

describeEachDialect('bad input', ({ open }) => {
  it('stores what can be stored, keeps the rest waiting with its reason, and never stops', async () => {
    const app = appOn(await open());
    const sim = await simulator({ fixtures: FIXTURES, seed: 'bad' });
    await addSimulatorCorp(app, sim);
    const [progress] = await archiveOnce(app, undefined, (corp) => damaging(createBackend(corp), sim));
    expect(progress).toMatchObject({ state: 'ok', messages: 6, failures: 6 });

    const [status] = await corpStatuses(app.store.db, Date.now());
    const waiting = Object.fromEntries(status!.waiting.map((w) => [`${w.reason}:${w.code}`, w.count]));
    expect(waiting).toEqual({ 'bad_json:null': 2, 'bad_base64:null': 1, 'rsa_failed:1': 2, 'sdk_error:10006': 1 });
    expect(status).toMatchObject({ messages: 6, unknownTypes: 1, pending: 0, cursorSeq: sim.seqOf(FIXTURES.length - 1).toString() });

    // Every stored message keeps its exact bytes, the 1 MB one, the alien type and the invalid UTF-8 included.
    const rows = await app.store.db.selectFrom('messages').select(['msgid', 'raw', 'msgtype']).orderBy('seq').execute();
    for (const row of rows) {
      const i = FIXTURES.findIndex((_, k) => sim.msgidOf(k) === row.msgid);
      expect(Buffer.from(row.raw).equals(sim.plaintextOf(i))).toBe(true);
    }
    expect(rows.map((r) => r.msgtype)).toEqual(['text', 'text', 'text', 'hologram', 'text', 'text']);

    const lines: string[] = [];
    for await (const line of exportJsonl(app.store.db, sim.corp.corpid)) lines.push(line);
    expect(lines).toHaveLength(6);
    expect(JSON.parse(lines[1]!).text.content).toBe('a\u0001b\u0013c\td\ne');
    expect(JSON.parse(lines[2]!).text.content).toBe(BIG_TEXT);
    expect(lines[3]).toContain('"id":12345678901234567890123');
    expect(JSON.parse(lines[3]!)._archive.known_type).toBe(false);

    // The envelopes that could not be read are still stored, encrypted, for a later try.
    const kept = await app.store.db.selectFrom('envelopes').select(['msgid', 'reason', 'reason_detail']).where('state', '=', 'waiting').execute();
    expect(kept).toHaveLength(6);
    expect(kept.every((e) => e.reason_detail && e.reason_detail.length > 10)).toBe(true);
  });
});
