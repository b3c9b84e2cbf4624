import { readFileSync } from 'node:fs';
import { decryptWaiting } from '../../archiver/decrypt-waiting.ts';
import { ValidationError } from '../../errors/errors.ts';
import { type Command, needApp, optionalString, requireString } from '../command.ts';

function parseVersion(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new ValidationError('KEY_VERSION_INVALID', `--version must be a positive integer (the publickey_ver WeCom shows beside the public key), got ${JSON.stringify(text)}`);
  return Number(text);
}

export const keysGenerate: Command = {
  name: 'keys generate',
  usage: 'keys generate --corp ID [--version N]',
  summary: 'make an RSA-2048 pair, keep the private key, print the public key for the admin console',
  options: { corp: { type: 'string' }, version: { type: 'string' } },
  async run({ app, values, io }) {
    const corpid = requireString(values, 'corp', 'the corp ID');
    const key = await needApp(app).keys.generate(corpid, parseVersion(optionalString(values, 'version')));
    io.err(`generated key version ${key.version} for ${corpid} (fingerprint ${key.fingerprint.slice(0, 16)}…). Paste this public key into the WeCom admin console (会话内容存档 → 消息加密公钥):`);
    io.out(key.publicKeyPem.trimEnd());
  },
};

export const keysAdd: Command = {
  name: 'keys add',
  usage: 'keys add --corp ID --version N --file PEM',
  summary: 'import an existing private key (PKCS#1 or PKCS#8 PEM, headers optional)',
  options: { corp: { type: 'string' }, version: { type: 'string' }, file: { type: 'string' } },
  async run({ app, values, io }) {
    const corpid = requireString(values, 'corp', 'the corp ID');
    const version = parseVersion(requireString(values, 'version', 'the publickey_ver of this key'))!;
    const file = requireString(values, 'file', 'the file holding the private key');
    let text: Buffer;
    try {
      text = readFileSync(file);
    } catch (err) {
      throw new ValidationError('KEY_FILE_UNREADABLE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const a = needApp(app);
    const info = await a.keys.add(corpid, version, text);
    io.out(info.added
      ? `key version ${version} added for ${corpid} (${info.bits} bits, fingerprint ${info.fingerprint.slice(0, 16)}…)`
      : `key version ${version} of ${corpid} was already stored (same key)`);
    // Messages that waited for this key decrypt now (design rule 3: nothing dropped, all retried).
    try {
      const done = await decryptWaiting(a, corpid, io.signal);
      if (done.requeued || done.messages) io.out(`decrypted ${done.messages} waiting message(s); ${done.failures} still waiting (see \`status\`)`);
    } catch (err) {
      io.err(`the waiting messages are queued and will decrypt on the next \`run\` (${(err as Error).message})`);
    }
  },
};

export const keysList: Command = {
  name: 'keys list',
  usage: 'keys list [--corp ID] [--json]',
  summary: 'list key versions and fingerprints (never key material)',
  options: { corp: { type: 'string' }, json: { type: 'boolean' } },
  async run({ app, values, io }) {
    const keys = await needApp(app).keys.list(optionalString(values, 'corp'));
    if (values.json) {
      io.out(JSON.stringify(keys));
      return;
    }
    if (keys.length === 0) io.out('no keys stored');
    for (const k of keys) io.out(`${k.corpid}  version ${k.version}  ${k.bits} bits  sha256:${k.fingerprint}  added ${new Date(k.createdAt).toISOString()}`);
  },
};
