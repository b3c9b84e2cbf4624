/**
 * Sample callback XML as WeCom's callback documentation gives it, for tests. Values are the
 * documented ones where the docs give them. "Set A" is the official PHP sample of the callback
 * encryption: its POST body and the message that body decrypts to.
 */

/** Set A's outer POST body: what arrives at the callback URL before decryption. */
export const SAMPLE_POST_BODY_A =
  '<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>';

/** Set A's decrypted POST message: a text message, not an event. */
export const SAMPLE_TEXT_MESSAGE_A =
  '<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>';

/** The official change_external_chat update sample, line breaks as quoted there. */
export const SAMPLE_CHANGE_EXTERNAL_CHAT_UPDATE = `<xml><ToUserName><![CDATA[ww55ca070cb9b7eb22]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>
<CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_chat]]></Event>
<ChatId><![CDATA[wrx7HUARsKwGRaQBVKPBTcEyzdHA4HrQ]]></ChatId><ChangeType><![CDATA[update]]></ChangeType>
<UpdateDetail><![CDATA[add_member]]></UpdateDetail><JoinScene>1</JoinScene><QuitScene>0</QuitScene><MemChangeCnt>10</MemChangeCnt>
<MemChangeList><Item>Jack</Item><Item>Rose</Item></MemChangeList>
<LastMemVer>9c3f97c2ada667dfb5f6d03308d963e1</LastMemVer><CurMemVer>71217227bbd112ecfe3a49c482195cb4</CurMemVer></xml>`;

/** change_contact update_user with NewUserID and both ExtAttr kinds (the documented field set, with sample values). */
export const SAMPLE_CHANGE_CONTACT_UPDATE_USER = `<xml>
<ToUserName><![CDATA[toUser]]></ToUserName>
<FromUserName><![CDATA[sys]]></FromUserName>
<CreateTime>1403610513</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[change_contact]]></Event>
<ChangeType>update_user</ChangeType>
<UserID><![CDATA[zhangsan]]></UserID>
<NewUserID><![CDATA[zhangsan001]]></NewUserID>
<Name><![CDATA[张三]]></Name>
<Department><![CDATA[1,2,3]]></Department>
<MainDepartment>1</MainDepartment>
<IsLeaderInDept><![CDATA[1,0,0]]></IsLeaderInDept>
<Position><![CDATA[产品经理]]></Position>
<Mobile>13800000000</Mobile>
<Gender>1</Gender>
<Email><![CDATA[zhangsan@gzdev.com]]></Email>
<Status>1</Status>
<Avatar><![CDATA[http://wx.qlogo.cn/mmopen/ajNVdqHZLLA3WJ6DSZUfiakYe37PKnQhBIeOQBO4czqrnZDS79FH5Wm5m4X69TBicnHFlhiafvDwklOpZeXYQQ2icg/0]]></Avatar>
<Alias><![CDATA[zhangsan]]></Alias>
<Telephone><![CDATA[020-123456]]></Telephone>
<Address><![CDATA[广州市]]></Address>
<ExtAttr>
<Item>
<Name><![CDATA[爱好]]></Name>
<Type>0</Type>
<Text>
<Value><![CDATA[旅游]]></Value>
</Text>
</Item>
<Item>
<Name><![CDATA[卡号]]></Name>
<Type>1</Type>
<Web>
<Title><![CDATA[企业微信]]></Title>
<Url><![CDATA[https://work.weixin.qq.com]]></Url>
</Web>
</Item>
</ExtAttr>
</xml>`;

/** The msgaudit_notify event: new archive data is ready to pull. */
export const SAMPLE_MSGAUDIT_NOTIFY = `<xml><ToUserName><![CDATA[ww55ca070cb9b7eb22]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[msgaudit_notify]]></Event><AgentID>2000003</AgentID></xml>`;

/** change_external_contact add_external_contact with the values of WeCom's documented example. */
export const SAMPLE_ADD_EXTERNAL_CONTACT = `<xml>
<ToUserName><![CDATA[toUser]]></ToUserName>
<FromUserName><![CDATA[sys]]></FromUserName>
<CreateTime>1403610513</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[change_external_contact]]></Event>
<ChangeType><![CDATA[add_external_contact]]></ChangeType>
<UserID><![CDATA[zhangsan]]></UserID>
<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mAAAA]]></ExternalUserID>
<State><![CDATA[teststate]]></State>
<WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode>
</xml>`;

/** change_external_contact msg_audit_approved: the customer agreed to chat archiving. */
export const SAMPLE_MSG_AUDIT_APPROVED = `<xml>
<ToUserName><![CDATA[toUser]]></ToUserName>
<FromUserName><![CDATA[sys]]></FromUserName>
<CreateTime>1403610513</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[change_external_contact]]></Event>
<ChangeType><![CDATA[msg_audit_approved]]></ChangeType>
<UserID><![CDATA[zhangsan]]></UserID>
<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mAAAA]]></ExternalUserID>
<WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode>
</xml>`;

/**
 * Builds a decrypted event with the common header and the given body elements (each value is put
 * in CDATA unless it is a number). A factory, so tests state only the fields they are about.
 */
export function makeEventXml(
  event: string,
  changeType: string | null,
  body: Record<string, string | number> = {},
  header: { toUserName?: string; createTime?: number } = {},
): string {
  const el = (name: string, v: string | number): string => (typeof v === 'number' ? `<${name}>${v}</${name}>` : `<${name}><![CDATA[${v}]]></${name}>`);
  return (
    '<xml>' +
    el('ToUserName', header.toUserName ?? 'ww55ca070cb9b7eb22') +
    el('FromUserName', 'sys') +
    el('CreateTime', header.createTime ?? 1403610513) +
    el('MsgType', 'event') +
    el('Event', event) +
    (changeType === null ? '' : el('ChangeType', changeType)) +
    Object.entries(body)
      .map(([k, v]) => el(k, v))
      .join('') +
    '</xml>'
  );
}
