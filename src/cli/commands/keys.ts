import { readFileSync } from 'node:fs';
import type { App } from '../../app/app.ts';
import { createLogger } from '../../app/logger.ts';
import { decryptWaiting } from '../../app/decrypt-waiting.ts';
import { requireArchivedCorpOfNone } from '../../corps/archived-corp.ts';
import { ValidationError } from '../../errors/errors.ts';
import type { KeyCheck } from '../../vault/key-vault.ts';
import { type Command, type CommandIo, needApp, optionalString, requireString } from '../command.ts';

function parseVersion(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1)
    throw new ValidationError('KEY_VERSION_INVALID', `--version must be a positive integer (the publickey_ver WeCom shows beside the public key), got ${JSON.stringify(text)}`);
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
    io.err(
      `generated key version ${key.version} for ${corpid} (fingerprint ${key.fingerprint.slice(0, 16)}…). Paste this public key into the WeCom admin console (会话内容存档 → 消息加密公钥):`,
    );
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
    const text = readKeyFile(requireString(values, 'file', 'the file holding the private key'));
    const a = needApp(app);
    const info = await a.keys.add(corpid, version, text);
    io.out(
      info.added
        ? `key version ${version} added for ${corpid} (${info.bits} bits, fingerprint ${info.fingerprint.slice(0, 16)}…)`
        : `key version ${version} of ${corpid} was already stored (same key)`,
    );
    reportCheck(io, corpid, version, info.check);
    await decryptNow(a, corpid, io);
  },
};

export const keysReplace: Command = {
  name: 'keys replace',
  usage: 'keys replace --corp ID --version N --file PEM [--force]',
  summary: 'swap a wrong key of a version for the right one (refused once the stored key has decrypted messages, unless --force)',
  options: { corp: { type: 'string' }, version: { type: 'string' }, file: { type: 'string' }, force: { type: 'boolean' } },
  async run({ app, config, values, io }) {
    const corpid = requireString(values, 'corp', 'the corp ID');
    const version = parseVersion(requireString(values, 'version', 'the publickey_ver of the key to replace'))!;
    const text = readKeyFile(requireString(values, 'file', 'the file holding the right private key'));
    const a = needApp(app);
    const r = await a.keys.replace(corpid, version, text, { force: values.force === true });
    if (!r.replaced) {
      io.out(`key version ${version} of ${corpid} already is this key (fingerprint ${r.newFingerprint.slice(0, 16)}…); nothing replaced`);
      return;
    }
    // every replacement is logged, by fingerprint only (and kept in key_history)
    createLogger(config.logLevel).warn(
      {
        corp: corpid,
        stage: 'keys',
        version,
        oldFingerprint: r.oldFingerprint,
        newFingerprint: r.newFingerprint,
        decryptedMessages: r.decryptedMessages,
        forced: values.force === true,
      },
      'private key replaced',
    );
    io.out(`key version ${version} of ${corpid} replaced: sha256:${r.oldFingerprint} → sha256:${r.newFingerprint}; ${r.requeued} waiting envelope(s) queued again`);
    reportCheck(io, corpid, version, r.check);
    await decryptNow(a, corpid, io);
  },
};

function readKeyFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ValidationError('KEY_FILE_UNREADABLE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Says how the key fared on stored envelopes of its version; a key that opens none is almost surely wrong. */
function reportCheck(io: CommandIo, corpid: string, version: number, check: KeyCheck): void {
  if (check.tried === 0) return;
  if (check.opened === 0) {
    io.err(
      `warning: this key decrypts none of the ${check.tried} stored envelope(s) of version ${version} it was tried on: it is not the private key of the public key ` +
        `WeCom used for version ${version} of ${corpid} (another corp's key, or another version's?). The right key's fingerprint is the SHA-256 of the public key set in the admin console ` +
        `(\`openssl pkey -pubin -in public.pem -outform DER | sha256sum\`); store it with \`wecom-archive keys replace --corp ${corpid} --version ${version} --file RIGHT.pem\``,
    );
  } else {
    io.out(`checked on ${check.tried} stored envelope(s) of version ${version}: decrypts ${check.opened}`);
  }
}

/** Messages that waited for this key decrypt now (docs/design.md rule 3: nothing dropped, all retried). */
async function decryptNow(app: App, corpid: string, io: CommandIo): Promise<void> {
  try {
    const done = await decryptWaiting(app, corpid, io.signal);
    if (done.requeued || done.messages) io.out(`decrypted ${done.messages} waiting message(s); ${done.failures} still waiting (see \`status\`)`);
  } catch (err) {
    io.err(`the waiting messages are queued and will decrypt on the next \`run\` (${(err as Error).message})`);
  }
}

export const keysList: Command = {
  name: 'keys list',
  usage: 'keys list [--corp ID] [--json]',
  summary: 'list key versions and fingerprints (never key material)',
  options: { corp: { type: 'string' }, json: { type: 'boolean' } },
  async run({ app, values, io }) {
    const a = needApp(app);
    const corpid = optionalString(values, 'corp');
    const keys = await a.keys.list(corpid);
    await requireArchivedCorpOfNone(a.store.db, corpid, keys.length);
    if (values.json) {
      io.out(JSON.stringify(keys));
      return;
    }
    if (keys.length === 0) io.out('no keys stored');
    for (const k of keys) io.out(`${k.corpid}  version ${k.version}  ${k.bits} bits  sha256:${k.fingerprint}  added ${new Date(k.createdAt).toISOString()}`);
  },
};
