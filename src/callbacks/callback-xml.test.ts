import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/errors.ts';
import { parseCallbackXml } from './callback-xml.ts';
import { SAMPLE_CHANGE_CONTACT_UPDATE_USER, SAMPLE_CHANGE_EXTERNAL_CHAT_UPDATE, SAMPLE_POST_BODY_A, SAMPLE_TEXT_MESSAGE_A } from '../../test/support/callback-event-samples.ts';

function refusal(text: string, opts?: { maxBytes?: number }): { code: string; status: number; message: string } {
  try {
    parseCallbackXml(text, opts);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    const e = error as ValidationError;
    return { code: e.code, status: e.httpStatus, message: e.message };
  }
  throw new Error('expected the XML to be refused');
}

describe('parseCallbackXml: WeCom samples', () => {
  it('parses the official POST body of set A', () => {
    const xml = parseCallbackXml(SAMPLE_POST_BODY_A);
    expect({ ...xml }).toEqual({
      ToUserName: 'wx5823bf96d3bd56c7',
      Encrypt: expect.stringMatching(/^RypEvHKD8QQK.*\+qN\+E7Q==$/),
      AgentID: '218',
    });
    expect((xml.Encrypt as string).length).toBe(472);
  });

  it("parses set A's decrypted text message, keeping CDATA and plain text", () => {
    const xml = parseCallbackXml(SAMPLE_TEXT_MESSAGE_A);
    expect({ ...xml }).toEqual({
      ToUserName: 'wx5823bf96d3bd56c7',
      FromUserName: 'mycreate',
      CreateTime: '1409659813',
      MsgType: 'text',
      Content: 'hello',
      MsgId: '4561255354251345929',
      AgentID: '218',
    });
  });

  it('parses the official change_external_chat sample, with the member list as an array', () => {
    const xml = parseCallbackXml(SAMPLE_CHANGE_EXTERNAL_CHAT_UPDATE);
    expect(xml.Event).toBe('change_external_chat');
    expect(xml.ChatId).toBe('wrx7HUARsKwGRaQBVKPBTcEyzdHA4HrQ');
    expect(xml.ChangeType).toBe('update');
    expect(xml.UpdateDetail).toBe('add_member');
    expect(xml.JoinScene).toBe('1');
    expect(xml.QuitScene).toBe('0');
    expect(xml.MemChangeCnt).toBe('10');
    expect({ ...(xml.MemChangeList as object) }).toEqual({ Item: ['Jack', 'Rose'] });
    expect(xml.CurMemVer).toBe('71217227bbd112ecfe3a49c482195cb4');
  });

  it('parses change_contact update_user with nested ExtAttr items', () => {
    const xml = parseCallbackXml(SAMPLE_CHANGE_CONTACT_UPDATE_USER);
    expect(xml.ChangeType).toBe('update_user');
    expect(xml.NewUserID).toBe('zhangsan001');
    expect(xml.Name).toBe('张三');
    expect(xml.Department).toBe('1,2,3');
    expect(JSON.parse(JSON.stringify(xml.ExtAttr))).toEqual({
      Item: [
        { Name: '爱好', Type: '0', Text: { Value: '旅游' } },
        { Name: '卡号', Type: '1', Web: { Title: '企业微信', Url: 'https://work.weixin.qq.com' } },
      ],
    });
  });

  it('a single repeated-kind child stays a string; a name seen twice becomes an array in order', () => {
    const one = parseCallbackXml('<xml><L><Item>a</Item></L></xml>');
    expect({ ...(one.L as object) }).toEqual({ Item: 'a' });
    const three = parseCallbackXml('<xml><L><Item>a</Item><Item/><Item>c</Item></L></xml>');
    expect({ ...(three.L as object) }).toEqual({ Item: ['a', '', 'c'] });
  });
});

describe('parseCallbackXml: text', () => {
  it('decodes the five entities and character references, and concatenates CDATA pieces', () => {
    const xml = parseCallbackXml(
      '<?xml version="1.0" encoding="UTF-8"?>\n<xml><A>&lt;b&gt; &amp; &quot;q&quot; &apos;s&apos;</A><B>&#20225;&#x4E1A;&#x1F600;</B>' +
        '<C><![CDATA[x]]]]><![CDATA[>y]]></C><D><![CDATA[&lt;raw]]></D><E></E><F/><G>  spaced  </G></xml>',
    );
    expect({ ...xml }).toEqual({
      A: '<b> & "q" \'s\'',
      B: '企业😀',
      C: 'x]]>y',
      D: '&lt;raw',
      E: '',
      F: '',
      G: '  spaced  ',
    });
  });

  it('accepts a BOM, comments, whitespace around the root and attributes (dropped)', () => {
    const xml = parseCallbackXml('\uFEFF<?xml version="1.0"?><!-- c --><xml a="1"><A b=\'2\'>v</A><!-- d --></xml>\n');
    expect({ ...xml }).toEqual({ A: 'v' });
  });

  it('element names cannot reach Object.prototype', () => {
    const xml = parseCallbackXml('<xml><__proto__><polluted>1</polluted></__proto__><constructor>c</constructor></xml>');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.hasOwn(xml, '__proto__')).toBe(true);
    expect(xml.constructor).toBe('c');
    expect(() => parseCallbackXml('<xml><A>&constructor;</A></xml>')).toThrow(/undefined entity/);
  });
});

describe('parseCallbackXml: hostile input is refused', () => {
  it('XXE with a SYSTEM entity → CALLBACK_XML_FORBIDDEN (400)', () => {
    const r = refusal('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><A>&xxe;</A></xml>');
    expect(r.code).toBe('CALLBACK_XML_FORBIDDEN');
    expect(r.status).toBe(400);
  });

  it('billion laughs → CALLBACK_XML_FORBIDDEN', () => {
    const entities = Array.from({ length: 9 }, (_, n) => `<!ENTITY lol${n + 1} "${`&lol${n};`.repeat(10)}">`).join('');
    const r = refusal(`<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">${entities}]><xml><A>&lol9;</A></xml>`);
    expect(r.code).toBe('CALLBACK_XML_FORBIDDEN');
  });

  it.each([
    ['a DOCTYPE alone', '<!DOCTYPE xml><xml><A>1</A></xml>'],
    ['a DOCTYPE after the root opens', '<xml><!DOCTYPE x><A>1</A></xml>'],
    ['an ENTITY declaration', '<xml><!ENTITY a "b"><A>1</A></xml>'],
    ['an unknown entity without a DTD', '<xml><A>&xxe;</A></xml>'],
    ['an unknown entity in an attribute', '<xml><A b="&xxe;">1</A></xml>'],
    ['a processing instruction inside', '<xml><?php echo 1; ?><A>1</A></xml>'],
    ['an xml-stylesheet processing instruction', '<?xml-stylesheet href="x"?><xml><A>1</A></xml>'],
    ['a second XML declaration', '<?xml version="1.0"?><?xml version="1.0"?><xml/>'],
  ])('%s → CALLBACK_XML_FORBIDDEN', (_label, text) => {
    expect(refusal(text).code).toBe('CALLBACK_XML_FORBIDDEN');
  });

  it('characters XML forbids are refused even in CDATA; tab, CR, LF and astral characters are kept', () => {
    for (const [c, name] of [
      ['\u0000', 'U+0000'],
      ['\u0008', 'U+0008'],
      ['\u000b', 'U+000B'],
      ['\u001f', 'U+001F'],
      ['\ufffe', 'U+FFFE'],
      ['\ud800', 'U+D800'],
    ] as const) {
      expect(refusal(`<xml><Name><![CDATA[a${c}b]]></Name></xml>`), name).toEqual({
        code: 'CALLBACK_XML_INVALID',
        status: 400,
        message: `callback XML is malformed: a character XML does not allow (${name}) at offset 21`,
      });
      expect(refusal(`<xml><Name>a${c}b</Name></xml>`).code, name).toBe('CALLBACK_XML_INVALID');
    }
    expect(parseCallbackXml('<xml><Name><![CDATA[a\tb\r\nc 😀]]></Name></xml>').Name).toBe('a\tb\r\nc 😀');
  });

  it('a body over 64 KiB is refused before parsing; maxBytes counts UTF-8 bytes', () => {
    const huge = `<xml><A><![CDATA[${'x'.repeat(64 * 1024)}]]></A></xml>`;
    expect(refusal(huge).code).toBe('CALLBACK_XML_INVALID');
    expect(refusal(huge).message).toMatch(/larger than 65536 bytes/);
    const chinese = `<xml><A>${'企'.repeat(30)}</A></xml>`; // 90 UTF-8 bytes of text
    expect(refusal(chinese, { maxBytes: 100 }).code).toBe('CALLBACK_XML_INVALID');
    expect(parseCallbackXml(chinese, { maxBytes: 200 }).A).toBe('企'.repeat(30));
  });

  it('nesting deeper than 8 is refused; 8 is accepted', () => {
    const nest = (depth: number): string => `${'<xml>'}${'<a>'.repeat(depth - 1)}v${'</a>'.repeat(depth - 1)}</xml>`;
    expect(() => parseCallbackXml(nest(8))).not.toThrow();
    expect(refusal(nest(9)).code).toBe('CALLBACK_XML_INVALID');
    expect(refusal(`<xml>${'<a>'.repeat(20000)}`).message).toMatch(/deeper than 8/);
  });

  it('more than 1,000 elements are refused; 1,000 are accepted', () => {
    expect(() => parseCallbackXml(`<xml>${'<a/>'.repeat(999)}</xml>`)).not.toThrow();
    expect(refusal(`<xml>${'<a/>'.repeat(1000)}</xml>`).message).toMatch(/more than 1000 elements/);
  });

  it.each([
    ['an unclosed tag', '<xml><A>1</xml>'],
    ['an unclosed root', '<xml><A>1</A>'],
    ['a stray closing tag', '<xml></A></xml>'],
    ['crossed tags', '<xml><A><B></A></B></xml>'],
    ['an unterminated CDATA', '<xml><A><![CDATA[x</A></xml>'],
    ['an unterminated comment', '<xml><!-- x</xml>'],
    ['a bare ampersand', '<xml><A>a & b</A></xml>'],
    ['a character reference to NUL', '<xml><A>&#0;</A></xml>'],
    ['a character reference to a surrogate', '<xml><A>&#xD800;</A></xml>'],
    ['a bad tag name', '<xml><1A>1</1A></xml>'],
    ['an unquoted attribute', '<xml a=1><A>1</A></xml>'],
    ['text mixed with elements', '<xml><A>t<B>1</B></A></xml>'],
    ['text in the root', '<xml>hello</xml>'],
    ['text after the root', '<xml><A>1</A></xml>tail'],
    ['two roots', '<xml><A>1</A></xml><xml/>'],
    ['a root other than xml', '<root><A>1</A></root>'],
    ['JSON', '{"encrypt":"x"}'],
    ['an empty body', ''],
  ])('%s → CALLBACK_XML_INVALID', (_label, text) => {
    const r = refusal(text);
    expect(r.code).toBe('CALLBACK_XML_INVALID');
    expect(r.status).toBe(400);
  });

  it('error messages do not echo content', () => {
    expect(refusal('<xml><A>secret-value & more</A></xml>').message).not.toContain('secret-value');
  });
});
