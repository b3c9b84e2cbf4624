import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/errors.ts';
import { CallbackEventError, parseCallbackEvent, type CallbackEvent } from './callback-events.ts';
import {
  makeEventXml,
  SAMPLE_ADD_EXTERNAL_CONTACT,
  SAMPLE_CHANGE_CONTACT_UPDATE_USER,
  SAMPLE_CHANGE_EXTERNAL_CHAT_UPDATE,
  SAMPLE_MSG_AUDIT_APPROVED,
  SAMPLE_MSGAUDIT_NOTIFY,
  SAMPLE_TEXT_MESSAGE_A,
} from '../../test/support/callback-event-samples.ts';

const header = { toUserName: 'ww55ca070cb9b7eb22', fromUserName: 'sys', createTime: 1403610513 };

function fieldError(xml: string): CallbackEventError {
  try {
    parseCallbackEvent(xml);
  } catch (error) {
    expect(error).toBeInstanceOf(CallbackEventError);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as CallbackEventError).httpStatus).toBe(400);
    return error as CallbackEventError;
  }
  throw new Error('expected a field error');
}

describe('msgaudit_notify', () => {
  it('parses the event with its AgentID', () => {
    expect(parseCallbackEvent(SAMPLE_MSGAUDIT_NOTIFY)).toEqual({
      kind: 'msgaudit_notify',
      ...header,
      event: 'msgaudit_notify',
      changeType: null,
      agentId: 2000003,
    });
  });

  it('AgentID is optional but must be a number when present', () => {
    const ev = parseCallbackEvent(makeEventXml('msgaudit_notify', null));
    expect(ev.kind).toBe('msgaudit_notify');
    expect('agentId' in ev).toBe(false);
    expect(fieldError(makeEventXml('msgaudit_notify', null, { AgentID: 'abc' })).field).toBe('AgentID');
  });
});

describe('change_contact', () => {
  it('update_user: the sample with NewUserID, departments as numbers and ExtAttr', () => {
    const ev = parseCallbackEvent(SAMPLE_CHANGE_CONTACT_UPDATE_USER);
    expect(ev).toEqual({
      kind: 'change_contact',
      toUserName: 'toUser',
      fromUserName: 'sys',
      createTime: 1403610513,
      event: 'change_contact',
      changeType: 'update_user',
      newUserId: 'zhangsan001',
      user: {
        userId: 'zhangsan',
        name: '张三',
        department: [1, 2, 3],
        mainDepartment: 1,
        isLeaderInDept: [true, false, false],
        position: '产品经理',
        mobile: '13800000000',
        gender: 1,
        email: 'zhangsan@gzdev.com',
        status: 1,
        avatar: 'http://wx.qlogo.cn/mmopen/ajNVdqHZLLA3WJ6DSZUfiakYe37PKnQhBIeOQBO4czqrnZDS79FH5Wm5m4X69TBicnHFlhiafvDwklOpZeXYQQ2icg/0',
        alias: 'zhangsan',
        telephone: '020-123456',
        address: '广州市',
        extAttr: [
          { type: 'text', name: '爱好', value: '旅游' },
          { type: 'web', name: '卡号', title: '企业微信', url: 'https://work.weixin.qq.com' },
        ],
      },
    });
  });

  it('update_user with only the changed field leaves the others absent (unchanged, not cleared)', () => {
    const ev = parseCallbackEvent(makeEventXml('change_contact', 'update_user', { UserID: 'lisi', Position: '' }));
    if (ev.kind !== 'change_contact' || ev.changeType !== 'update_user') throw new Error(`got ${ev.kind}`);
    expect(ev.user).toEqual({ userId: 'lisi', position: '' });
    expect(ev.newUserId).toBeUndefined();
  });

  it('create_user with a single department and a single ExtAttr item', () => {
    const xml = makeEventXml('change_contact', 'create_user', { UserID: 'zhangsan', Name: '张三', Department: '1' }).replace(
      '</xml>',
      '<ExtAttr><Item><Name>爱好</Name><Type>0</Type><Text><Value>旅游</Value></Text></Item></ExtAttr></xml>',
    );
    const ev = parseCallbackEvent(xml);
    expect(ev).toMatchObject({
      kind: 'change_contact',
      changeType: 'create_user',
      user: { userId: 'zhangsan', name: '张三', department: [1], extAttr: [{ type: 'text', name: '爱好', value: '旅游' }] },
    });
  });

  it('delete_user, create_party, update_party, delete_party, update_tag', () => {
    expect(parseCallbackEvent(makeEventXml('change_contact', 'delete_user', { UserID: 'zhangsan' }))).toEqual({
      kind: 'change_contact',
      ...header,
      event: 'change_contact',
      changeType: 'delete_user',
      userId: 'zhangsan',
    });
    expect(parseCallbackEvent(makeEventXml('change_contact', 'create_party', { Id: 2, Name: '研发部', ParentId: 1, Order: 1 }))).toMatchObject({
      changeType: 'create_party',
      party: { id: 2, name: '研发部', parentId: 1, order: 1 },
    });
    expect(parseCallbackEvent(makeEventXml('change_contact', 'update_party', { Id: 2, Name: '产品部' }))).toMatchObject({
      changeType: 'update_party',
      party: { id: 2, name: '产品部' },
    });
    expect(parseCallbackEvent(makeEventXml('change_contact', 'delete_party', { Id: 2 }))).toMatchObject({
      changeType: 'delete_party',
      partyId: 2,
    });
    expect(parseCallbackEvent(makeEventXml('change_contact', 'update_tag', { TagId: 1, AddUserItems: 'zhangsan,lisi', DelUserItems: '', AddPartyItems: '1,2' }))).toMatchObject({
      changeType: 'update_tag',
      tagId: 1,
      addUserItems: ['zhangsan', 'lisi'],
      delUserItems: [],
      addPartyItems: [1, 2],
      delPartyItems: [],
    });
  });

  it.each([
    ['create_user', {}, 'UserID'],
    ['update_user', { Name: 'x' }, 'UserID'],
    ['delete_user', {}, 'UserID'],
    ['create_party', { Id: 2 }, 'ParentId'],
    ['update_party', { Name: 'x' }, 'Id'],
    ['delete_party', {}, 'Id'],
    ['update_tag', { AddUserItems: 'a' }, 'TagId'],
  ])('%s without %j → an error naming %s', (changeType, body, field) => {
    const e = fieldError(makeEventXml('change_contact', changeType, body));
    expect(e.code).toBe('CALLBACK_EVENT_MISSING_FIELD');
    expect(e.field).toBe(field);
    expect(e.message).toContain(field);
  });

  it.each([
    ['Department', '1,x,3'],
    ['Department', '1,,3'],
    ['IsLeaderInDept', '1,2'],
    ['MainDepartment', '1.5'],
    ['Gender', 'male'],
  ])('a malformed %s (%s) → CALLBACK_EVENT_BAD_FIELD naming it, without its value', (field, value) => {
    const e = fieldError(makeEventXml('change_contact', 'update_user', { UserID: 'zhangsan', [field]: value }));
    expect(e.code).toBe('CALLBACK_EVENT_BAD_FIELD');
    expect(e.field).toBe(field);
    expect(e.message).not.toContain(value);
  });

  it('a malformed ExtAttr item names its position', () => {
    const xml = makeEventXml('change_contact', 'update_user', { UserID: 'u' }).replace(
      '</xml>',
      '<ExtAttr><Item><Name>a</Name><Type>0</Type></Item><Item><Type>1</Type></Item></ExtAttr></xml>',
    );
    expect(fieldError(xml).field).toBe('ExtAttr.Item[1].Name');
  });

  it('a field that appears twice is refused rather than one copy picked', () => {
    const xml = makeEventXml('change_contact', 'delete_user', { UserID: 'a' }).replace('</xml>', '<UserID>b</UserID></xml>');
    expect(fieldError(xml).field).toBe('UserID');
  });

  it('an unknown change type is unknown, not an error', () => {
    expect(parseCallbackEvent(makeEventXml('change_contact', 'merge_users', {}))).toEqual({
      kind: 'unknown',
      event: 'change_contact',
      changeType: 'merge_users',
      msgType: 'event',
    });
  });
});

describe('change_external_contact', () => {
  it('add_external_contact: the official 92130 values', () => {
    expect(parseCallbackEvent(SAMPLE_ADD_EXTERNAL_CONTACT)).toEqual({
      kind: 'change_external_contact',
      toUserName: 'toUser',
      fromUserName: 'sys',
      createTime: 1403610513,
      event: 'change_external_contact',
      changeType: 'add_external_contact',
      userId: 'zhangsan',
      externalUserId: 'woAJ2GCAAAXtWyujaWJHDDGi0mAAAA',
      state: 'teststate',
      welcomeCode: 'WELCOMECODE',
    });
  });

  it('msg_audit_approved: the customer agreed to archiving', () => {
    const ev = parseCallbackEvent(SAMPLE_MSG_AUDIT_APPROVED);
    expect(ev).toMatchObject({
      kind: 'change_external_contact',
      changeType: 'msg_audit_approved',
      userId: 'zhangsan',
      externalUserId: 'woAJ2GCAAAXtWyujaWJHDDGi0mAAAA',
      welcomeCode: 'WELCOMECODE',
    });
  });

  it.each([
    ['add_half_external_contact', { State: 's', WelcomeCode: 'w' }, { state: 's', welcomeCode: 'w' }],
    ['edit_external_contact', {}, {}],
    ['del_external_contact', { Source: 'DELETE_BY_TRANSFER' }, { source: 'DELETE_BY_TRANSFER' }],
    ['del_follow_user', {}, {}],
    ['transfer_fail', { FailReason: 'customer_refused' }, { failReason: 'customer_refused' }],
  ])('%s', (changeType, extra, expected) => {
    const ev = parseCallbackEvent(makeEventXml('change_external_contact', changeType, { UserID: 'zhangsan', ExternalUserID: 'wmEXT', ...extra }));
    expect(ev).toEqual({
      kind: 'change_external_contact',
      ...header,
      event: 'change_external_contact',
      changeType,
      userId: 'zhangsan',
      externalUserId: 'wmEXT',
      ...expected,
    });
  });

  it.each([
    ['add_external_contact', { UserID: 'u' }, 'ExternalUserID'],
    ['msg_audit_approved', { ExternalUserID: 'wm' }, 'UserID'],
    ['transfer_fail', { UserID: 'u', ExternalUserID: 'wm' }, 'FailReason'],
  ])('%s without a required field → error naming %s', (changeType, body, field) => {
    expect(fieldError(makeEventXml('change_external_contact', changeType, body)).field).toBe(field);
  });
});

describe('change_external_chat', () => {
  it('update: the official update sample', () => {
    expect(parseCallbackEvent(SAMPLE_CHANGE_EXTERNAL_CHAT_UPDATE)).toEqual({
      kind: 'change_external_chat',
      ...header,
      event: 'change_external_chat',
      changeType: 'update',
      chatId: 'wrx7HUARsKwGRaQBVKPBTcEyzdHA4HrQ',
      updateDetail: 'add_member',
      joinScene: 1,
      quitScene: 0,
      memChangeCnt: 10,
      memChangeList: ['Jack', 'Rose'],
      lastMemVer: '9c3f97c2ada667dfb5f6d03308d963e1',
      curMemVer: '71217227bbd112ecfe3a49c482195cb4',
    });
  });

  it('create and dismiss carry the chat id; an update with one member gives a one-item list', () => {
    expect(parseCallbackEvent(makeEventXml('change_external_chat', 'create', { ChatId: 'wrA' }))).toMatchObject({
      changeType: 'create',
      chatId: 'wrA',
    });
    expect(parseCallbackEvent(makeEventXml('change_external_chat', 'dismiss', { ChatId: 'wrA' }))).toMatchObject({
      changeType: 'dismiss',
      chatId: 'wrA',
    });
    const one = makeEventXml('change_external_chat', 'update', { ChatId: 'wrA', UpdateDetail: 'del_member', QuitScene: 1 }).replace(
      '</xml>',
      '<MemChangeList><Item>Jack</Item></MemChangeList></xml>',
    );
    expect(parseCallbackEvent(one)).toMatchObject({ updateDetail: 'del_member', quitScene: 1, memChangeList: ['Jack'] });
    const none = makeEventXml('change_external_chat', 'update', { ChatId: 'wrA', UpdateDetail: 'change_name' });
    expect(parseCallbackEvent(none)).toMatchObject({ updateDetail: 'change_name', memChangeList: [] });
  });

  it('missing ChatId or UpdateDetail → error naming it; a non-Item member list is refused', () => {
    expect(fieldError(makeEventXml('change_external_chat', 'dismiss', {})).field).toBe('ChatId');
    expect(fieldError(makeEventXml('change_external_chat', 'update', { ChatId: 'wrA' })).field).toBe('UpdateDetail');
    const odd = makeEventXml('change_external_chat', 'update', { ChatId: 'wrA', UpdateDetail: 'add_member' }).replace(
      '</xml>',
      '<MemChangeList><Member>Jack</Member></MemChangeList></xml>',
    );
    expect(fieldError(odd).field).toBe('MemChangeList');
  });
});

describe('common header and unknown events', () => {
  it.each(['ToUserName', 'FromUserName', 'CreateTime'])('a handled event without %s → error naming it', (field) => {
    const xml = makeEventXml('change_external_chat', 'create', { ChatId: 'wrA' }).replace(new RegExp(`<${field}>.*?</${field}>`), '');
    const e = fieldError(xml);
    expect(e.code).toBe('CALLBACK_EVENT_MISSING_FIELD');
    expect(e.field).toBe(field);
  });

  it('a CreateTime that is not an integer is refused', () => {
    const xml = makeEventXml('msgaudit_notify', null).replace('<CreateTime>1403610513</CreateTime>', '<CreateTime>soon</CreateTime>');
    expect(fieldError(xml).field).toBe('CreateTime');
  });

  it('other events, other messages and missing Event are unknown, never errors', () => {
    const cases: Array<[string, CallbackEvent]> = [
      [makeEventXml('change_external_tag', 'create', { Id: 'et1', TagType: 'tag' }), { kind: 'unknown', event: 'change_external_tag', changeType: 'create', msgType: 'event' }],
      [makeEventXml('enter_agent', null), { kind: 'unknown', event: 'enter_agent', changeType: null, msgType: 'event' }],
      [SAMPLE_TEXT_MESSAGE_A, { kind: 'unknown', event: null, changeType: null, msgType: 'text' }],
      ['<xml><InfoType>suite_ticket</InfoType></xml>', { kind: 'unknown', event: null, changeType: null, msgType: null }],
      ['<xml></xml>', { kind: 'unknown', event: null, changeType: null, msgType: null }],
    ];
    for (const [xml, expected] of cases) expect(parseCallbackEvent(xml)).toEqual(expected);
  });

  it('hostile XML is still refused by the parser', () => {
    expect(() => parseCallbackEvent('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml>&e;</xml>')).toThrow(expect.objectContaining({ code: 'CALLBACK_XML_FORBIDDEN' }));
  });
});
