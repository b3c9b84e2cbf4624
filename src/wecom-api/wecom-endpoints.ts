/**
 * The WeCom APIs the directory uses (token, chat-archive, contacts and external-contact APIs), each
 * with the secret it needs and its answer checked field by field at this edge: callers get typed
 * values or an ApiResponseError naming the field, never a half-read object. WeCom times are
 * seconds; these functions return ms.
 */
import { ApiResponseError } from './api-errors.ts';
import type { WeComApiClient } from './wecom-api-client.ts';

export interface ApiDepartment {
  id: number;
  name: string | null;
  nameEn: string | null;
  parentId: number | null;
  order: number | null;
}

export interface ApiUser {
  userid: string;
  name: string | null;
  alias: string | null;
  position: string | null;
  department: number[];
  mainDepartment: number | null;
  /** 1 active, 2 disabled, 4 inactive, 5 quit */
  status: number | null;
}

export interface ApiTag {
  tagId: number;
  name: string;
}

export interface ApiFollowUser {
  userid: string;
  remark: string | null;
  /** ms */
  createTime: number | null;
}

export interface ApiExternalContact {
  externalUserId: string;
  name: string | null;
  /** 1 WeChat, 2 WeCom */
  type: number | null;
  corpName: string | null;
  corpFullName: string | null;
  position: string | null;
  followUsers: ApiFollowUser[];
}

export interface ApiGroupMember {
  id: string;
  /** 1 member, 2 external contact */
  type: number | null;
  /** ms */
  joinTime: number | null;
  /** the member's display name in the group (customer groups, need_name=1) */
  name: string | null;
}

export interface ApiGroup {
  roomid: string;
  kind: 'internal' | 'customer';
  name: string | null;
  owner: string | null;
  notice: string | null;
  /** ms */
  createTime: number | null;
  members: ApiGroupMember[];
}

export interface ApiRobot {
  robotId: string;
  name: string | null;
  creatorUserid: string | null;
}

export interface ApiAgreement {
  /** for check_single_agree */
  userid: string | null;
  externalId: string;
  /** 'Agree' | 'Disagree' | 'Default_Agree' */
  status: string;
  /** ms */
  changeTime: number | null;
}

/** Reads one answer; every error names the API and the field. */
class Reader {
  constructor(private readonly op: string) {}

  bad(what: string): ApiResponseError {
    return new ApiResponseError(this.op, what);
  }

  object(v: unknown, field: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw this.bad(`"${field}" must be an object`);
    return v as Record<string, unknown>;
  }

  array(v: unknown, field: string, optional = false): unknown[] {
    if (v === undefined && optional) return [];
    if (!Array.isArray(v)) throw this.bad(`"${field}" must be an array`);
    return v;
  }

  string(v: unknown, field: string): string {
    if (typeof v !== 'string' || v === '') throw this.bad(`"${field}" must be a non-empty string`);
    if (v.length > 1024) throw this.bad(`"${field}" is longer than 1024 characters`);
    return v;
  }

  optString(v: unknown, field: string, max = 1024): string | null {
    if (v === undefined || v === null || v === '') return null;
    if (typeof v !== 'string') throw this.bad(`"${field}" must be a string`);
    return v.length > max ? v.slice(0, max) : v;
  }

  int(v: unknown, field: string): number {
    const n = typeof v === 'string' && /^-?\d{1,15}$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw this.bad(`"${field}" must be an integer`);
    return n;
  }

  optInt(v: unknown, field: string): number | null {
    return v === undefined || v === null || v === '' ? null : this.int(v, field);
  }

  /** seconds → ms */
  optTime(v: unknown, field: string): number | null {
    const s = this.optInt(v, field);
    return s === null || s <= 0 ? null : s * 1000;
  }
}

const MAX_BATCH = 100;

export async function listDepartments(client: WeComApiClient, signal?: AbortSignal): Promise<ApiDepartment[]> {
  const r = new Reader('department/list');
  const answer = await client.call('contacts', { method: 'GET', path: '/cgi-bin/department/list', operation: 'department/list' }, signal);
  return r.array(answer.department, 'department').map((d, i) => {
    const o = r.object(d, `department[${i}]`);
    return {
      id: r.int(o.id, `department[${i}].id`),
      name: r.optString(o.name, `department[${i}].name`),
      nameEn: r.optString(o.name_en, `department[${i}].name_en`),
      parentId: r.optInt(o.parentid, `department[${i}].parentid`),
      order: r.optInt(o.order, `department[${i}].order`),
    };
  });
}

/** Members directly in one department (user/simplelist): userid, name, departments. */
export async function listDepartmentUsers(client: WeComApiClient, departmentId: number, signal?: AbortSignal): Promise<ApiUser[]> {
  const r = new Reader('user/simplelist');
  const answer = await client.call(
    'contacts',
    { method: 'GET', path: '/cgi-bin/user/simplelist', query: { department_id: String(departmentId) }, operation: 'user/simplelist' },
    signal,
  );
  return r.array(answer.userlist, 'userlist').map((u, i) => {
    const o = r.object(u, `userlist[${i}]`);
    return {
      userid: r.string(o.userid, `userlist[${i}].userid`),
      name: r.optString(o.name, `userlist[${i}].name`),
      alias: null,
      position: null,
      department: r.array(o.department, `userlist[${i}].department`, true).map((d, j) => r.int(d, `userlist[${i}].department[${j}]`)),
      mainDepartment: null,
      status: null,
    };
  });
}

export async function getUser(client: WeComApiClient, userid: string, signal?: AbortSignal): Promise<ApiUser> {
  const r = new Reader('user/get');
  const o = await client.call('contacts', { method: 'GET', path: '/cgi-bin/user/get', query: { userid }, operation: 'user/get' }, signal);
  return {
    userid: r.string(o.userid, 'userid'),
    name: r.optString(o.name, 'name'),
    alias: r.optString(o.alias, 'alias'),
    position: r.optString(o.position, 'position'),
    department: r.array(o.department, 'department', true).map((d, j) => r.int(d, `department[${j}]`)),
    mainDepartment: r.optInt(o.main_department, 'main_department'),
    status: r.optInt(o.status, 'status'),
  };
}

export async function listTags(client: WeComApiClient, signal?: AbortSignal): Promise<ApiTag[]> {
  const r = new Reader('tag/list');
  const answer = await client.call('contacts', { method: 'GET', path: '/cgi-bin/tag/list', operation: 'tag/list' }, signal);
  return r.array(answer.taglist, 'taglist').map((t, i) => {
    const o = r.object(t, `taglist[${i}]`);
    return { tagId: r.int(o.tagid, `taglist[${i}].tagid`), name: r.optString(o.tagname, `taglist[${i}].tagname`) ?? '' };
  });
}

export async function getTag(client: WeComApiClient, tagId: number, signal?: AbortSignal): Promise<{ name: string | null; userids: string[]; partyIds: number[] }> {
  const r = new Reader('tag/get');
  const o = await client.call('contacts', { method: 'GET', path: '/cgi-bin/tag/get', query: { tagid: String(tagId) }, operation: 'tag/get' }, signal);
  return {
    name: r.optString(o.tagname, 'tagname'),
    userids: r.array(o.userlist, 'userlist', true).map((u, i) => r.string(r.object(u, `userlist[${i}]`).userid, `userlist[${i}].userid`)),
    partyIds: r.array(o.partylist, 'partylist', true).map((p, i) => r.int(p, `partylist[${i}]`)),
  };
}

/** externalcontact/get, following `next_cursor` when the contact has many followers. */
export async function getExternalContact(client: WeComApiClient, externalUserId: string, signal?: AbortSignal): Promise<ApiExternalContact> {
  const r = new Reader('externalcontact/get');
  let cursor = '';
  let contact: ApiExternalContact | undefined;
  for (let page = 0; page < 100; page++) {
    const o = await client.call(
      'customer',
      {
        method: 'GET',
        path: '/cgi-bin/externalcontact/get',
        operation: 'externalcontact/get',
        query: { external_userid: externalUserId, ...(cursor ? { cursor } : {}) },
      },
      signal,
    );
    const ec = r.object(o.external_contact, 'external_contact');
    contact ??= {
      externalUserId: r.string(ec.external_userid, 'external_contact.external_userid'),
      name: r.optString(ec.name, 'external_contact.name'),
      type: r.optInt(ec.type, 'external_contact.type'),
      corpName: r.optString(ec.corp_name, 'external_contact.corp_name'),
      corpFullName: r.optString(ec.corp_full_name, 'external_contact.corp_full_name'),
      position: r.optString(ec.position, 'external_contact.position'),
      followUsers: [],
    };
    for (const [i, f] of r.array(o.follow_user, 'follow_user', true).entries()) {
      const fo = r.object(f, `follow_user[${i}]`);
      contact.followUsers.push({
        userid: r.string(fo.userid, `follow_user[${i}].userid`),
        remark: r.optString(fo.remark, `follow_user[${i}].remark`),
        createTime: r.optTime(fo.createtime, `follow_user[${i}].createtime`),
      });
    }
    cursor = r.optString(o.next_cursor, 'next_cursor') ?? '';
    if (!cursor) break;
  }
  return contact!;
}

/** Every customer group's chat_id (externalcontact/groupchat/list, all pages). */
export async function listCustomerGroupIds(client: WeComApiClient, signal?: AbortSignal): Promise<Array<{ chatId: string; status: number }>> {
  const r = new Reader('externalcontact/groupchat/list');
  const out: Array<{ chatId: string; status: number }> = [];
  let cursor = '';
  for (let page = 0; page < 100_000; page++) {
    const o = await client.call(
      'customer',
      {
        method: 'POST',
        path: '/cgi-bin/externalcontact/groupchat/list',
        operation: 'externalcontact/groupchat/list',
        body: { status_filter: 0, limit: 1000, ...(cursor ? { cursor } : {}) },
      },
      signal,
    );
    for (const [i, g] of r.array(o.group_chat_list, 'group_chat_list', true).entries()) {
      const go = r.object(g, `group_chat_list[${i}]`);
      out.push({ chatId: r.string(go.chat_id, `group_chat_list[${i}].chat_id`), status: r.optInt(go.status, `group_chat_list[${i}].status`) ?? 0 });
    }
    cursor = r.optString(o.next_cursor, 'next_cursor') ?? '';
    if (!cursor) break;
  }
  return out;
}

export async function getCustomerGroup(client: WeComApiClient, chatId: string, signal?: AbortSignal): Promise<ApiGroup> {
  const r = new Reader('externalcontact/groupchat/get');
  const o = await client.call(
    'customer',
    {
      method: 'POST',
      path: '/cgi-bin/externalcontact/groupchat/get',
      operation: 'externalcontact/groupchat/get',
      body: { chat_id: chatId, need_name: 1 },
    },
    signal,
  );
  const g = r.object(o.group_chat, 'group_chat');
  return {
    roomid: r.string(g.chat_id, 'group_chat.chat_id'),
    kind: 'customer',
    name: r.optString(g.name, 'group_chat.name'),
    owner: r.optString(g.owner, 'group_chat.owner'),
    notice: r.optString(g.notice, 'group_chat.notice', 4000),
    createTime: r.optTime(g.create_time, 'group_chat.create_time'),
    members: r.array(g.member_list, 'group_chat.member_list', true).map((m, i) => {
      const mo = r.object(m, `member_list[${i}]`);
      return {
        id: r.string(mo.userid, `member_list[${i}].userid`),
        type: r.optInt(mo.type, `member_list[${i}].type`),
        joinTime: r.optTime(mo.join_time, `member_list[${i}].join_time`),
        name: r.optString(mo.name, `member_list[${i}].name`),
      };
    }),
  };
}

/** An internal group (msgaudit/groupchat/get; 301059 for groups with external members). */
export async function getInternalGroup(client: WeComApiClient, roomid: string, signal?: AbortSignal): Promise<ApiGroup> {
  const r = new Reader('msgaudit/groupchat/get');
  const o = await client.call('archive', { method: 'POST', path: '/cgi-bin/msgaudit/groupchat/get', operation: 'msgaudit/groupchat/get', body: { roomid } }, signal);
  return {
    roomid,
    kind: 'internal',
    name: r.optString(o.roomname, 'roomname'),
    owner: r.optString(o.creator, 'creator'),
    notice: r.optString(o.notice, 'notice', 4000),
    createTime: r.optTime(o.room_create_time, 'room_create_time'),
    members: r.array(o.members, 'members', true).map((m, i) => {
      const mo = r.object(m, `members[${i}]`);
      return { id: r.string(mo.memberid, `members[${i}].memberid`), type: 1, joinTime: r.optTime(mo.jointime, `members[${i}].jointime`), name: null };
    }),
  };
}

export async function getRobotInfo(client: WeComApiClient, robotId: string, signal?: AbortSignal): Promise<ApiRobot> {
  const r = new Reader('msgaudit/get_robot_info');
  const o = await client.call('archive', { method: 'GET', path: '/cgi-bin/msgaudit/get_robot_info', query: { robot_id: robotId }, operation: 'msgaudit/get_robot_info' }, signal);
  const data = r.object(o.data, 'data');
  return { robotId: r.string(data.robot_id, 'data.robot_id'), name: r.optString(data.name, 'data.name'), creatorUserid: r.optString(data.creator_userid, 'data.creator_userid') };
}

/** Consent of customers in 1:1 chats, at most 100 pairs per call (301060 above that). */
export async function checkSingleAgree(client: WeComApiClient, pairs: ReadonlyArray<{ userid: string; externalId: string }>, signal?: AbortSignal): Promise<ApiAgreement[]> {
  if (pairs.length > MAX_BATCH) throw new RangeError(`check_single_agree takes at most ${MAX_BATCH} pairs`);
  const r = new Reader('msgaudit/check_single_agree');
  const o = await client.call(
    'archive',
    {
      method: 'POST',
      path: '/cgi-bin/msgaudit/check_single_agree',
      operation: 'msgaudit/check_single_agree',
      // `exteranalopenid` is the official (misspelt) field name.
      body: { info: pairs.map((p) => ({ userid: p.userid, exteranalopenid: p.externalId })) },
    },
    signal,
  );
  return r.array(o.agreeinfo, 'agreeinfo', true).map((a, i) => {
    const ao = r.object(a, `agreeinfo[${i}]`);
    return {
      userid: r.string(ao.userid, `agreeinfo[${i}].userid`),
      externalId: r.string(ao.exteranalopenid, `agreeinfo[${i}].exteranalopenid`),
      status: r.string(ao.agree_status, `agreeinfo[${i}].agree_status`),
      changeTime: r.optTime(ao.status_change_time, `agreeinfo[${i}].status_change_time`),
    };
  });
}

export async function checkRoomAgree(client: WeComApiClient, roomid: string, signal?: AbortSignal): Promise<ApiAgreement[]> {
  const r = new Reader('msgaudit/check_room_agree');
  const o = await client.call('archive', { method: 'POST', path: '/cgi-bin/msgaudit/check_room_agree', operation: 'msgaudit/check_room_agree', body: { roomid } }, signal);
  return r.array(o.agreeinfo, 'agreeinfo', true).map((a, i) => {
    const ao = r.object(a, `agreeinfo[${i}]`);
    return {
      userid: null,
      externalId: r.string(ao.exteranalopenid, `agreeinfo[${i}].exteranalopenid`),
      status: r.string(ao.agree_status, `agreeinfo[${i}].agree_status`),
      changeTime: r.optTime(ao.status_change_time, `agreeinfo[${i}].status_change_time`),
    };
  });
}

/** Members whose chats are archived. */
export async function getPermitUserList(client: WeComApiClient, signal?: AbortSignal): Promise<string[]> {
  const r = new Reader('msgaudit/get_permit_user_list');
  const o = await client.call('archive', { method: 'POST', path: '/cgi-bin/msgaudit/get_permit_user_list', operation: 'msgaudit/get_permit_user_list', body: {} }, signal);
  return r.array(o.ids, 'ids', true).map((id, i) => r.string(id, `ids[${i}]`));
}

const IP_ENTRY = /^(?:\d{1,3}|\*)(?:\.(?:\d{1,3}|\*)){3}(?:\/\d{1,2})?$|^[0-9A-Fa-f:]{2,39}(?:\/\d{1,3})?$/;

/** WeCom's callback source addresses: IPs, `a.b.c.*` patterns or CIDRs. */
export async function getCallbackIp(client: WeComApiClient, signal?: AbortSignal): Promise<string[]> {
  const r = new Reader('getcallbackip');
  const o = await client.call('archive', { method: 'GET', path: '/cgi-bin/getcallbackip', operation: 'getcallbackip' }, signal);
  return r.array(o.ip_list, 'ip_list').map((ip, i) => {
    const entry = r.string(ip, `ip_list[${i}]`).trim();
    if (!IP_ENTRY.test(entry)) throw r.bad(`ip_list[${i}] is not an IP address or pattern`);
    return entry;
  });
}

/**
 * Who a sign-in `code` belongs to (auth/getuserinfo, with the token of the app that signs users in):
 * a member of the corp has a `userid`; anyone else (a WeChat user, a customer) gets an `openid`
 * and no userid, and is an outsider. The code is WeCom's to check: a wrong, used or expired one
 * answers errcode 40029, thrown as a WeComApiCallError.
 */
export async function getUserInfoByCode(client: WeComApiClient, code: string, signal?: AbortSignal): Promise<{ userid: string | null }> {
  const r = new Reader('auth/getuserinfo');
  const o = await client.call('login', { method: 'GET', path: '/cgi-bin/auth/getuserinfo', query: { code }, operation: 'auth/getuserinfo' }, signal);
  // the older spelling (user/getuserinfo) is UserId; an answer with neither is an outsider's
  const userid = r.optString(o.userid ?? o.UserId, 'userid');
  return { userid };
}
