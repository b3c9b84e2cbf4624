/**
 * The sinks a corp's events go to (`sinks add|list|remove|replay`). A webhook's HMAC key is sealed
 * under the master key (vault/secret-box.ts), bound to its sink; it is shown once, when it is
 * generated, and never again.
 *
 * A new sink starts at the corp's newest event: it receives what is archived from then on. A sink's
 * position row (sink_cursors) is created with it, in one transaction, so the delivery stage finds
 * every sink it should deliver.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { NotFoundError, ValidationError } from '../errors/errors.ts';
import type { Database, Sink } from '../store/schema.ts';
import { SINK_TYPES, type SinkType } from '../store/vocabulary.ts';
import { openSecret, sealSecret } from '../vault/secret-box.ts';

/** The default JetStream stream. */
export const DEFAULT_STREAM = 'WECOM_ARCHIVE';

/** What `sinks add` asks for. */
export interface NewSink {
  corpid: string;
  type: string;
  url: string;
  stream?: string | undefined;
  includeContent: boolean;
  /** the webhook's HMAC key; absent: one is generated */
  secret?: string | undefined;
}

/** A sink as `sinks list` shows it: its settings (never its secret) and how its delivery goes. */
export interface SinkSummary {
  id: number;
  corpid: string;
  type: SinkType;
  /** the URL without any password */
  url: string;
  stream: string | null;
  includeContent: boolean;
  disabled: boolean;
  /** events of the corp not delivered yet */
  backlog: number;
  deliveredSeq: number;
  /** failed tries of the event at the head */
  failures: number;
  lastError: string | null;
  lastSuccessAt: number | null;
  nextAttemptAt: number | null;
  deadLetters: number;
}

const STREAM_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const SECRET_MIN = 16;

/** Checks a sink's URL for its type: http(s) for a webhook, nats:// for NATS; no fragments, no spaces. */
export function validateSinkUrl(type: SinkType, text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValidationError('SINK_URL_INVALID', `--url is not a URL: ${JSON.stringify(text.slice(0, 200))}`);
  }
  const allowed = type === 'webhook' ? ['http:', 'https:'] : ['nats:'];
  if (!allowed.includes(url.protocol)) {
    throw new ValidationError('SINK_URL_INVALID', `a ${type} sink needs a ${type === 'webhook' ? 'http:// or https://' : 'nats://'} URL, got ${url.protocol}//…`);
  }
  if (url.hostname === '' || url.hash !== '' || /\s/.test(text) || text.length > 2048)
    throw new ValidationError('SINK_URL_INVALID', '--url needs a host, and no fragment or spaces (2048 characters at most)');
  // fetch refuses credentials in a URL, and a webhook authenticates the archive by its signature
  if (type === 'webhook' && (url.username !== '' || url.password !== '')) throw new ValidationError('SINK_URL_INVALID', 'a webhook URL cannot hold a user or password');
  if (type === 'nats' && ((url.pathname !== '' && url.pathname !== '/') || url.search !== ''))
    throw new ValidationError('SINK_URL_INVALID', 'a nats:// URL names a server only: nats://HOST:PORT');
  return text;
}

/** The URL as it may be shown: without its password. */
export function displayUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(invalid URL)';
  }
}

/** Where a webhook sink's secret is sealed to: opening it under any other sink fails. */
function secretAad(id: number): string {
  return `sink:${id}:secret`;
}

export class SinkRegistry {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly masterKey: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  /** Adds a sink; returns its id and, when it was generated, the webhook secret (to show once). */
  async add(input: NewSink): Promise<{ id: number; generatedSecret?: string }> {
    if (!(SINK_TYPES as readonly string[]).includes(input.type)) throw new ValidationError('SINK_TYPE_INVALID', `--type must be one of ${SINK_TYPES.join(', ')}`);
    const type = input.type as SinkType;
    const url = validateSinkUrl(type, input.url);
    if (type === 'webhook' && input.stream !== undefined) throw new ValidationError('SINK_STREAM_INVALID', '--stream is for nats sinks only');
    if (type === 'nats' && input.secret !== undefined) throw new ValidationError('SINK_SECRET_INVALID', 'a webhook secret is for webhook sinks only');
    const stream = type === 'nats' ? (input.stream ?? DEFAULT_STREAM) : null;
    if (stream !== null && !STREAM_NAME.test(stream)) throw new ValidationError('SINK_STREAM_INVALID', '--stream must be 1–64 letters, digits, "_" or "-"');
    if (input.secret !== undefined && Buffer.byteLength(input.secret) < SECRET_MIN)
      throw new ValidationError('SINK_SECRET_INVALID', `the webhook secret must be at least ${SECRET_MIN} bytes`);
    const generated = type === 'webhook' && input.secret === undefined ? randomBytes(32).toString('hex') : undefined;
    const secret = input.secret ?? generated;
    const now = this.now();
    const id = await this.db.transaction().execute(async (trx) => {
      const corp = await trx.selectFrom('corps').select('corpid').where('corpid', '=', input.corpid).executeTakeFirst();
      if (!corp) throw new NotFoundError('CORP_NOT_FOUND', `corp ${input.corpid} is not configured; add it with \`wecom-archive corp add\``);
      const inserted = await trx
        .insertInto('sinks')
        .values({ corpid: input.corpid, type, url, stream, include_content: input.includeContent ? 1 : 0, secret_sealed: null, disabled: 0, created_at: now, updated_at: now })
        .executeTakeFirst();
      // SQLite and MySQL report the new id; PostgreSQL does not without RETURNING, which MySQL lacks
      const sinkId = Number(
        inserted.insertId ??
          (await trx.selectFrom('sinks').select('id').where('corpid', '=', input.corpid).where('url', '=', url).orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow()).id,
      );
      if (type === 'webhook')
        await trx
          .updateTable('sinks')
          .set({ secret_sealed: sealSecret(this.masterKey, secret!, secretAad(sinkId)) })
          .where('id', '=', sinkId)
          .execute();
      const counter = await trx.selectFrom('event_counters').select('last_seq').where('corpid', '=', input.corpid).executeTakeFirst();
      // created here, before any event, so the writers only ever update it (no two of them race to create it)
      if (!counter) await trx.insertInto('event_counters').values({ corpid: input.corpid, last_seq: 0 }).execute();
      await trx
        .insertInto('sink_cursors')
        .values({
          sink_id: sinkId,
          corpid: input.corpid,
          delivered_seq: Number(counter?.last_seq ?? 0),
          state: 'idle',
          attempts: 0,
          next_attempt_at: 0,
          last_error: null,
          last_success_at: null,
          lease_owner: null,
          lease_until: null,
          updated_at: now,
        })
        .execute();
      return sinkId;
    });
    return generated === undefined ? { id } : { id, generatedSecret: generated };
  }

  /** A sink by id, or NotFoundError. */
  async get(id: number): Promise<Sink> {
    const sink = await this.db.selectFrom('sinks').selectAll().where('id', '=', id).executeTakeFirst();
    if (!sink) throw new NotFoundError('SINK_NOT_FOUND', `no sink ${id}; see \`wecom-archive sinks list\``);
    return sink;
  }

  /** The webhook secret of a sink (null for NATS). */
  secretOf(sink: Pick<Sink, 'id' | 'secret_sealed'>): Buffer | null {
    return sink.secret_sealed === null ? null : openSecret(this.masterKey, sink.secret_sealed, secretAad(Number(sink.id)));
  }

  /** Every sink (of one corp), with its backlog and failures. */
  async list(corpid?: string): Promise<SinkSummary[]> {
    let q = this.db
      .selectFrom('sinks as s')
      .leftJoin('sink_cursors as c', 'c.sink_id', 's.id')
      .select([
        's.id',
        's.corpid',
        's.type',
        's.url',
        's.stream',
        's.include_content',
        's.disabled',
        'c.delivered_seq',
        'c.attempts',
        'c.last_error',
        'c.last_success_at',
        'c.next_attempt_at',
      ])
      .select((eb) => [
        eb
          .selectFrom('event_outbox as e')
          .select((e) => e.fn.countAll<number>().as('n'))
          .whereRef('e.corpid', '=', 's.corpid')
          .whereRef('e.seq', '>', 'c.delivered_seq')
          .as('backlog'),
        eb
          .selectFrom('sink_dead_letters as d')
          .select((e) => e.fn.countAll<number>().as('n'))
          .whereRef('d.sink_id', '=', 's.id')
          .as('dead'),
      ])
      .orderBy('s.id');
    if (corpid !== undefined) q = q.where('s.corpid', '=', corpid);
    const rows = await q.execute();
    return rows.map((r) => ({
      id: Number(r.id),
      corpid: r.corpid,
      type: r.type,
      url: displayUrl(r.url),
      stream: r.stream,
      includeContent: Number(r.include_content) === 1,
      disabled: Number(r.disabled) === 1,
      backlog: Number(r.backlog ?? 0),
      deliveredSeq: Number(r.delivered_seq ?? 0),
      failures: Number(r.attempts ?? 0),
      lastError: r.last_error ?? null,
      lastSuccessAt: r.last_success_at === null ? null : Number(r.last_success_at),
      nextAttemptAt: r.next_attempt_at === null ? null : Number(r.next_attempt_at),
      deadLetters: Number(r.dead ?? 0),
    }));
  }

  /**
   * Removes a sink with its position and dead letters. Events no other sink of the corp still needs
   * are deleted with it (the delivery stage prunes the rest as the others pass them).
   */
  async remove(id: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const sink = await trx.selectFrom('sinks').select(['corpid']).where('id', '=', id).executeTakeFirst();
      if (!sink) throw new NotFoundError('SINK_NOT_FOUND', `no sink ${id}; see \`wecom-archive sinks list\``);
      await trx.deleteFrom('sink_dead_letters').where('sink_id', '=', id).execute();
      await trx.deleteFrom('sink_cursors').where('sink_id', '=', id).execute();
      await trx.deleteFrom('sinks').where('id', '=', id).execute();
      const others = await trx.selectFrom('sinks').select('id').where('corpid', '=', sink.corpid).limit(1).executeTakeFirst();
      if (!others) await trx.deleteFrom('event_outbox').where('corpid', '=', sink.corpid).execute();
    });
  }

  /** Asks for the sink's dead letters to be delivered again (by the running delivery stage); returns how many. */
  async replay(id: number): Promise<number> {
    await this.get(id);
    const r = await this.db.updateTable('sink_dead_letters').set({ state: 'replay' }).where('sink_id', '=', id).where('state', '=', 'dead').executeTakeFirst();
    return Number(r.numUpdatedRows);
  }
}
