import type { KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import { NotFoundError, ValidationError } from '../errors/errors.ts';
import { bumpConfigRevision } from '../store/config-revision.ts';
import { inTransaction } from '../store/in-transaction.ts';
import type { Database } from '../store/schema.ts';
import { generateRsaKeyPair, parseRsaPrivateKey, privateKeyToPkcs8Pem, publicKeyFingerprint, rsaKeyBits } from './rsa-key.ts';
import { decodeEncryptRandomKey, rsaPkcs1v15Decrypt } from './rsa-pkcs1.ts';
import { openSecret, sealSecret } from './secret-box.ts';

/** What may be shown about a key: never its material. */
export interface KeyInfo {
  corpid: string;
  version: number;
  fingerprint: string;
  bits: number;
  createdAt: number;
}

/**
 * How a key fared against stored envelopes of its version: `tried` envelopes (waiting ones first),
 * `opened` of them whose encrypt_random_key it decrypted. Opening none of several means the key is
 * not the one WeCom encrypted that version for (another corp's key, another version's).
 */
export interface KeyCheck {
  tried: number;
  opened: number;
}

/** What `keys replace` did: fingerprints only, never key material. */
export interface KeyReplacement {
  corpid: string;
  version: number;
  oldFingerprint: string;
  newFingerprint: string;
  /** false when the stored key already was this one */
  replaced: boolean;
  /** messages the old key had decrypted */
  decryptedMessages: number;
  /** waiting envelopes of the version queued again */
  requeued: number;
  check: KeyCheck;
}

/** Envelopes a key is tried on: enough to tell a wrong key from a right one, few enough to be instant. */
const CHECK_ENVELOPES = 8;
/** newest envelopes of a state the check looks among */
const CHECK_WINDOW = 5000;

export const keyAad = (corpid: string, version: number) => `key:${corpid}:${version}`;

export function validateKeyVersion(version: number): number {
  if (!Number.isInteger(version) || version < 1 || version > 1_000_000)
    throw new ValidationError('KEY_VERSION_INVALID', `key version must be a positive integer (the publickey_ver WeCom shows next to the public key), got ${version}`);
  return version;
}

/**
 * The RSA private keys of each corp, one per publickey_ver, sealed at rest and kept forever:
 * WeCom raises publickey_ver every time a new public key is set, and older messages still need the
 * older keys. The one exception is a wrong key stored by mistake, which `replace` swaps (and records).
 */
export class KeyVault {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly masterKey: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Stores a pasted private key (PKCS#1/PKCS#8, PEM with or without headers) and tries it on stored
   * envelopes of its version. Re-adding the same key is a no-op.
   */
  async add(corpid: string, version: number, keyText: string | Buffer): Promise<KeyInfo & { added: boolean; check: KeyCheck }> {
    validateKeyVersion(version);
    const key = parseRsaPrivateKey(keyText);
    const info = await this.store(corpid, version, key);
    return { ...info, check: await this.check(corpid, version, key) };
  }

  /**
   * Replaces the key of a version, for a wrong key stored by mistake. Refused when the stored key has
   * already decrypted messages (it is then the right key for them) unless `force`. The version's
   * waiting envelopes are queued again, and the replacement is recorded in key_history, in the same
   * transaction.
   */
  async replace(corpid: string, version: number, keyText: string | Buffer, options: { force?: boolean } = {}): Promise<KeyReplacement> {
    validateKeyVersion(version);
    const key = parseRsaPrivateKey(keyText);
    await this.requireCorp(corpid);
    const newFingerprint = publicKeyFingerprint(key);
    const bits = rsaKeyBits(key);
    const check = await this.check(corpid, version, key);
    return inTransaction(this.db, async (trx) => {
      const existing = await trx.selectFrom('key_versions').select('fingerprint').where('corpid', '=', corpid).where('version', '=', version).executeTakeFirst();
      if (!existing)
        throw new NotFoundError(
          'KEY_VERSION_NOT_FOUND',
          `corp ${corpid} has no key of version ${version} to replace; add it with \`wecom-archive keys add --corp ${corpid} --version ${version} --file PEM\``,
        );
      const same = { corpid, version, oldFingerprint: existing.fingerprint, newFingerprint, decryptedMessages: 0, requeued: 0, check };
      if (existing.fingerprint === newFingerprint) return { ...same, replaced: false };
      const decryptedMessages = await countDecrypted(trx, corpid, version);
      if (decryptedMessages > 0 && !options.force) {
        throw new ValidationError(
          'KEY_IN_USE',
          `the key of version ${version} of corp ${corpid} (fingerprint ${existing.fingerprint.slice(0, 16)}…) has already decrypted ${decryptedMessages} message(s), ` +
            'so it is the key WeCom used for them and is kept. Give --force only if you know this version had two keys (the messages already decrypted stay as they are)',
        );
      }
      const now = this.now();
      await trx
        .updateTable('key_versions')
        .set({ private_key_sealed: sealSecret(this.masterKey, privateKeyToPkcs8Pem(key), keyAad(corpid, version)), fingerprint: newFingerprint, bits, created_at: now })
        .where('corpid', '=', corpid)
        .where('version', '=', version)
        .execute();
      await trx
        .insertInto('key_history')
        .values({
          corpid,
          version,
          old_fingerprint: existing.fingerprint,
          new_fingerprint: newFingerprint,
          decrypted_messages: decryptedMessages,
          forced: options.force ? 1 : 0,
          replaced_at: now,
        })
        .execute();
      // Whatever they wait for (an RSA failure under the old key, or an SDK error on what it wrongly
      // decrypted), the new key may change the outcome: the next drain tries them again.
      const requeued = await trx
        .updateTable('envelopes')
        .set({ state: 'retry', updated_at: now })
        .where('corpid', '=', corpid)
        .where('publickey_ver', '=', version)
        .where('state', '=', 'waiting')
        .executeTakeFirst();
      // running archives load the new key at their next look at the revision (app/corp-fleet.ts)
      await bumpConfigRevision(trx);
      return { ...same, decryptedMessages, requeued: Number(requeued.numUpdatedRows), replaced: true };
    });
  }

  /** Past replacements of a corp's keys, oldest first (fingerprints only). */
  async history(
    corpid: string,
  ): Promise<Array<{ version: number; oldFingerprint: string; newFingerprint: string; decryptedMessages: number; forced: boolean; replacedAt: number }>> {
    const rows = await this.db.selectFrom('key_history').selectAll().where('corpid', '=', corpid).orderBy('id').execute();
    return rows.map((r) => ({
      version: r.version,
      oldFingerprint: r.old_fingerprint,
      newFingerprint: r.new_fingerprint,
      decryptedMessages: Number(r.decrypted_messages),
      forced: r.forced === 1,
      replacedAt: Number(r.replaced_at),
    }));
  }

  /**
   * Tries the key on the latest stored envelopes of its version, waiting ones first. Each state is
   * looked at only in its newest rows (through the state index), so the check costs the same on an
   * archive of millions of envelopes, even for a version none of them has.
   */
  private async check(corpid: string, version: number, key: KeyObject): Promise<KeyCheck> {
    const rows: Array<{ encrypt_random_key: string }> = [];
    for (const state of ['waiting', 'retry', 'pending', 'done'] as const) {
      if (rows.length >= CHECK_ENVELOPES) break;
      const recent = this.db
        .selectFrom('envelopes')
        .select(['encrypt_random_key', 'publickey_ver', 'seq'])
        .where('state', '=', state)
        .where('corpid', '=', corpid)
        .orderBy('seq', 'desc')
        .limit(CHECK_WINDOW)
        .as('recent');
      rows.push(
        ...(await this.db
          .selectFrom(recent)
          .select('recent.encrypt_random_key')
          .where('recent.publickey_ver', '=', version)
          .orderBy('recent.seq', 'desc')
          .limit(CHECK_ENVELOPES - rows.length)
          .execute()),
      );
    }
    let opened = 0;
    for (const row of rows) {
      try {
        rsaPkcs1v15Decrypt(key, decodeEncryptRandomKey(row.encrypt_random_key));
        opened += 1;
      } catch {
        // a wrong key, or a damaged value: either way not opened
      }
    }
    return { tried: rows.length, opened };
  }

  /** Makes a new RSA-2048 pair; returns the public key PEM to paste into the admin console. */
  async generate(corpid: string, version?: number): Promise<KeyInfo & { publicKeyPem: string }> {
    await this.requireCorp(corpid);
    const next = version ?? (await this.nextVersion(corpid));
    const { privateKey, publicKeyPem } = generateRsaKeyPair();
    const info = await this.store(corpid, validateKeyVersion(next), privateKey);
    if (!info.added) throw new ValidationError('KEY_VERSION_EXISTS', `corp ${corpid} already has a key of version ${next}`);
    return { ...info, publicKeyPem };
  }

  async list(corpid?: string): Promise<KeyInfo[]> {
    let query = this.db.selectFrom('key_versions').select(['corpid', 'version', 'fingerprint', 'bits', 'created_at']).orderBy('corpid').orderBy('version');
    if (corpid !== undefined) query = query.where('corpid', '=', corpid);
    return (await query.execute()).map((r) => ({ corpid: r.corpid, version: r.version, fingerprint: r.fingerprint, bits: r.bits, createdAt: Number(r.created_at) }));
  }

  /** Every private key of a corp by version, opened. Keep them in memory only. */
  async privateKeys(corpid: string): Promise<Map<number, KeyObject>> {
    const rows = await this.db.selectFrom('key_versions').select(['version', 'private_key_sealed']).where('corpid', '=', corpid).execute();
    return new Map(rows.map((r) => [r.version, parseRsaPrivateKey(openSecret(this.masterKey, r.private_key_sealed, keyAad(corpid, r.version)))]));
  }

  private async store(corpid: string, version: number, key: KeyObject): Promise<KeyInfo & { added: boolean }> {
    await this.requireCorp(corpid);
    const fingerprint = publicKeyFingerprint(key);
    const bits = rsaKeyBits(key);
    const existing = await this.db.selectFrom('key_versions').select(['fingerprint', 'created_at']).where('corpid', '=', corpid).where('version', '=', version).executeTakeFirst();
    if (existing) {
      if (existing.fingerprint !== fingerprint) {
        throw new ValidationError(
          'KEY_VERSION_CONFLICT',
          `corp ${corpid} already has a different key for version ${version} (fingerprint ${existing.fingerprint.slice(0, 16)}…). A new key pair gets the next version WeCom shows; ` +
            `if the stored key is the wrong one, swap it with \`wecom-archive keys replace --corp ${corpid} --version ${version} --file PEM\``,
        );
      }
      return { corpid, version, fingerprint, bits, createdAt: Number(existing.created_at), added: false };
    }
    const createdAt = this.now();
    const sealed = sealSecret(this.masterKey, privateKeyToPkcs8Pem(key), keyAad(corpid, version));
    await inTransaction(this.db, async (trx) => {
      await trx.insertInto('key_versions').values({ corpid, version, private_key_sealed: sealed, fingerprint, bits, created_at: createdAt }).execute();
      // running archives try waiting envelopes with it at their next look at the revision
      await bumpConfigRevision(trx);
    });
    return { corpid, version, fingerprint, bits, createdAt, added: true };
  }

  private async nextVersion(corpid: string): Promise<number> {
    const row = await this.db
      .selectFrom('key_versions')
      .select((eb) => eb.fn.max('version').as('v'))
      .where('corpid', '=', corpid)
      .executeTakeFirst();
    return Number(row?.v ?? 0) + 1;
  }

  private async requireCorp(corpid: string): Promise<void> {
    const corp = await this.db.selectFrom('corps').select('corpid').where('corpid', '=', corpid).executeTakeFirst();
    if (!corp) throw new NotFoundError('CORP_NOT_FOUND', `corp ${corpid} is not configured; add it with \`wecom-archive corp add\` first`);
  }
}

/** Messages decrypted from envelopes of this key version. */
async function countDecrypted(db: Kysely<Database>, corpid: string, version: number): Promise<number> {
  const row = await db
    .selectFrom('messages')
    .innerJoin('envelopes', (join) => join.onRef('envelopes.corpid', '=', 'messages.corpid').onRef('envelopes.msgid', '=', 'messages.msgid'))
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('messages.corpid', '=', corpid)
    .where('envelopes.publickey_ver', '=', version)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
