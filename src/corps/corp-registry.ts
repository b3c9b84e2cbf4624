import type { Kysely } from 'kysely';
import { NotFoundError, ValidationError } from '../errors/errors.ts';
import { bumpConfigRevision } from '../store/config-revision.ts';
import { inTransaction } from '../store/in-transaction.ts';
import type { Database } from '../store/schema.ts';
import { encodeSeq } from '../store/seq-codec.ts';
import { openSecret, sealSecret } from '../vault/secret-box.ts';
import { formatSdkSpec, maskUrlCredentials, type SdkSpec, storedSdkSpec, validateCorpSettings } from './corp-settings.ts';

/** A corp as the pipeline needs it, secrets opened. Never log this object. */
export interface CorpConfig {
  corpid: string;
  secret: string;
  sdk: SdkSpec;
  proxy: string | null;
  proxyAuth: string | null;
  limit: number;
  timeoutS: number;
}

/** What `corp list` shows: no secret. */
export interface CorpSummary {
  corpid: string;
  sdk: string;
  proxy: string | null;
  hasProxyAuth: boolean;
  limit: number;
  timeoutS: number;
  keyVersions: number[];
  createdAt: number;
}

export const secretAad = (corpid: string) => `corp:${corpid}:secret`;
const proxyAuthAad = (corpid: string) => `corp:${corpid}:proxy-auth`;

/** Corps and their settings; secrets are sealed with the master key before they reach the database. */
export class CorpRegistry {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly masterKey: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  /** Adds a corp, or with `replace` updates its settings. Its cursor starts at seq 0. */
  async add(corp: CorpConfig, options: { replace?: boolean } = {}): Promise<void> {
    validateCorpSettings(corp);
    const now = this.now();
    const row = {
      secret_sealed: sealSecret(this.masterKey, corp.secret, secretAad(corp.corpid)),
      sdk: formatSdkSpec(corp.sdk),
      proxy: corp.proxy,
      proxy_auth_sealed: corp.proxyAuth === null ? null : sealSecret(this.masterKey, corp.proxyAuth, proxyAuthAad(corp.corpid)),
      chat_limit: corp.limit,
      timeout_s: corp.timeoutS,
      updated_at: now,
    };
    await inTransaction(this.db, async (trx) => {
      const existing = await trx.selectFrom('corps').select('corpid').where('corpid', '=', corp.corpid).executeTakeFirst();
      if (existing && !options.replace) throw new ValidationError('CORP_EXISTS', `corp ${corp.corpid} is already configured; remove it first or use --replace`);
      if (existing) await trx.updateTable('corps').set(row).where('corpid', '=', corp.corpid).execute();
      else
        await trx
          .insertInto('corps')
          .values({ corpid: corp.corpid, created_at: now, ...row })
          .execute();
      const cursor = await trx.selectFrom('cursors').select('corpid').where('corpid', '=', corp.corpid).executeTakeFirst();
      if (!cursor) {
        await trx
          .insertInto('cursors')
          .values({
            corpid: corp.corpid,
            seq: encodeSeq(0n),
            state: 'ok',
            last_error_code: null,
            last_error: null,
            last_pull_at: null,
            last_success_at: null,
            caught_up_at: null,
            newest_msgtime: null,
            decrypted_seq: null,
            lease_owner: null,
            lease_until: null,
            updated_at: now,
          })
          .execute();
      }
      // running archives start, or restart with these settings, at their next look at the revision
      await bumpConfigRevision(trx);
    });
  }

  async list(): Promise<CorpSummary[]> {
    const corps = await this.db.selectFrom('corps').selectAll().orderBy('corpid').execute();
    const keys = await this.db.selectFrom('key_versions').select(['corpid', 'version']).orderBy('version').execute();
    return corps.map((c) => ({
      corpid: c.corpid,
      // settings stored before URLs with credentials were refused may still hold some: never show them
      sdk: maskUrlCredentials(c.sdk),
      proxy: c.proxy,
      hasProxyAuth: c.proxy_auth_sealed !== null,
      limit: c.chat_limit,
      timeoutS: c.timeout_s,
      keyVersions: keys.filter((k) => k.corpid === c.corpid).map((k) => k.version),
      createdAt: Number(c.created_at),
    }));
  }

  /** Refuses a corp that is not configured (CORP_NOT_FOUND), without opening its secrets. */
  async assertKnown(corpid: string): Promise<void> {
    const c = await this.db.selectFrom('corps').select('corpid').where('corpid', '=', corpid).executeTakeFirst();
    if (!c) throw corpNotFound(corpid);
  }

  /** The corp with its secrets opened, for the pipeline. */
  async get(corpid: string): Promise<CorpConfig> {
    const c = await this.db.selectFrom('corps').selectAll().where('corpid', '=', corpid).executeTakeFirst();
    if (!c) throw corpNotFound(corpid);
    return {
      corpid: c.corpid,
      secret: openSecret(this.masterKey, c.secret_sealed, secretAad(c.corpid)).toString('utf8'),
      sdk: storedSdkSpec(c.sdk),
      proxy: c.proxy,
      proxyAuth: c.proxy_auth_sealed === null ? null : openSecret(this.masterKey, c.proxy_auth_sealed, proxyAuthAad(c.corpid)).toString('utf8'),
      limit: c.chat_limit,
      timeoutS: c.timeout_s,
    };
  }

  async ids(): Promise<string[]> {
    return (await this.db.selectFrom('corps').select('corpid').orderBy('corpid').execute()).map((r) => r.corpid);
  }

  /**
   * Stops archiving a corp: its settings and secret go. Its keys, cursor, envelopes and messages
   * stay (the archive is the only lasting copy), so adding the corp again resumes where it was.
   */
  async remove(corpid: string): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      const result = await trx.deleteFrom('corps').where('corpid', '=', corpid).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) throw new NotFoundError('CORP_NOT_FOUND', `corp ${corpid} is not configured`);
      // running archives stop the corp's archiver at their next look at the revision
      await bumpConfigRevision(trx);
    });
  }
}

const corpNotFound = (corpid: string) => new NotFoundError('CORP_NOT_FOUND', `corp ${corpid} is not configured; add it with \`wecom-archive corp add\``);
