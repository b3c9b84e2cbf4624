/**
 * Callback configurations: one per WeCom app whose "API receive" (接收消息) settings point at
 * `/callback/{corpid}/{app}` — a corp often has several (contacts, customer contact, archive).
 * The Token and EncodingAESKey are sealed at rest (aad names the corp and app); opened ones are
 * cached briefly so a burst of callbacks does not open them for every request.
 */
import type { Kysely } from 'kysely';
import { validateCorpId } from '../corps/corp-settings.ts';
import { NotFoundError, ValidationError } from '../errors/errors.ts';
import { bumpConfigRevision } from '../store/config-revision.ts';
import { inTransaction } from '../store/in-transaction.ts';
import type { Database } from '../store/schema.ts';
import { openSecret, sealSecret } from '../vault/secret-box.ts';
import { parseEncodingAesKey } from './callback-crypto.ts';

/** An opened callback configuration. Holds secrets: never log it. */
export interface CallbackApp {
  corpid: string;
  app: string;
  token: string;
  aesKey: Buffer;
  /** decrypted callbacks must be addressed to this (the corpid; '' for robots) */
  receiveId: string;
}

export interface CallbackAppSummary {
  corpid: string;
  app: string;
  receiveId: string;
  createdAt: number;
  updatedAt: number;
}

const APP_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const TOKEN = /^[A-Za-z0-9]{1,32}$/;
export const tokenAad = (corpid: string, app: string) => `callback:${corpid}:${app}:token`;
const aesKeyAad = (corpid: string, app: string) => `callback:${corpid}:${app}:aes-key`;

export function validateAppName(app: string): string {
  if (!APP_NAME.test(app))
    throw new ValidationError(
      'CALLBACK_APP_INVALID',
      `--app must be 1–64 letters, digits, "_" or "-" (it becomes part of the callback URL), got ${JSON.stringify(app.slice(0, 80))}`,
    );
  return app;
}

/** Checks an app's Token and EncodingAESKey as pasted from its "API receive" settings; neither appears in an error. */
export function validateCallbackSecrets(token: string, aesKey: string): void {
  // WeCom's admin console makes tokens of up to 32 letters and digits; anything else is a paste error.
  if (!TOKEN.test(token)) throw new ValidationError('CALLBACK_TOKEN_INVALID', '--token must be the Token of the app\'s "API receive" settings: 1–32 letters and digits');
  parseEncodingAesKey(aesKey);
}

/** A cache entry lives this long: `corp callback add` in another process takes effect within it. */
const CACHE_MS = 5_000;

export class CallbackAppRegistry {
  private readonly cache = new Map<string, { app: CallbackApp | null; until: number }>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly masterKey: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  /** Adds a configuration, or with `replace` changes it. */
  async add(input: { corpid: string; app: string; token: string; aesKey: string; receiveId?: string }, options: { replace?: boolean } = {}): Promise<void> {
    const corpid = validateCorpId(input.corpid);
    const app = validateAppName(input.app);
    validateCallbackSecrets(input.token, input.aesKey);
    const receiveId = input.receiveId ?? corpid;
    if (receiveId !== '' && !/^[A-Za-z0-9_-]{1,64}$/.test(receiveId))
      throw new ValidationError('CALLBACK_RECEIVEID_INVALID', '--receive-id must be the corpid, a suiteid, or empty for robots');
    const now = this.now();
    const row = {
      token_sealed: sealSecret(this.masterKey, input.token, tokenAad(corpid, app)),
      aes_key_sealed: sealSecret(this.masterKey, input.aesKey, aesKeyAad(corpid, app)),
      receive_id: receiveId,
      updated_at: now,
    };
    await inTransaction(this.db, async (trx) => {
      const corp = await trx.selectFrom('corps').select('corpid').where('corpid', '=', corpid).executeTakeFirst();
      if (!corp) throw new NotFoundError('CORP_NOT_FOUND', `corp ${corpid} is not configured; add it with \`wecom-archive corp add\` first`);
      const existing = await trx.selectFrom('callback_apps').select('app').where('corpid', '=', corpid).where('app', '=', app).executeTakeFirst();
      if (existing && !options.replace) throw new ValidationError('CALLBACK_APP_EXISTS', `callback app ${app} of corp ${corpid} already exists; use --replace to change it`);
      if (existing) await trx.updateTable('callback_apps').set(row).where('corpid', '=', corpid).where('app', '=', app).execute();
      else
        await trx
          .insertInto('callback_apps')
          .values({ corpid, app, created_at: now, ...row })
          .execute();
      // other processes drop their cached copy at their next look at the revision
      await bumpConfigRevision(trx);
    });
    this.cache.delete(`${corpid}/${app}`);
  }

  async remove(corpid: string, app: string): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      const r = await trx.deleteFrom('callback_apps').where('corpid', '=', corpid).where('app', '=', app).executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) throw new NotFoundError('CALLBACK_APP_NOT_FOUND', `corp ${corpid} has no callback app ${app}`);
      await bumpConfigRevision(trx);
    });
    this.cache.delete(`${corpid}/${app}`);
  }

  async list(corpid?: string): Promise<CallbackAppSummary[]> {
    let q = this.db.selectFrom('callback_apps').select(['corpid', 'app', 'receive_id', 'created_at', 'updated_at']);
    if (corpid !== undefined) q = q.where('corpid', '=', corpid);
    const rows = await q.orderBy('corpid').orderBy('app').execute();
    return rows.map((r) => ({ corpid: r.corpid, app: r.app, receiveId: r.receive_id, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at) }));
  }

  /**
   * Drops every cached configuration, so the next callback reads its app afresh: a running process
   * calls it when the configuration's revision moved (a token or key changed in another process).
   */
  forgetCached(): void {
    this.cache.clear();
  }

  /** The opened configuration, or null when there is none (the endpoint answers 404). */
  async find(corpid: string, app: string): Promise<CallbackApp | null> {
    const key = `${corpid}/${app}`;
    const now = this.now();
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.app;
    const row = await this.db.selectFrom('callback_apps').selectAll().where('corpid', '=', corpid).where('app', '=', app).executeTakeFirst();
    const opened: CallbackApp | null = row
      ? {
          corpid,
          app,
          token: openSecret(this.masterKey, row.token_sealed, tokenAad(corpid, app)).toString('utf8'),
          aesKey: parseEncodingAesKey(openSecret(this.masterKey, row.aes_key_sealed, aesKeyAad(corpid, app)).toString('utf8')),
          receiveId: row.receive_id,
        }
      : null;
    if (this.cache.size > 1000) this.cache.clear();
    this.cache.set(key, { app: opened, until: now + CACHE_MS });
    return opened;
  }
}
