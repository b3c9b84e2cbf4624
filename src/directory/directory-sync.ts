/**
 * The directory stage: describes, through the WeCom API, every id the archive meets, so readers see
 * names instead of `wmGAgeDQ…`. Three sources of work:
 * - full syncs: departments and members, tags, customer groups, the permit list, callback IPs;
 * - a scan of archived messages for ids the directory does not know (a watermark on seq, so each
 *   message is scanned once), which queues them;
 * - the refresh queue (dir_refresh_queue), filled by the scan and by callback event handlers, and
 *   claimed id by id with a lease, so processes sharing the database describe each id once.
 * Each queued id is retried with backoff; what WeCom refuses for good is given up and stays visible.
 */
import type { Logger } from '../app/logger.ts';
import { WeComApiError } from '../errors/wecom-codes.ts';
import { doublingBackoff } from '../runtime/backoff.ts';
import type { RetryPolicy } from '../store/claims/claim-queue.ts';
import { isDatabaseUnavailable } from '../store/database-health.ts';
import { newLeaseOwner } from '../store/lease-owner.ts';
import type { DirRefreshQueueRow, RefreshReason } from '../store/schema.ts';
import { ApiSecretMissingError } from '../wecom-api/api-errors.ts';
import type { WeComApiClient } from '../wecom-api/wecom-api-client.ts';
import {
  checkRoomAgree,
  checkSingleAgree,
  getCallbackIp,
  getCustomerGroup,
  getExternalContact,
  getInternalGroup,
  getPermitUserList,
  getRobotInfo,
  getTag,
  getUser,
  listCustomerGroupIds,
  listDepartments,
  listDepartmentUsers,
  listTags,
  type ApiGroup,
  type ApiUser,
} from '../wecom-api/wecom-endpoints.ts';
import type { DirectoryStore, RefreshKind } from './directory-store.ts';
import { isPlausibleId, isPlausibleRoomId, personKind } from './id-kinds.ts';
import type { SyncPart } from '../store/vocabulary.ts';

export type { SyncPart };

export interface DirectorySyncDeps {
  store: DirectoryStore;
  log: Logger;
  now(): number;
}

export interface QueuePolicy {
  /** tries of a transient failure before giving up */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** how long a refresh that lacks a secret waits before it is looked at again */
  missingSecretDelayMs: number;
  /** how long claimed ids are this process's (REFRESH_LEASE_MS when absent) */
  leaseMs?: number;
}

/**
 * How long a process keeps the ids it claimed from the refresh queue: a round of 50 ids, 4 at a
 * time, each API call with its retries, ends well within it. A lease that runs out costs only a
 * second description of the same id by another process.
 */
export const REFRESH_LEASE_MS = 10 * 60_000;

export const DEFAULT_QUEUE_POLICY: QueuePolicy = { maxAttempts: 8, baseDelayMs: 30_000, maxDelayMs: 3_600_000, missingSecretDelayMs: 3_600_000 };

const SCAN_BATCH = 1000;
const PARALLEL = 4;

/** Runs `fn` over items, `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(lanes);
}

function errorCode(err: unknown): number | null {
  return err instanceof WeComApiError ? err.wecomCode : null;
}

export class DirectorySync {
  /** who holds this process's refresh queue leases: host/pid/random */
  readonly owner = newLeaseOwner();

  /** a failed description is tried again after a doubling delay, and given up after maxAttempts tries */
  private readonly retry: RetryPolicy;

  constructor(
    private readonly deps: DirectorySyncDeps,
    private readonly policy: QueuePolicy = DEFAULT_QUEUE_POLICY,
  ) {
    this.retry = { backoff: doublingBackoff(policy.baseDelayMs, policy.maxDelayMs), maxAttempts: policy.maxAttempts };
  }

  /**
   * Runs one part and records how it went in dir_sync_state (status shows it). Never throws for
   * WeCom or configuration errors: those are recorded and logged; an abort is passed on.
   */
  async runPart(corpid: string, part: SyncPart, fn: () => Promise<{ items: number; watermark?: string | null }>, signal?: AbortSignal): Promise<boolean> {
    const { store, log } = this.deps;
    const started = performance.now();
    await store.syncStarted(corpid, part);
    try {
      const result = await fn();
      const durationMs = performance.now() - started;
      await store.syncSucceeded(corpid, part, { items: result.items, durationMs, ...(result.watermark !== undefined ? { watermark: result.watermark } : {}) });
      if (part !== 'scan' && part !== 'refresh') log.info({ corp: corpid, stage: 'directory', part, items: result.items, ms: Math.round(durationMs) }, 'directory sync done');
      return true;
    } catch (err) {
      // the database went away: no failure of this part to record; the runner waits for the database
      if (signal?.aborted || isDatabaseUnavailable(err)) throw err;
      const message = (err as Error).message ?? String(err);
      await store.syncFailed(corpid, part, errorCode(err), message).catch(() => undefined);
      const level = err instanceof ApiSecretMissingError ? 'info' : 'warn';
      log[level]({ corp: corpid, stage: 'directory', part, code: errorCode(err) }, `directory sync of ${part} failed: ${message}`);
      return false;
    }
  }

  /** Departments, then the members of each (user/simplelist), as one full list. */
  async syncMembers(corpid: string, client: WeComApiClient, signal?: AbortSignal): Promise<{ items: number }> {
    // an event handled while the lists are fetched is newer than what they say of its member
    const fetchedFrom = this.deps.now();
    const departments = await listDepartments(client, signal);
    await this.deps.store.replaceDepartments(
      corpid,
      departments.map((d) => ({ id: d.id, name: d.name, nameEn: d.nameEn, parentId: d.parentId, order: d.order })),
    );
    const members = new Map<string, ApiUser>();
    await eachLimited(departments, PARALLEL, async (d) => {
      for (const u of await listDepartmentUsers(client, d.id, signal)) {
        const known = members.get(u.userid);
        if (known) known.department = [...new Set([...known.department, ...u.department])];
        else members.set(u.userid, u);
      }
    });
    await this.deps.store.replaceMembers(
      corpid,
      [...members.values()].map((u) => ({ userid: u.userid, name: u.name, departments: u.department })),
      fetchedFrom,
    );
    return { items: members.size };
  }

  async syncTags(corpid: string, client: WeComApiClient, signal?: AbortSignal): Promise<{ items: number }> {
    const tags = await listTags(client, signal);
    const described = new Map<number, Awaited<ReturnType<typeof getTag>>>();
    await eachLimited(tags, PARALLEL, async (t) => void described.set(t.tagId, await getTag(client, t.tagId, signal)));
    // Written one by one: replacing a tag's members in parallel transactions invites deadlocks.
    for (const t of tags) {
      const tag = described.get(t.tagId)!;
      await this.deps.store.replaceTag(corpid, t.tagId, tag.name ?? t.name, tag.userids, tag.partyIds);
    }
    return { items: tags.length };
  }

  /** Every customer group (externalcontact/groupchat/list + get), with the names of its external members. */
  async syncCustomerGroups(corpid: string, client: WeComApiClient, signal?: AbortSignal): Promise<{ items: number }> {
    const ids = await listCustomerGroupIds(client, signal);
    let described = 0;
    await eachLimited(ids, PARALLEL, async ({ chatId }) => {
      try {
        await this.storeGroup(corpid, await getCustomerGroup(client, chatId, signal));
        described += 1;
      } catch (err) {
        if (!(err instanceof WeComApiError) || err.transient) throw err;
        // One group WeCom will not describe does not fail the others: it is queued and marked there.
        await this.deps.store.enqueue(corpid, 'group', chatId, 'customer_sync');
      }
    });
    return { items: described };
  }

  async syncPermitUsers(corpid: string, client: WeComApiClient, signal?: AbortSignal): Promise<{ items: number }> {
    const ids = await getPermitUserList(client, signal);
    await this.deps.store.replacePermitUsers(corpid, ids);
    return { items: ids.length };
  }

  async syncCallbackIps(corpid: string, client: WeComApiClient, signal?: AbortSignal): Promise<{ items: number }> {
    const entries = await getCallbackIp(client, signal);
    await this.deps.store.replaceCallbackIps(corpid, entries);
    return { items: entries.length };
  }

  /**
   * Reads messages archived since the last scan and queues every id, group and customer consent the
   * directory does not know yet. Returns how many messages were scanned.
   */
  async scanMessages(corpid: string, signal?: AbortSignal): Promise<{ items: number; watermark: string | null }> {
    const { store } = this.deps;
    let watermark = await store.watermark(corpid, 'scan');
    let scanned = 0;
    while (!signal?.aborted) {
      const rows = await store.messagesToScan(corpid, watermark, SCAN_BATCH);
      if (rows.length === 0) break;
      const people = new Set<string>();
      const rooms = new Set<string>();
      const pairs = new Set<string>();
      const externalRooms = new Set<string>();
      for (const row of rows) {
        const tolist = parseTolist(row.tolist);
        const ids = [row.from_id, ...tolist].filter((id) => id && isPlausibleId(id));
        for (const id of ids) people.add(id);
        const hasExternal = ids.some((id) => personKind(id) === 'external');
        if (row.roomid) {
          if (isPlausibleRoomId(row.roomid)) {
            rooms.add(row.roomid);
            if (hasExternal) externalRooms.add(row.roomid);
          }
        } else if (hasExternal && ids.length === 2) {
          const member = ids.find((id) => personKind(id) === 'member');
          const external = ids.find((id) => personKind(id) === 'external');
          if (member && external) pairs.add(`${member}|${external}`);
        }
      }
      await this.queueUnknown(corpid, people, rooms, pairs, externalRooms);
      scanned += rows.length;
      watermark = rows[rows.length - 1]!.seq;
      // Saved per batch: a scan interrupted half-way does not start over.
      await store.syncSucceeded(corpid, 'scan', { items: rows.length, durationMs: 0, watermark });
    }
    return { items: scanned, watermark };
  }

  private async queueUnknown(corpid: string, people: Set<string>, rooms: Set<string>, pairs: Set<string>, externalRooms: Set<string>): Promise<void> {
    const { store } = this.deps;
    const byKind = { member: [] as string[], external: [] as string[], robot: [] as string[] };
    for (const id of people) byKind[personKind(id)].push(id);
    const known = async (ids: string[], lookup: (part: string[]) => Promise<string[]>): Promise<Set<string>> => {
      const found = new Set<string>();
      for (let i = 0; i < ids.length; i += 500) for (const id of await lookup(ids.slice(i, i + 500))) found.add(id);
      return found;
    };
    const members = await known(byKind.member, (p) => store.knownIds(corpid, 'member', p));
    const externals = await known(byKind.external, (p) => store.knownIds(corpid, 'external', p));
    const robots = await known(byKind.robot, (p) => store.knownIds(corpid, 'robot', p));
    const groups = await known([...rooms], (p) => store.knownIds(corpid, 'group', p));
    const consentRooms = await known([...externalRooms], (p) => store.roomsWithConsent(corpid, p));
    const consentPairs = new Set<string>();
    const pairExternals = [...new Set([...pairs].map((p) => p.split('|')[1]!))];
    for (let i = 0; i < pairExternals.length; i += 500) {
      for (const r of await store.singleConsents(corpid, pairExternals.slice(i, i + 500))) consentPairs.add(`${r.scope_id}|${r.external_id}`);
    }
    await store.enqueueMany(
      corpid,
      'member',
      byKind.member.filter((id) => !members.has(id)),
      'seen',
    );
    await store.enqueueMany(
      corpid,
      'external',
      byKind.external.filter((id) => !externals.has(id)),
      'seen',
    );
    await store.enqueueMany(
      corpid,
      'robot',
      byKind.robot.filter((id) => !robots.has(id)),
      'seen',
    );
    await store.enqueueMany(
      corpid,
      'group',
      [...rooms].filter((r) => !groups.has(r)),
      'seen',
    );
    await store.enqueueMany(
      corpid,
      'consent_room',
      [...externalRooms].filter((r) => !consentRooms.has(r)),
      'seen',
    );
    await store.enqueueMany(
      corpid,
      'consent_single',
      [...pairs].filter((p) => !consentPairs.has(p)),
      'seen',
    );
  }

  /** Describes up to `limit` due ids of the refresh queue. Returns how many were handled. */
  async processQueue(corpid: string, client: WeComApiClient, limit: number, signal?: AbortSignal): Promise<number> {
    const { claimed: due, heldElsewhere } = await this.deps.store.claimRefreshes(corpid, this.owner, limit, this.policy.leaseMs ?? REFRESH_LEASE_MS);
    if (due.length || heldElsewhere) this.deps.log.debug({ corp: corpid, stage: 'directory', claimed: due.length, heldElsewhere }, 'refresh queue: ids claimed');
    const consentPairs = due.filter((r) => r.entity_kind === 'consent_single');
    const others = due.filter((r) => r.entity_kind !== 'consent_single');
    await eachLimited(others, PARALLEL, async (row) => {
      if (signal?.aborted) return;
      const kind = row.entity_kind as RefreshKind;
      try {
        await this.refreshOne(corpid, client, kind, row.entity_id, row.reason, signal);
        await this.deps.store.refreshDone(corpid, kind, row.entity_id, this.owner);
      } catch (err) {
        if (signal?.aborted) return;
        await this.refreshFailed(corpid, row, err);
      }
    });
    for (let i = 0; i < consentPairs.length && !signal?.aborted; i += 100) {
      const batch = consentPairs.slice(i, i + 100);
      try {
        await this.refreshConsentPairs(
          corpid,
          client,
          batch.map((r) => r.entity_id),
          signal,
        );
        for (const r of batch) await this.deps.store.refreshDone(corpid, 'consent_single', r.entity_id, this.owner);
      } catch (err) {
        if (signal?.aborted) break;
        for (const r of batch) await this.refreshFailed(corpid, r, err);
      }
    }
    return due.length;
  }

  private async refreshFailed(corpid: string, row: DirRefreshQueueRow, err: unknown): Promise<void> {
    const message = (err as Error).message ?? String(err);
    const kind = row.entity_kind;
    if (err instanceof ApiSecretMissingError) {
      await this.deps.store.refreshFailed(row, this.owner, this.retry, { code: null, error: message, waitMs: this.policy.missingSecretDelayMs });
      return;
    }
    const permanent = err instanceof WeComApiError && !err.transient;
    const { gaveUp: giveUp } = await this.deps.store.refreshFailed(row, this.owner, this.retry, { code: errorCode(err), error: message, permanent });
    this.deps.log.debug({ corp: corpid, stage: 'directory', kind, code: errorCode(err), giveUp }, `could not describe a ${kind}: ${message}`);
  }

  private async refreshOne(corpid: string, client: WeComApiClient, kind: RefreshKind, id: string, reason: RefreshReason, signal?: AbortSignal): Promise<void> {
    const { store } = this.deps;
    switch (kind) {
      case 'member': {
        const u = await getUser(client, id, signal);
        await store.upsertMember(
          corpid,
          { userid: u.userid, name: u.name, alias: u.alias, position: u.position, departments: u.department, mainDepartment: u.mainDepartment, status: u.status },
          'sync',
        );
        return;
      }
      case 'external':
        try {
          await store.upsertExternal(corpid, await getExternalContact(client, id, signal), 'sync');
        } catch (err) {
          // 84061: no member follows them any more; what the directory knew stays.
          if (err instanceof WeComApiError && err.wecomCode === 84061) await store.markExternal(corpid, id, 'no_relation', 84061, err.message);
          else throw err;
        }
        return;
      case 'robot':
        await store.upsertRobot(corpid, await getRobotInfo(client, id, signal));
        return;
      case 'group':
        await this.refreshGroup(corpid, client, id, reason.startsWith('customer') ? 'customer' : 'internal', signal);
        return;
      case 'consent_room':
        for (const a of await checkRoomAgree(client, id, signal)) {
          await store.upsertConsent(corpid, { scope: 'room', scopeId: id, externalId: a.externalId, status: a.status, changeTime: a.changeTime, source: 'api' });
        }
        return;
      case 'consent_single':
        await this.refreshConsentPairs(corpid, client, [id], signal);
    }
  }

  private async refreshConsentPairs(corpid: string, client: WeComApiClient, pairs: string[], signal?: AbortSignal): Promise<void> {
    const parsed = pairs
      .map((p) => {
        const [userid = '', externalId = ''] = p.split('|');
        return { userid, externalId };
      })
      .filter((p) => p.userid && p.externalId);
    if (parsed.length === 0) return;
    for (const a of await checkSingleAgree(client, parsed, signal)) {
      await this.deps.store.upsertConsent(corpid, {
        scope: 'single',
        scopeId: a.userid ?? '',
        externalId: a.externalId,
        status: a.status,
        changeTime: a.changeTime,
        source: 'api',
      });
    }
  }

  /**
   * Internal groups are described by msgaudit/groupchat/get (archive secret), customer groups by
   * externalcontact/groupchat/get (customer secret). A group neither describes is marked
   * 'undescribable' (some groups started from WeChat are like that), so status can say so.
   */
  private async refreshGroup(corpid: string, client: WeComApiClient, roomid: string, first: 'internal' | 'customer', signal?: AbortSignal): Promise<void> {
    const order: Array<'internal' | 'customer'> = first === 'customer' ? ['customer', 'internal'] : ['internal', 'customer'];
    const refusals: string[] = [];
    let lastCode: number | null = null;
    let missingSecret: ApiSecretMissingError | undefined;
    for (const kind of order) {
      try {
        const group = kind === 'internal' ? await getInternalGroup(client, roomid, signal) : await getCustomerGroup(client, roomid, signal);
        await this.storeGroup(corpid, group);
        return;
      } catch (err) {
        if (err instanceof ApiSecretMissingError) {
          missingSecret = err;
          continue;
        }
        if (!(err instanceof WeComApiError) || err.transient) throw err;
        refusals.push(`${kind === 'internal' ? 'msgaudit/groupchat/get' : 'externalcontact/groupchat/get'} answered ${err.wecomCode}`);
        lastCode = err.wecomCode;
      }
    }
    if (missingSecret) throw missingSecret;
    await this.deps.store.markGroup(corpid, roomid, 'undescribable', lastCode, `WeCom cannot describe this group: ${refusals.join('; ')}`);
  }

  private async storeGroup(corpid: string, group: ApiGroup): Promise<void> {
    await this.deps.store.upsertGroup(corpid, group, 'sync');
    for (const m of group.members) {
      if (m.type === 2 && m.name && personKind(m.id) === 'external') await this.deps.store.learnExternalName(corpid, m.id, m.name);
    }
  }
}

function parseTolist(text: string): string[] {
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
