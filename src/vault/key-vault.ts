import type { KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import { NotFoundError, ValidationError } from '../errors/errors.ts';
import type { Database } from '../store/schema.ts';
import { generateRsaKeyPair, parseRsaPrivateKey, privateKeyToPkcs8Pem, publicKeyFingerprint, rsaKeyBits } from './rsa-key.ts';
import { openSecret, sealSecret } from './secret-box.ts';

/** What may be shown about a key: never its material. */
export interface KeyInfo {
  corpid: string;
  version: number;
  fingerprint: string;
  bits: number;
  createdAt: number;
}

const keyAad = (corpid: string, version: number) => `key:${corpid}:${version}`;

export function validateKeyVersion(version: number): number {
  if (!Number.isInteger(version) || version < 1 || version > 1_000_000) throw new ValidationError('KEY_VERSION_INVALID', `key version must be a positive integer (the publickey_ver WeCom shows next to the public key), got ${version}`);
  return version;
}

/**
 * The RSA private keys of each corp, one per publickey_ver, sealed at rest and kept forever:
 * WeCom raises publickey_ver every time a new public key is set, and older messages still need the
 * older keys.
 */
export class KeyVault {
  constructor(private readonly db: Kysely<Database>, private readonly masterKey: Buffer, private readonly now: () => number = Date.now) {}

  /** Stores a pasted private key (PKCS#1/PKCS#8, PEM with or without headers). Re-adding the same key is a no-op. */
  async add(corpid: string, version: number, keyText: string | Buffer): Promise<KeyInfo & { added: boolean }> {
    validateKeyVersion(version);
    const key = parseRsaPrivateKey(keyText);
    return this.store(corpid, version, key);
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
        throw new ValidationError('KEY_VERSION_CONFLICT', `corp ${corpid} already has a different key for version ${version} (fingerprint ${existing.fingerprint.slice(0, 16)}…); keys are kept forever, so give the new key the next version WeCom shows`);
      }
      return { corpid, version, fingerprint, bits, createdAt: Number(existing.created_at), added: false };
    }
    const createdAt = this.now();
    const sealed = sealSecret(this.masterKey, privateKeyToPkcs8Pem(key), keyAad(corpid, version));
    await this.db.insertInto('key_versions').values({ corpid, version, private_key_sealed: sealed, fingerprint, bits, created_at: createdAt }).execute();
    return { corpid, version, fingerprint, bits, createdAt, added: true };
  }

  private async nextVersion(corpid: string): Promise<number> {
    const row = await this.db.selectFrom('key_versions').select((eb) => eb.fn.max('version').as('v')).where('corpid', '=', corpid).executeTakeFirst();
    return Number(row?.v ?? 0) + 1;
  }

  private async requireCorp(corpid: string): Promise<void> {
    const corp = await this.db.selectFrom('corps').select('corpid').where('corpid', '=', corpid).executeTakeFirst();
    if (!corp) throw new NotFoundError('CORP_NOT_FOUND', `corp ${corpid} is not configured; add it with \`wecom-archive corp add\` first`);
  }
}
