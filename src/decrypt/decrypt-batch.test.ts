import { describe, expect, it } from 'vitest';
import type { Logger } from '../app/logger.ts';
import { WeComSdkError } from '../errors/wecom-codes.ts';
import type { SdkBackend } from '../sdk/backend.ts';
import { decryptBatch, type EnvelopeRow } from './decrypt-batch.ts';
import type { RsaPool } from './rsa-pool.ts';

// The RSA step is not what is tested here: "RSA" hands back encrypt_random_key as the key, or fails
// for the rows marked so; "DecryptData" turns the key and encrypt_chat_msg into the message JSON.
const rsa = {
  hasKey: () => true,
  decrypt: async (_corpid: string, items: ReadonlyArray<{ version: number; encryptRandomKey: string }>) =>
    items.map((i) => (i.encryptRandomKey === 'rsa-fails' ? { error: { code: 'RSA_DECRYPT_FAILED', message: 'padding' } } : { key: Buffer.from(i.encryptRandomKey) })),
} as unknown as RsaPool;

/** What the SDK answers for one message: its JSON, or its code. */
function answer(key: Buffer, msg: string): Buffer | WeComSdkError {
  if (msg === 'sdk-refuses') return new WeComSdkError(10006, 'DecryptData', { detail: 'does not decrypt' });
  if (msg === 'crash') return new WeComSdkError(10003, 'DecryptData');
  return Buffer.from(
    JSON.stringify({ msgid: key.toString(), action: 'send', from: 'zhangsan', tolist: ['lisi'], roomid: '', msgtime: 1_700_000_000_000, msgtype: 'text', text: { content: msg } }),
  );
}

const rows: EnvelopeRow[] = ['ok', 'rsa-fails', 'sdk-refuses', 'ok', 'crash'].map((kind, i) => ({
  msgid: `m${i}`,
  seq: String(i + 1).padStart(20, '0'),
  publickey_ver: 1,
  encrypt_random_key: kind === 'rsa-fails' ? 'rsa-fails' : `m${i}`,
  encrypt_chat_msg: kind === 'ok' ? `hello ${i}` : kind,
}));

function backend(many: SdkBackend['decryptMany']): SdkBackend & { single: string[] } {
  const single: string[] = [];
  return {
    single,
    async decryptData(key, msg) {
      single.push(key.toString());
      if (msg === 'crash') throw new Error('the SDK host died');
      const a = answer(key, msg);
      if (a instanceof WeComSdkError) throw a;
      return a;
    },
    ...(many ? { decryptMany: many } : {}),
    getChatData: () => Promise.reject(new Error('not used')),
    getMediaData: () => Promise.reject(new Error('not used')),
    close: async () => undefined,
  };
}

const outcome = (o: Awaited<ReturnType<typeof decryptBatch>>) => ({
  messages: o.messages.map((m) => m.msgid),
  failures: o.failures.map((f) => [f.msgid, f.reason, f.code, f.transient]),
});

describe('decryptBatch with a backend that decrypts many messages at once', () => {
  it('asks once for every row whose RSA step succeeded, and puts each answer in its place', async () => {
    const asked: string[][] = [];
    const b = backend(async (items) => {
      asked.push(items.map((i) => i.encryptKey.toString()));
      return items.map((i) => answer(i.encryptKey, i.encryptMsg));
    });
    const o = await decryptBatch({ backend: b, rsa, now: () => 1 }, 'ww1', rows);
    expect(asked).toEqual([['m0', 'm2', 'm3', 'm4']]);
    expect(b.single).toEqual([]);
    expect(outcome(o)).toEqual({
      messages: ['m0', 'm3'],
      failures: [
        ['m1', 'rsa_failed', 1, false],
        ['m2', 'sdk_error', 10006, false],
        ['m4', 'sdk_error', 10003, true],
      ],
    });
    expect(o.messages[1]!.raw.toString()).toContain('hello 3');
  });

  it('falls back to one call per row when the exchange fails as a whole, so only the deadly message fails', async () => {
    const b = backend(async () => {
      throw Object.assign(new Error('the SDK host died during DecryptData'), { code: 'SDK_HOST_CRASHED' });
    });
    // the failed exchange is told with its cause, and nothing of the messages or keys
    const warned: unknown[][] = [];
    const log = { warn: (...args: unknown[]) => warned.push(args) } as unknown as Logger;
    const o = await decryptBatch({ backend: b, rsa, now: () => 1, log }, 'ww1', rows);
    expect(warned).toEqual([
      [
        { corp: 'ww1', stage: 'decrypt', messages: 4, cause: 'the SDK host died during DecryptData', code: 'SDK_HOST_CRASHED' },
        'DecryptData of a batch in one exchange failed; each message is decrypted on its own',
      ],
    ]);
    expect(JSON.stringify(warned)).not.toMatch(/hello|m0|m3/);
    expect(b.single).toEqual(['m0', 'm2', 'm3', 'm4']);
    expect(outcome(o)).toEqual({
      messages: ['m0', 'm3'],
      failures: [
        ['m1', 'rsa_failed', 1, false],
        ['m2', 'sdk_error', 10006, false],
        ['m4', 'sdk_error', null, true],
      ],
    });
  });

  it('falls back the same way when the backend answers for the wrong number of messages', async () => {
    const b = backend(async () => []);
    const o = await decryptBatch({ backend: b, rsa, now: () => 1 }, 'ww1', rows);
    expect(b.single).toEqual(['m0', 'm2', 'm3', 'm4']);
    expect(outcome(o).messages).toEqual(['m0', 'm3']);
  });
});
