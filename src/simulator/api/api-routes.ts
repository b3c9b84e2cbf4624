/**
 * The WeCom HTTP APIs the archive's directory uses, served by the simulator with WeCom's rules:
 * every call answers HTTP 200 with `errcode`/`errmsg`; a token belongs to one app's secret and
 * calling another app's API with it gives 48002; an expired token 42001, an unknown one 40014;
 * internal groups are described only by msgaudit/groupchat/get (301059 for others), customer
 * groups only by externalcontact/groupchat/get (40050 for others); a customer no member follows
 * any more gives 84061. Faults (-1, 45009, …) come from api-state.ts.
 * Also the control routes that change the directory (and send the callbacks) or set the target.
 */
import { ValidationError } from '../../errors/errors.ts';
import { apiErrmsg, type SimCallbackApp, type SimSecretKind, type SimulatorApi } from './api-state.ts';
import type { SimGroup } from './directory-data.ts';

export interface ApiReply {
  status: number;
  json: unknown;
}

type Handler = (api: SimulatorApi, query: URLSearchParams, body: Record<string, unknown>) => Record<string, unknown>;

const ok = (fields: Record<string, unknown> = {}): Record<string, unknown> => ({ errcode: 0, errmsg: 'ok', ...fields });
const err = (code: number): Record<string, unknown> => ({ errcode: code, errmsg: apiErrmsg(code) });

function describeGroup(api: SimulatorApi, g: SimGroup): Record<string, unknown> {
  return {
    chat_id: g.roomid,
    name: g.name,
    owner: g.owner,
    create_time: g.createTime,
    notice: g.notice,
    member_list: g.members.map((m) => ({ userid: m.id, type: m.type, join_time: m.joinTime, join_scene: 1, invitor: { userid: g.owner }, group_nickname: '', name: m.name })),
    admin_list: [],
    member_version: String(g.members.length),
  };
}

const ROUTES: Readonly<Record<string, { method: 'GET' | 'POST'; kind: SimSecretKind | 'any'; handle: Handler }>> = {
  '/cgi-bin/getcallbackip': { method: 'GET', kind: 'any', handle: (api) => ok({ ip_list: api.callbackIps }) },
  // sign in with WeCom: who a code from an authorize page names (oauth.ts)
  '/cgi-bin/auth/getuserinfo': { method: 'GET', kind: 'login', handle: (api, q) => api.oauth.userInfo(q.get('code')) },
  '/cgi-bin/department/list': {
    method: 'GET',
    kind: 'contacts',
    handle: (api) =>
      ok({
        department: [...api.data.departments.values()].map((d) => ({ id: d.id, name: d.name, name_en: d.nameEn, department_leader: [], parentid: d.parentId, order: d.order })),
      }),
  },
  '/cgi-bin/user/simplelist': {
    method: 'GET',
    kind: 'contacts',
    handle: (api, q) => {
      const id = Number(q.get('department_id'));
      if (!api.data.departments.has(id)) return err(60123);
      const userlist = [...api.data.members.values()]
        .filter((m) => m.department.includes(id))
        .map((m) => ({ userid: m.userid, name: m.name, department: m.department, open_userid: '' }));
      return ok({ userlist });
    },
  },
  '/cgi-bin/user/get': {
    method: 'GET',
    kind: 'contacts',
    handle: (api, q) => {
      const m = api.data.members.get(q.get('userid') ?? '');
      if (!m) return err(60111);
      return ok({
        userid: m.userid,
        name: m.name,
        department: m.department,
        order: m.department.map(() => 0),
        position: m.position,
        gender: String(m.gender),
        is_leader_in_dept: m.department.map(() => 0),
        direct_leader: [],
        avatar: '',
        thumb_avatar: '',
        alias: m.alias,
        status: m.status,
        main_department: m.mainDepartment,
        extattr: { attrs: [] },
        qr_code: '',
        external_position: '',
      });
    },
  },
  '/cgi-bin/tag/list': { method: 'GET', kind: 'contacts', handle: (api) => ok({ taglist: [...api.data.tags.values()].map((t) => ({ tagid: t.tagId, tagname: t.name })) }) },
  '/cgi-bin/tag/get': {
    method: 'GET',
    kind: 'contacts',
    handle: (api, q) => {
      const t = api.data.tags.get(Number(q.get('tagid')));
      if (!t) return err(40068);
      return ok({ tagname: t.name, userlist: [...t.users].map((u) => ({ userid: u, name: api.data.members.get(u)?.name ?? '' })), partylist: [...t.parties] });
    },
  },
  '/cgi-bin/externalcontact/get': {
    method: 'GET',
    kind: 'customer',
    handle: (api, q) => {
      const e = api.data.externals.get(q.get('external_userid') ?? '');
      if (!e) return err(40096);
      if (e.follow.length === 0) return err(84061);
      return ok({
        external_contact: {
          external_userid: e.externalUserId,
          name: e.name,
          position: e.position,
          avatar: '',
          corp_name: e.corpName,
          corp_full_name: e.corpFullName,
          type: e.type,
          gender: 0,
          unionid: '',
        },
        follow_user: e.follow.map((f) => ({
          userid: f.userid,
          remark: f.remark,
          description: '',
          createtime: f.createtime,
          tags: [],
          remark_corp_name: '',
          remark_mobiles: [],
          oper_userid: f.userid,
          add_way: 1,
        })),
        next_cursor: '',
      });
    },
  },
  '/cgi-bin/externalcontact/groupchat/list': {
    method: 'POST',
    kind: 'customer',
    handle: (api, _q, b) => {
      const limit = typeof b.limit === 'number' ? b.limit : 100;
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return { errcode: 40058, errmsg: 'limit must be 1-1000' };
      const all = [...api.data.groups.values()].filter((g) => g.kind === 'customer');
      const from = typeof b.cursor === 'string' && /^\d+$/.test(b.cursor) ? Number(b.cursor) : 0;
      const page = all.slice(from, from + limit);
      return ok({ group_chat_list: page.map((g) => ({ chat_id: g.roomid, status: 0 })), next_cursor: from + limit < all.length ? String(from + limit) : '' });
    },
  },
  '/cgi-bin/externalcontact/groupchat/get': {
    method: 'POST',
    kind: 'customer',
    handle: (api, _q, b) => {
      const g = api.data.groups.get(typeof b.chat_id === 'string' ? b.chat_id : '');
      if (!g || g.kind !== 'customer') return err(40050);
      return ok({ group_chat: describeGroup(api, g) });
    },
  },
  '/cgi-bin/msgaudit/groupchat/get': {
    method: 'POST',
    kind: 'archive',
    handle: (api, _q, b) => {
      const g = api.data.groups.get(typeof b.roomid === 'string' ? b.roomid : '');
      if (!g || g.kind !== 'internal') return err(301059);
      return ok({
        roomname: g.name,
        creator: g.owner,
        room_create_time: g.createTime,
        notice: g.notice,
        members: g.members.map((m) => ({ memberid: m.id, jointime: m.joinTime })),
      });
    },
  },
  '/cgi-bin/msgaudit/get_robot_info': {
    method: 'GET',
    kind: 'archive',
    handle: (api, q) => {
      const r = api.data.robots.get(q.get('robot_id') ?? '');
      if (!r) return err(301061);
      return ok({ data: { robot_id: r.robotId, name: r.name, creator_userid: r.creatorUserid } });
    },
  },
  '/cgi-bin/msgaudit/check_single_agree': {
    method: 'POST',
    kind: 'archive',
    handle: (api, _q, b) => {
      const info = Array.isArray(b.info) ? b.info : [];
      if (info.length > 100) return err(301060);
      const agreeinfo: unknown[] = [];
      for (const entry of info) {
        const e = (entry ?? {}) as Record<string, unknown>;
        const userid = typeof e.userid === 'string' ? e.userid : '';
        const external = typeof e.exteranalopenid === 'string' ? e.exteranalopenid : '';
        if (!api.data.members.has(userid) || !api.data.externals.has(external)) return err(301061);
        const c = api.data.consent.get(`${userid}|${external}`);
        agreeinfo.push({ status_change_time: c?.changeTime ?? 0, userid, exteranalopenid: external, agree_status: c?.status ?? 'Default_Agree' });
      }
      return ok({ agreeinfo });
    },
  },
  '/cgi-bin/msgaudit/check_room_agree': {
    method: 'POST',
    kind: 'archive',
    handle: (api, _q, b) => {
      const g = api.data.groups.get(typeof b.roomid === 'string' ? b.roomid : '');
      if (!g) return err(301061);
      const agreeinfo = g.members
        .filter((m) => m.type === 2)
        .map((m) => {
          const c = [...api.data.consent.entries()].find(([k]) => k.endsWith(`|${m.id}`))?.[1];
          return { status_change_time: c?.changeTime ?? 0, agree_status: c?.status ?? 'Default_Agree', exteranalopenid: m.id };
        });
      return ok({ agreeinfo });
    },
  },
  '/cgi-bin/msgaudit/get_permit_user_list': { method: 'POST', kind: 'archive', handle: (api) => ok({ ids: [...api.data.permitUsers] }) },
};

/** Serves `/cgi-bin/*`; undefined when there is no such API. */
export function apiRoute(api: SimulatorApi, method: string, path: string, query: URLSearchParams, body: unknown): ApiReply | undefined {
  // the group robot's webhook takes its key instead of an access token
  if (path === '/cgi-bin/webhook/send') {
    api.countCall(path);
    return { status: 200, json: api.robot.send(method, query.get('key'), body, api.nowS() * 1000) };
  }
  if (path === '/cgi-bin/gettoken') {
    if (method !== 'GET') return { status: 200, json: err(43001) };
    api.countCall(path);
    return { status: 200, json: api.getToken(query.get('corpid'), query.get('corpsecret')) };
  }
  const route = ROUTES[path];
  if (!route) return undefined;
  api.countCall(path);
  if (method !== route.method) return { status: 200, json: { errcode: route.method === 'POST' ? 43004 : 43001, errmsg: `require ${route.method}` } };
  const tokenCode = api.checkToken(query.get('access_token'), route.kind);
  if (tokenCode !== 0) return { status: 200, json: err(tokenCode) };
  const fault = api.takeFault(path);
  if (fault) return { status: 200, json: { errcode: fault.errcode, errmsg: fault.errmsg ?? apiErrmsg(fault.errcode) } };
  const b = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  return { status: 200, json: route.handle(api, query, b) };
}

function str(b: Record<string, unknown>, name: string): string {
  const v = b[name];
  if (typeof v !== 'string' || v === '') throw new ValidationError('CONTROL_INVALID', `"${name}" must be a non-empty string`);
  return v;
}

/**
 * Control routes of the API side (`/control/callbacks`, `/control/directory`, `/control/api-faults`,
 * `/control/tokens/expire`, `/control/robot`). No route returns a secret: callback settings can be set, not read.
 */
export async function apiControlRoute(api: SimulatorApi, method: string, name: string, body: unknown): Promise<ApiReply | undefined> {
  const b = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  switch (`${method} ${name}`) {
    case 'POST callbacks': {
      if (b.url !== null && b.url !== undefined) {
        const url = str(b, 'url');
        if (!/^https?:\/\//.test(url)) throw new ValidationError('CONTROL_INVALID', '"url" must be http(s)://HOST:PORT/callback');
        api.callbackTarget = url;
      } else if (b.url === null) api.callbackTarget = null;
      const apps = typeof b.apps === 'object' && b.apps !== null ? (b.apps as Record<string, unknown>) : {};
      for (const [app, v] of Object.entries(apps)) {
        if (app !== 'contacts' && app !== 'customer' && app !== 'archive') throw new ValidationError('CONTROL_INVALID', `unknown app ${app}: contacts, customer or archive`);
        const s = (v ?? {}) as Record<string, unknown>;
        api.setCallbackApp(app as SimCallbackApp, str(s, 'token'), str(s, 'aesKey'));
      }
      return { status: 200, json: { target: api.callbackTarget } };
    }
    // what the group robot received, oldest first (never its key)
    case 'GET robot':
      return { status: 200, json: { messages: api.robot.received } };
    case 'POST api-faults':
      api.injectFault({ errcode: Number(b.errcode), ...(typeof b.path === 'string' ? { path: b.path } : {}), ...(typeof b.count === 'number' ? { count: b.count } : {}) });
      return { status: 200, json: { queued: true } };
    // who is signed in to WeCom for the authorize pages (null: nobody)
    case 'POST oauth': {
      if (b.userid !== null && (typeof b.userid !== 'string' || b.userid === '')) throw new ValidationError('CONTROL_INVALID', '"userid" must be a non-empty string or null');
      api.oauth.signedIn = b.userid;
      return { status: 200, json: { signedIn: api.oauth.signedIn, agentid: api.oauth.agentid } };
    }
    case 'POST tokens/expire':
      api.expireTokens();
      return { status: 200, json: { expired: true } };
    case 'POST directory': {
      const action = str(b, 'action');
      let delivery;
      switch (action) {
        case 'notify':
          delivery = await api.notifyNewData();
          break;
        case 'rename_member':
          delivery = await api.renameMember(str(b, 'userid'), str(b, 'name'));
          break;
        case 'change_userid':
          delivery = await api.changeUserId(str(b, 'userid'), str(b, 'newUserid'));
          break;
        case 'add_member':
          delivery = await api.addMember({ userid: str(b, 'userid'), name: str(b, 'name') });
          break;
        case 'delete_member':
          delivery = await api.deleteMember(str(b, 'userid'));
          break;
        case 'add_external_contact':
          delivery = (await api.addExternalContact({ name: str(b, 'name'), userid: str(b, 'userid') })).delivery;
          break;
        case 'approve_archive':
          delivery = await api.approveArchive(str(b, 'userid'), str(b, 'externalUserid'));
          break;
        case 'rename_group':
          delivery = await api.renameGroup(str(b, 'roomid'), str(b, 'name'));
          break;
        case 'dismiss_group':
          delivery = await api.dismissGroup(str(b, 'roomid'));
          break;
        default:
          throw new ValidationError('CONTROL_INVALID', `unknown action ${JSON.stringify(action)}`);
      }
      return { status: 200, json: { delivered: delivery ? { status: delivery.status, ms: Math.round(delivery.ms) } : null } };
    }
    default:
      return undefined;
  }
}
