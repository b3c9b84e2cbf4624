/**
 * The simulator's WeCom HTTP API side: the corp's directory data, the three app
 * secrets (archive, contacts, customer contact) and their access tokens, API faults on request, and
 * the callback configurations with which it sends real signed, encrypted callbacks to a target URL.
 * Directory changes made through here (rename a member, add a customer, dismiss a group …) update
 * what the APIs answer and, when a callback target is set, announce themselves as WeCom would.
 *
 * Kept beside the Simulator (one per simulator, see `simulatorApi`) rather than inside it, so the
 * SDK side stays as it is.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ValidationError } from '../../errors/errors.ts';
import { type CallbackAppSecrets, deliverCallback, type Delivery, eventXml } from '../callbacks/callback-sender.ts';
import type { Simulator } from '../core/simulator.ts';
import { addBulkMembers, buildDirectoryData, type SimDirectoryData, type SimMember } from './directory-data.ts';
import { SimOAuth } from './oauth.ts';
import { SimRobot } from './robot-webhook.ts';

/** 'login': the self-built app members sign in to the archive with (oauth.ts) */
export type SimSecretKind = 'archive' | 'contacts' | 'customer' | 'login';
export type SimCallbackApp = 'contacts' | 'customer' | 'archive';

/** A token lives this long (WeCom: 7200 s). */
const TOKEN_TTL_S = 7200;
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function derived(seedKey: Buffer, label: string, length: number): string {
  const bytes = createHash('sha256').update(seedKey).update(`\0${label}`).digest();
  const more = createHash('sha256').update(bytes).digest();
  const all = Buffer.concat([bytes, more]);
  let out = '';
  for (let i = 0; i < length; i++) out += ALNUM[all[i]! % ALNUM.length];
  return out;
}

export interface ApiFaultSpec {
  /** e.g. '/cgi-bin/user/get'; omitted: any API call (not gettoken) */
  path?: string;
  errcode: number;
  errmsg?: string;
  count?: number;
}

const ERRMSG: Readonly<Record<number, string>> = {
  [-1]: 'system busy',
  40001: 'invalid credential',
  40013: 'invalid corpid',
  40014: 'invalid access_token',
  40029: 'invalid code',
  41001: 'access_token missing',
  42001: 'access_token expired',
  45009: 'api freq out of limit',
  48002: 'api forbidden',
  60111: 'userid not found',
  40050: 'chatid not exist',
  84061: 'not external contact',
  301059: 'not internal group',
  301060: 'too many agree check entries',
  301061: 'user or external id not exist',
};

export function apiErrmsg(code: number): string {
  return ERRMSG[code] ?? `simulated errcode ${code}`;
}

const apis = new WeakMap<Simulator, SimulatorApi>();

/** The API side of a simulator (created on first use). */
export function simulatorApi(sim: Simulator): SimulatorApi {
  let api = apis.get(sim);
  if (!api) {
    api = new SimulatorApi(sim);
    apis.set(sim, api);
  }
  return api;
}

export class SimulatorApi {
  readonly data: SimDirectoryData;
  readonly secrets: Readonly<Record<SimSecretKind, string>>;
  /** the callback settings of each app (what the admin console would show) */
  readonly callbackApps: Record<SimCallbackApp, CallbackAppSecrets>;
  /** WeCom's callback source addresses (getcallbackip) */
  callbackIps: string[] = ['127.0.0.1', '::1', '101.226.103.*', '101.226.62.*'];
  /** where callbacks go: e.g. http://127.0.0.1:8080/callback (+ /{corpid}/{app}); null: none sent */
  callbackTarget: string | null = null;
  /** API calls by path (tests and benchmarks read it) */
  readonly calls = new Map<string, number>();
  /** the latest callback deliveries */
  readonly deliveries: Delivery[] = [];
  /** the group robot's webhook (robot-webhook.ts) */
  readonly robot: SimRobot;
  /** sign in with WeCom: the authorize pages and auth/getuserinfo (oauth.ts) */
  readonly oauth: SimOAuth;
  private readonly tokens = new Map<string, { kind: SimSecretKind; expiresAt: number; revoked: boolean }>();
  private readonly current = new Map<SimSecretKind, string>();
  private faults: Array<ApiFaultSpec & { remaining: number }> = [];
  private notifier: NodeJS.Timeout | undefined;

  constructor(private readonly sim: Simulator) {
    this.data = buildDirectoryData(sim.directory, sim.seed);
    this.robot = new SimRobot(sim.seed.key);
    this.secrets = {
      archive: sim.corp.secret,
      contacts: derived(sim.seed.key, 'contacts-secret', 43),
      customer: derived(sim.seed.key, 'customer-secret', 43),
      login: derived(sim.seed.key, 'login-secret', 43),
    };
    this.oauth = new SimOAuth(
      () => this.corpid,
      '1000002',
      (userid) => this.data.members.has(userid),
      () => this.sim.clock.now(),
    );
    const app = (name: SimCallbackApp): CallbackAppSecrets => ({
      app: name,
      token: derived(sim.seed.key, `${name}-token`, 32),
      encodingAesKey: derived(sim.seed.key, `${name}-aes-key`, 43),
    });
    this.callbackApps = { contacts: app('contacts'), customer: app('customer'), archive: app('archive') };
  }

  get corpid(): string {
    return this.sim.corp.corpid;
  }

  nowS(): number {
    return Math.floor(this.sim.clock.now() / 1000);
  }

  // ------------------------------------------------------------------ tokens and faults

  /** gettoken: the same token again while it is valid (as WeCom does). */
  getToken(corpid: unknown, secret: unknown): Record<string, unknown> {
    if (corpid !== this.corpid) return { errcode: 40013, errmsg: apiErrmsg(40013) };
    const kind = (Object.keys(this.secrets) as SimSecretKind[]).find((k) => this.secrets[k] === secret);
    if (!kind) return { errcode: 40001, errmsg: apiErrmsg(40001) };
    const now = this.sim.clock.now();
    const existing = this.current.get(kind);
    const entry = existing ? this.tokens.get(existing) : undefined;
    if (existing && entry && !entry.revoked && entry.expiresAt > now) {
      return { errcode: 0, errmsg: 'ok', access_token: existing, expires_in: Math.max(1, Math.floor((entry.expiresAt - now) / 1000)) };
    }
    const token = randomBytes(48).toString('base64url');
    this.tokens.set(token, { kind, expiresAt: now + TOKEN_TTL_S * 1000, revoked: false });
    this.current.set(kind, token);
    return { errcode: 0, errmsg: 'ok', access_token: token, expires_in: TOKEN_TTL_S };
  }

  /** 0 when the token may call an API needing `kind` ('any': every app's token). */
  checkToken(token: string | null, kind: SimSecretKind | 'any'): number {
    if (!token) return 41001;
    const entry = this.tokens.get(token);
    if (!entry) return 40014;
    if (entry.revoked || entry.expiresAt <= this.sim.clock.now()) return 42001;
    if (kind !== 'any' && entry.kind !== kind) return 48002;
    return 0;
  }

  /** Every token issued so far expires now (next use answers 42001), as when WeCom rotates early. */
  expireTokens(): void {
    for (const entry of this.tokens.values()) entry.revoked = true;
    this.current.clear();
  }

  injectFault(spec: ApiFaultSpec): void {
    if (!Number.isInteger(spec.errcode) || spec.errcode === 0) throw new ValidationError('FAULT_INVALID', '"errcode" must be a non-zero integer');
    const count = spec.count ?? 1;
    if (!(count >= 1)) throw new ValidationError('FAULT_INVALID', '"count" must be at least 1');
    this.faults.push({ ...spec, remaining: count });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** The injected fault for a call of `path`, used up by one. */
  takeFault(path: string): (ApiFaultSpec & { remaining: number }) | undefined {
    const k = this.faults.findIndex((f) => f.path === undefined || f.path === path);
    if (k < 0) return undefined;
    const fault = this.faults[k]!;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.splice(k, 1);
    return fault;
  }

  countCall(path: string): void {
    this.calls.set(path, (this.calls.get(path) ?? 0) + 1);
  }

  // ------------------------------------------------------------------ callbacks

  /** Sends an event through `app`'s callback configuration; null when no target is set. */
  async send(app: SimCallbackApp, xml: string): Promise<Delivery | null> {
    if (!this.callbackTarget) return null;
    const delivery = await deliverCallback(this.callbackTarget, this.corpid, this.callbackApps[app], xml, this.nowS());
    this.deliveries.push(delivery);
    if (this.deliveries.length > 100) this.deliveries.shift();
    return delivery;
  }

  /** Uses given callback settings for an app (what an admin pastes into both sides). */
  setCallbackApp(app: SimCallbackApp, token: string, encodingAesKey: string): void {
    this.callbackApps[app] = { app, token, encodingAesKey };
  }

  /** msgaudit_notify: WeCom's event that new archive data is ready to pull. */
  notifyNewData(): Promise<Delivery | null> {
    return this.send('archive', eventXml(this.corpid, this.nowS(), 'msgaudit_notify', null, { AgentID: 2000003 }));
  }

  /** Sends msgaudit_notify every `intervalMs` while new messages have arrived; returns a stop function. */
  startNotifier(intervalMs: number): () => void {
    let seen = this.sim.messageCount();
    this.notifier = setInterval(() => {
      const now = this.sim.messageCount();
      if (now > seen) {
        seen = now;
        this.notifyNewData().catch(() => undefined);
      }
    }, intervalMs);
    this.notifier.unref();
    return () => clearInterval(this.notifier);
  }

  // ------------------------------------------------------------------ directory changes (each announced)

  private contactEvent(changeType: string, body: Record<string, string | number | readonly string[] | undefined>): Promise<Delivery | null> {
    return this.send('contacts', eventXml(this.corpid, this.nowS(), 'change_contact', changeType, body));
  }

  private member(userid: string): SimMember {
    const m = this.data.members.get(userid);
    if (!m) throw new ValidationError('SIM_NOT_FOUND', `no member ${userid}`);
    return m;
  }

  addMember(m: { userid: string; name: string; department?: number[]; position?: string }): Promise<Delivery | null> {
    if (this.data.members.has(m.userid)) throw new ValidationError('SIM_EXISTS', `member ${m.userid} exists`);
    const department = m.department ?? [2];
    this.data.members.set(m.userid, { userid: m.userid, name: m.name, alias: '', position: m.position ?? '', department, mainDepartment: department[0]!, status: 1, gender: 1 });
    return this.contactEvent('create_user', {
      UserID: m.userid,
      Name: m.name,
      Department: department.join(','),
      MainDepartment: department[0],
      Position: m.position ?? '',
      Status: 1,
    });
  }

  renameMember(userid: string, name: string): Promise<Delivery | null> {
    this.member(userid).name = name;
    return this.contactEvent('update_user', { UserID: userid, Name: name });
  }

  /** update_user with NewUserID: the member keeps everything under a new userid. */
  changeUserId(userid: string, newUserId: string): Promise<Delivery | null> {
    const m = this.member(userid);
    if (this.data.members.has(newUserId)) throw new ValidationError('SIM_EXISTS', `member ${newUserId} exists`);
    this.data.members.delete(userid);
    this.data.members.set(newUserId, { ...m, userid: newUserId });
    for (const e of this.data.externals.values()) for (const f of e.follow) if (f.userid === userid) f.userid = newUserId;
    return this.contactEvent('update_user', { UserID: userid, NewUserID: newUserId });
  }

  deleteMember(userid: string): Promise<Delivery | null> {
    this.member(userid);
    this.data.members.delete(userid);
    return this.contactEvent('delete_user', { UserID: userid });
  }

  addDepartment(id: number, name: string, parentId = 1): Promise<Delivery | null> {
    this.data.departments.set(id, { id, name, nameEn: '', parentId, order: 1 });
    return this.contactEvent('create_party', { Id: id, Name: name, ParentId: parentId, Order: 1 });
  }

  renameDepartment(id: number, name: string): Promise<Delivery | null> {
    const d = this.data.departments.get(id);
    if (!d) throw new ValidationError('SIM_NOT_FOUND', `no department ${id}`);
    d.name = name;
    return this.contactEvent('update_party', { Id: id, Name: name });
  }

  deleteDepartment(id: number): Promise<Delivery | null> {
    this.data.departments.delete(id);
    return this.contactEvent('delete_party', { Id: id });
  }

  updateTag(tagId: number, change: { addUsers?: string[]; delUsers?: string[] }): Promise<Delivery | null> {
    const tag = this.data.tags.get(tagId);
    if (!tag) throw new ValidationError('SIM_NOT_FOUND', `no tag ${tagId}`);
    for (const u of change.addUsers ?? []) tag.users.add(u);
    for (const u of change.delUsers ?? []) tag.users.delete(u);
    return this.contactEvent('update_tag', {
      TagId: tagId,
      AddUserItems: change.addUsers?.length ? change.addUsers.join(',') : undefined,
      DelUserItems: change.delUsers?.length ? change.delUsers.join(',') : undefined,
    });
  }

  /** A member added a customer (add_external_contact). Returns the new external userid too. */
  async addExternalContact(c: { name: string; userid: string; corpName?: string; externalUserId?: string }): Promise<{ externalUserId: string; delivery: Delivery | null }> {
    this.member(c.userid);
    const externalUserId = c.externalUserId ?? `wm${randomBytes(22).toString('base64url').slice(0, 30)}`;
    this.data.externals.set(externalUserId, {
      externalUserId,
      name: c.name,
      type: c.corpName ? 2 : 1,
      corpName: c.corpName ?? '',
      corpFullName: c.corpName ?? '',
      position: '',
      follow: [{ userid: c.userid, remark: c.name, createtime: this.nowS() }],
    });
    const delivery = await this.send(
      'customer',
      eventXml(this.corpid, this.nowS(), 'change_external_contact', 'add_external_contact', {
        UserID: c.userid,
        ExternalUserID: externalUserId,
        State: '',
        WelcomeCode: 'WELCOMECODE',
      }),
    );
    return { externalUserId, delivery };
  }

  renameExternalContact(externalUserId: string, name: string): Promise<Delivery | null> {
    const e = this.data.externals.get(externalUserId);
    if (!e) throw new ValidationError('SIM_NOT_FOUND', `no external contact ${externalUserId}`);
    e.name = name;
    return this.send(
      'customer',
      eventXml(this.corpid, this.nowS(), 'change_external_contact', 'edit_external_contact', { UserID: e.follow[0]?.userid ?? '', ExternalUserID: externalUserId }),
    );
  }

  /** The customer agreed to archiving (msg_audit_approved). */
  approveArchive(userid: string, externalUserId: string): Promise<Delivery | null> {
    this.data.consent.set(`${userid}|${externalUserId}`, { status: 'Agree', changeTime: this.nowS() });
    return this.send(
      'customer',
      eventXml(this.corpid, this.nowS(), 'change_external_contact', 'msg_audit_approved', { UserID: userid, ExternalUserID: externalUserId, WelcomeCode: 'WELCOMECODE' }),
    );
  }

  /** The member deleted the customer; with no follower left, externalcontact/get answers 84061. */
  deleteExternalContact(userid: string, externalUserId: string): Promise<Delivery | null> {
    const e = this.data.externals.get(externalUserId);
    if (e) e.follow = e.follow.filter((f) => f.userid !== userid);
    return this.send('customer', eventXml(this.corpid, this.nowS(), 'change_external_contact', 'del_external_contact', { UserID: userid, ExternalUserID: externalUserId }));
  }

  async createCustomerGroup(g: { name: string; owner: string; externals: string[] }): Promise<{ roomid: string; delivery: Delivery | null }> {
    const roomid = `wr${randomBytes(22).toString('base64url').slice(0, 30)}`;
    const now = this.nowS();
    this.data.groups.set(roomid, {
      roomid,
      kind: 'customer',
      name: g.name,
      owner: g.owner,
      notice: '',
      createTime: now,
      members: [
        { id: g.owner, type: 1, joinTime: now, name: this.data.members.get(g.owner)?.name ?? g.owner },
        ...g.externals.map((id) => ({ id, type: 2 as const, joinTime: now, name: this.data.externals.get(id)?.name ?? id })),
      ],
    });
    const delivery = await this.send('customer', eventXml(this.corpid, now, 'change_external_chat', 'create', { ChatId: roomid }));
    return { roomid, delivery };
  }

  renameGroup(roomid: string, name: string): Promise<Delivery | null> {
    const g = this.data.groups.get(roomid);
    if (!g) throw new ValidationError('SIM_NOT_FOUND', `no group ${roomid}`);
    g.name = name;
    return this.send('customer', eventXml(this.corpid, this.nowS(), 'change_external_chat', 'update', { ChatId: roomid, UpdateDetail: 'change_name' }));
  }

  dismissGroup(roomid: string): Promise<Delivery | null> {
    this.data.groups.delete(roomid);
    return this.send('customer', eventXml(this.corpid, this.nowS(), 'change_external_chat', 'dismiss', { ChatId: roomid }));
  }

  /** More members for benchmarks (not announced: as if they were there before). */
  addBulkMembers(count: number, departments?: number): void {
    addBulkMembers(this.data, count, departments);
  }
}
