/**
 * Typed callback events. The decrypted event XML is parsed by callback-xml.ts and then checked field
 * by field here, so later stages get a discriminated union instead of a bag of strings. Event types
 * we do not handle become `kind: 'unknown'` rather than errors: WeCom adds events over time and an
 * unknown one must not make the callback URL fail (WeCom would retry it and may disable the URL).
 * Field sets are those WeCom sends to a self-built app: a common header (ToUserName, FromUserName,
 * CreateTime, MsgType=event, Event), then ChangeType and the fields of each event below.
 */
import { ValidationError } from '../errors/errors.ts';
import { parseCallbackXml, type CallbackXmlElement, type CallbackXmlOptions, type CallbackXmlValue } from './callback-xml.ts';
import type { InboxKind } from '../store/vocabulary.ts';

/** A required field is missing or a field does not have the documented form. */
export class CallbackEventError extends ValidationError {
  /** The XML element name, e.g. `UserID`. */
  readonly field: string;

  constructor(code: 'CALLBACK_EVENT_MISSING_FIELD' | 'CALLBACK_EVENT_BAD_FIELD', field: string, message: string) {
    super(code, message);
    this.field = field;
  }
}

/** Header fields every event carries. */
export interface CallbackEventHeader {
  /** The corpid the event is addressed to. */
  toUserName: string;
  /** `sys` for system events. */
  fromUserName: string;
  /** Seconds since the epoch, as WeCom sends it (not milliseconds). */
  createTime: number;
  event: string;
}

/** New chat-archive data is ready: pull from the last saved seq. The event carries no data itself. */
export interface MsgauditNotifyEvent extends CallbackEventHeader {
  kind: 'msgaudit_notify';
  event: 'msgaudit_notify';
  /** Not sent with this event; kept for the common shape. */
  changeType: null;
  agentId?: number;
}

/** An extended attribute of a member. `type` 0 is text, 1 is web; other codes are kept as is. */
export type ContactExtAttr =
  { type: 'text'; name: string; value: string } | { type: 'web'; name: string; title: string; url: string } | { type: 'other'; name: string; typeCode: number };

/**
 * Member fields of create_user / update_user. Only UserID is always present: update_user carries the
 * changed fields only, and newer apps do not receive sensitive fields (mobile, email, avatar…) at all.
 */
export interface ContactUserFields {
  userId: string;
  name?: string;
  /** Department ids, from "1,2,3". */
  department?: number[];
  mainDepartment?: number;
  /** Parallel to `department`, from "1,0,0". */
  isLeaderInDept?: boolean[];
  position?: string;
  mobile?: string;
  /** 0 unset, 1 male, 2 female. */
  gender?: number;
  email?: string;
  bizMail?: string;
  /** 1 active, 2 disabled, 4 inactive, 5 quit. */
  status?: number;
  avatar?: string;
  alias?: string;
  telephone?: string;
  address?: string;
  directLeader?: string[];
  extAttr?: ContactExtAttr[];
}

/** Department fields; Name may be withheld from newer apps. */
export interface ContactPartyFields {
  id: number;
  name?: string;
  parentId?: number;
  order?: number;
}

type ChangeContactBase = CallbackEventHeader & { kind: 'change_contact'; event: 'change_contact' };

/** `Event=change_contact` (members, departments, tags), discriminated by `changeType`. */
export type ChangeContactEvent =
  | (ChangeContactBase & { changeType: 'create_user'; user: ContactUserFields })
  | (ChangeContactBase & {
      changeType: 'update_user';
      user: ContactUserFields;
      /** Present only when the userid changed; `user.userId` is then the old one. */
      newUserId?: string;
    })
  | (ChangeContactBase & { changeType: 'delete_user'; userId: string })
  | (ChangeContactBase & { changeType: 'create_party'; party: ContactPartyFields & { parentId: number } })
  | (ChangeContactBase & { changeType: 'update_party'; party: ContactPartyFields })
  | (ChangeContactBase & { changeType: 'delete_party'; partyId: number })
  | (ChangeContactBase & {
      changeType: 'update_tag';
      tagId: number;
      addUserItems: string[];
      delUserItems: string[];
      addPartyItems: number[];
      delPartyItems: number[];
    });

type ExternalContactBase = CallbackEventHeader & {
  kind: 'change_external_contact';
  event: 'change_external_contact';
  userId: string;
  externalUserId: string;
};

/** `Event=change_external_contact` (a member's customers), discriminated by `changeType`. */
export type ChangeExternalContactEvent =
  | (ExternalContactBase & {
      changeType: 'add_external_contact' | 'add_half_external_contact';
      state?: string;
      welcomeCode?: string;
    })
  | (ExternalContactBase & { changeType: 'edit_external_contact'; state?: string })
  | (ExternalContactBase & {
      changeType: 'del_external_contact';
      /** e.g. DELETE_BY_TRANSFER. */
      source?: string;
    })
  | (ExternalContactBase & { changeType: 'del_follow_user' })
  | (ExternalContactBase & {
      changeType: 'transfer_fail';
      /** `customer_refused` or `customer_limit_exceed`. */
      failReason: string;
    })
  | (ExternalContactBase & {
      /** The customer agreed to chat archiving: their messages can now be archived. */
      changeType: 'msg_audit_approved';
      welcomeCode?: string;
    });

type ExternalChatBase = CallbackEventHeader & { kind: 'change_external_chat'; event: 'change_external_chat'; chatId: string };

/** `Event=change_external_chat` (customer groups), discriminated by `changeType`. */
export type ChangeExternalChatEvent =
  | (ExternalChatBase & { changeType: 'create' })
  | (ExternalChatBase & {
      changeType: 'update';
      /** add_member | del_member | change_owner | change_name | change_notice. */
      updateDetail: string;
      /** For add_member: 0 invited by a member, 3 scanned the group QR code. */
      joinScene?: number;
      /** For del_member: 0 left, 1 removed by the owner or an admin. */
      quitScene?: number;
      memChangeCnt?: number;
      /** Userids or external userids that joined or left. */
      memChangeList: string[];
      lastMemVer?: string;
      curMemVer?: string;
    })
  | (ExternalChatBase & { changeType: 'dismiss' });

/** Any event (or message) we do not model; read what is known and move on. */
export interface UnknownCallbackEvent {
  kind: 'unknown';
  /** null when the XML has no Event (a plain message such as text). */
  event: string | null;
  changeType: string | null;
  msgType: string | null;
}

/** A decrypted callback, validated. */
export type CallbackEvent = MsgauditNotifyEvent | ChangeContactEvent | ChangeExternalContactEvent | ChangeExternalChatEvent | UnknownCallbackEvent;

/** What the inbox stores as a callback's kind: the parsed event's, or 'invalid' when it could not be parsed. */
export type { InboxKind };

/** Every parsed event's kind is one the inbox can store (a compile-time check). */
const EVERY_KIND_STORABLE: CallbackEvent['kind'] extends InboxKind ? true : never = true;
void EVERY_KIND_STORABLE;

/**
 * Parses decrypted callback XML (the `message` of decryptCallbackMessage) into a CallbackEvent.
 *
 * @throws CallbackXmlError for XML that is malformed or hostile; CallbackEventError (ValidationError)
 *   naming the field when a handled event lacks a required field or has a malformed one.
 */
export function parseCallbackEvent(xml: string, opts?: CallbackXmlOptions): CallbackEvent {
  return callbackEventFromXml(parseCallbackXml(xml, opts));
}

/** As parseCallbackEvent, for XML that is already parsed. */
export function callbackEventFromXml(root: CallbackXmlElement): CallbackEvent {
  const f = new Fields(root);
  const msgType = f.lenientString('MsgType');
  const event = f.lenientString('Event');
  const changeType = f.lenientString('ChangeType');
  const unknown: UnknownCallbackEvent = { kind: 'unknown', event, changeType, msgType };
  // Only msgType=event is an event; a text message that happens to carry <Event> is still a message.
  if (msgType !== 'event' || event === null) return unknown;

  switch (event) {
    case 'msgaudit_notify': {
      const header = f.header('msgaudit_notify');
      const agentId = f.optionalInt('AgentID');
      return { kind: 'msgaudit_notify', ...header, changeType: null, ...(agentId === undefined ? {} : { agentId }) };
    }
    case 'change_contact':
      return changeContact(f, changeType) ?? unknown;
    case 'change_external_contact':
      return changeExternalContact(f, changeType) ?? unknown;
    case 'change_external_chat':
      return changeExternalChat(f, changeType) ?? unknown;
    default:
      return unknown;
  }
}

function changeContact(f: Fields, changeType: string | null): ChangeContactEvent | undefined {
  const base = (): ChangeContactBase => ({ kind: 'change_contact', ...f.header('change_contact') });
  switch (changeType) {
    case 'create_user':
      return { ...base(), changeType, user: contactUser(f) };
    case 'update_user': {
      const newUserId = f.optionalString('NewUserID');
      return { ...base(), changeType, user: contactUser(f), ...(newUserId ? { newUserId } : {}) };
    }
    case 'delete_user':
      return { ...base(), changeType, userId: f.requiredString('UserID') };
    case 'create_party':
      return { ...base(), changeType, party: { ...contactParty(f), parentId: f.requiredInt('ParentId') } };
    case 'update_party':
      return { ...base(), changeType, party: contactParty(f) };
    case 'delete_party':
      return { ...base(), changeType, partyId: f.requiredInt('Id') };
    case 'update_tag':
      return {
        ...base(),
        changeType,
        tagId: f.requiredInt('TagId'),
        addUserItems: f.stringList('AddUserItems'),
        delUserItems: f.stringList('DelUserItems'),
        addPartyItems: f.intList('AddPartyItems'),
        delPartyItems: f.intList('DelPartyItems'),
      };
    default:
      return undefined;
  }
}

function contactUser(f: Fields): ContactUserFields {
  const user: ContactUserFields = { userId: f.requiredString('UserID') };
  // Absent stays absent: for update_user an absent field means "unchanged", not "cleared".
  assign(user, 'name', f.optionalString('Name'));
  if (f.has('Department')) user.department = f.intList('Department');
  assign(user, 'mainDepartment', f.optionalInt('MainDepartment'));
  if (f.has('IsLeaderInDept')) user.isLeaderInDept = f.flagList('IsLeaderInDept');
  assign(user, 'position', f.optionalString('Position'));
  assign(user, 'mobile', f.optionalString('Mobile'));
  assign(user, 'gender', f.optionalInt('Gender'));
  assign(user, 'email', f.optionalString('Email'));
  assign(user, 'bizMail', f.optionalString('BizMail'));
  assign(user, 'status', f.optionalInt('Status'));
  assign(user, 'avatar', f.optionalString('Avatar'));
  assign(user, 'alias', f.optionalString('Alias'));
  assign(user, 'telephone', f.optionalString('Telephone'));
  assign(user, 'address', f.optionalString('Address'));
  if (f.has('DirectLeader')) user.directLeader = f.stringList('DirectLeader');
  if (f.has('ExtAttr')) user.extAttr = extAttrs(f);
  return user;
}

function extAttrs(f: Fields): ContactExtAttr[] {
  const ext = f.raw('ExtAttr');
  if (ext === undefined || ext === '') return [];
  if (typeof ext === 'string' && /^\s*$/.test(ext)) return [];
  if (typeof ext !== 'object' || Array.isArray(ext)) throw f.bad('ExtAttr', 'must hold Item elements');
  const items = ext.Item === undefined ? [] : Array.isArray(ext.Item) ? ext.Item : [ext.Item];
  return items.map((item, n): ContactExtAttr => {
    const label = `ExtAttr.Item[${n}]`;
    if (typeof item !== 'object') throw f.bad(label, 'must be an element with Name and Type');
    const fi = new Fields(item, label);
    const name = fi.requiredString('Name');
    const typeCode = fi.requiredInt('Type');
    if (typeCode === 0) {
      const text = fi.element('Text');
      return { type: 'text', name, value: text ? (new Fields(text, `${label}.Text`).optionalString('Value') ?? '') : '' };
    }
    if (typeCode === 1) {
      const web = fi.element('Web');
      const fw = web ? new Fields(web, `${label}.Web`) : undefined;
      return { type: 'web', name, title: fw?.optionalString('Title') ?? '', url: fw?.optionalString('Url') ?? '' };
    }
    return { type: 'other', name, typeCode };
  });
}

function contactParty(f: Fields): ContactPartyFields {
  const party: ContactPartyFields = { id: f.requiredInt('Id') };
  assign(party, 'name', f.optionalString('Name'));
  assign(party, 'parentId', f.optionalInt('ParentId'));
  assign(party, 'order', f.optionalInt('Order'));
  return party;
}

function changeExternalContact(f: Fields, changeType: string | null): ChangeExternalContactEvent | undefined {
  const base = (): ExternalContactBase => ({
    kind: 'change_external_contact',
    ...f.header('change_external_contact'),
    userId: f.requiredString('UserID'),
    externalUserId: f.requiredString('ExternalUserID'),
  });
  switch (changeType) {
    case 'add_external_contact':
    case 'add_half_external_contact':
      return { ...base(), changeType, ...opt('state', f.optionalString('State')), ...opt('welcomeCode', f.optionalString('WelcomeCode')) };
    case 'edit_external_contact':
      return { ...base(), changeType, ...opt('state', f.optionalString('State')) };
    case 'del_external_contact':
      return { ...base(), changeType, ...opt('source', f.optionalString('Source')) };
    case 'del_follow_user':
      return { ...base(), changeType };
    case 'transfer_fail':
      return { ...base(), changeType, failReason: f.requiredString('FailReason') };
    case 'msg_audit_approved':
      return { ...base(), changeType, ...opt('welcomeCode', f.optionalString('WelcomeCode')) };
    default:
      return undefined;
  }
}

function changeExternalChat(f: Fields, changeType: string | null): ChangeExternalChatEvent | undefined {
  const base = (): ExternalChatBase => ({
    kind: 'change_external_chat',
    ...f.header('change_external_chat'),
    chatId: f.requiredString('ChatId'),
  });
  switch (changeType) {
    case 'create':
    case 'dismiss':
      return { ...base(), changeType };
    case 'update':
      return {
        ...base(),
        changeType,
        updateDetail: f.requiredString('UpdateDetail'),
        ...opt('joinScene', f.optionalInt('JoinScene')),
        ...opt('quitScene', f.optionalInt('QuitScene')),
        ...opt('memChangeCnt', f.optionalInt('MemChangeCnt')),
        memChangeList: f.itemList('MemChangeList'),
        ...opt('lastMemVer', f.optionalString('LastMemVer')),
        ...opt('curMemVer', f.optionalString('CurMemVer')),
      };
    default:
      return undefined;
  }
}

// With exactOptionalPropertyTypes in mind, optional fields are left out rather than set to undefined.
function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function assign<T, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

const INT = /^-?[0-9]{1,15}$/;

/** Reads fields of one element; every error names the field and never its value (personal data). */
class Fields {
  constructor(
    private readonly el: CallbackXmlElement,
    private readonly prefix = '',
  ) {}

  private label(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  bad(name: string, why: string): CallbackEventError {
    const field = this.label(name);
    return new CallbackEventError('CALLBACK_EVENT_BAD_FIELD', field, `callback event field ${field} ${why}`);
  }

  missing(name: string, event?: string): CallbackEventError {
    const field = this.label(name);
    return new CallbackEventError('CALLBACK_EVENT_MISSING_FIELD', field, `callback event${event ? ` ${event}` : ''} lacks the required field ${field}`);
  }

  has(name: string): boolean {
    return Object.hasOwn(this.el, name);
  }

  raw(name: string): CallbackXmlValue | undefined {
    return this.has(name) ? this.el[name] : undefined;
  }

  element(name: string): CallbackXmlElement | undefined {
    const v = this.raw(name);
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) throw this.bad(name, 'must be a single element with children');
    return v;
  }

  header<E extends string>(event: E): CallbackEventHeader & { event: E } {
    const createTime = this.optionalInt('CreateTime');
    if (createTime === undefined) throw this.missing('CreateTime', event);
    if (createTime < 0) throw this.bad('CreateTime', 'must be a non-negative number of seconds');
    return {
      toUserName: this.requiredString('ToUserName', event),
      fromUserName: this.requiredString('FromUserName', event),
      createTime,
      event,
    };
  }

  /** For the discriminating fields: a wrong shape reads as absent so the event becomes 'unknown'. */
  lenientString(name: string): string | null {
    const v = this.raw(name);
    return typeof v === 'string' ? v.trim() : null;
  }

  optionalString(name: string): string | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw this.bad(name, 'must be text and appear once');
    return v;
  }

  requiredString(name: string, event?: string): string {
    const v = this.optionalString(name);
    if (v === undefined || v === '') throw this.missing(name, event);
    return v;
  }

  /** An empty element reads as absent: WeCom sends empty numbers for unset values. */
  optionalInt(name: string): number | undefined {
    const v = this.optionalString(name)?.trim();
    if (v === undefined || v === '') return undefined;
    if (!INT.test(v)) throw this.bad(name, 'must be an integer');
    return Number(v);
  }

  requiredInt(name: string): number {
    const v = this.optionalInt(name);
    if (v === undefined) throw this.missing(name);
    return v;
  }

  /** "a,b,c" → ['a','b','c']; absent or empty → []. */
  stringList(name: string): string[] {
    const v = this.optionalString(name);
    if (v === undefined || v.trim() === '') return [];
    const items = v.split(',').map((s) => s.trim());
    if (items.some((s) => s === '')) throw this.bad(name, 'must be a comma-separated list without empty items');
    return items;
  }

  /** "1,2,3" → [1,2,3]. */
  intList(name: string): number[] {
    return this.stringList(name).map((s) => {
      if (!INT.test(s)) throw this.bad(name, 'must be a comma-separated list of integers');
      return Number(s);
    });
  }

  /** "1,0,0" → [true,false,false]. */
  flagList(name: string): boolean[] {
    return this.stringList(name).map((s) => {
      if (s !== '0' && s !== '1') throw this.bad(name, 'must be a comma-separated list of 0 and 1');
      return s === '1';
    });
  }

  /** `<Name><Item>a</Item><Item>b</Item></Name>` → ['a','b']; absent or empty → []. */
  itemList(name: string): string[] {
    const v = this.raw(name);
    if (v === undefined || (typeof v === 'string' && v.trim() === '')) return [];
    if (typeof v !== 'object' || Array.isArray(v)) throw this.bad(name, 'must hold Item elements');
    const extra = Object.keys(v).filter((k) => k !== 'Item');
    if (extra.length > 0) throw this.bad(name, 'must hold only Item elements');
    const items = v.Item === undefined ? [] : Array.isArray(v.Item) ? v.Item : [v.Item];
    return items.map((item) => {
      if (typeof item !== 'string') throw this.bad(`${name}.Item`, 'must be text');
      return item;
    });
  }
}
