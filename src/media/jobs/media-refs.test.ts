import { describe, expect, it } from 'vitest';
import { MAX_REFS_PER_MESSAGE, mediaRefsOf } from './media-refs.ts';

const MD5 = '50de8e5ae8ffe4f1df7a93841f71993a';
const msg = (msgtype: string, body: object) => JSON.stringify({ msgid: 'm1', action: 'send', from: 'a', tolist: ['b'], roomid: '', msgtime: 1, msgtype, ...body });

describe('mediaRefsOf', () => {
  it('finds the sdkfileid of every direct media type, with md5, size and name', () => {
    const cases: Array<[string, object, object]> = [
      ['image', { image: { md5sum: MD5, filesize: 70961, sdkfileid: 'IMG' } }, { kind: 'image', size: 70961 }],
      ['voice', { voice: { md5sum: MD5, voice_size: 4355, play_length: 10, sdkfileid: 'VOI' } }, { kind: 'voice', size: 4355 }],
      ['video', { video: { md5sum: MD5, filesize: 6_500_000, play_length: 9, sdkfileid: 'VID' } }, { kind: 'video', size: 6_500_000 }],
      ['file', { file: { md5sum: MD5, filename: '资料.docx', fileext: 'docx', filesize: 18181, sdkfileid: 'FIL' } }, { kind: 'file', fileName: '资料.docx' }],
      ['emotion', { emotion: { type: 1, width: 290, height: 290, imagesize: 962, md5sum: MD5, sdkfileid: 'EMO' } }, { kind: 'emotion', size: 962 }],
      [
        'meeting_voice_call',
        { voiceid: 'v', meeting_voice_call: { endtime: 1, sdkfileid: 'MVC', demofiledata: [{ filename: 'x.docx' }] } },
        { kind: 'meeting_voice_call', md5: null, md5Note: 'empty' },
      ],
      ['voip_doc_share', { voipid: 'v', voip_doc_share: { filename: '盘.pdf', md5sum: MD5, filesize: 4400654, sdkfileid: 'VDS' } }, { kind: 'voip_doc_share', fileName: '盘.pdf' }],
    ];
    for (const [type, body, expected] of cases) {
      const refs = mediaRefsOf(msg(type, body));
      expect(refs, type).toHaveLength(1);
      expect(refs[0], type).toMatchObject({ slot: 0, path: type, invalid: null, ...expected });
    }
    expect(mediaRefsOf(msg('text', { text: { content: 'sdkfileid' } }))).toEqual([]);
    expect(mediaRefsOf('not json')).toEqual([]);
  });

  it('walks mixed items and chatrecord items, nested mixed included, in document order', () => {
    const mixed = msg('mixed', {
      mixed: {
        item: [
          { type: 'text', content: JSON.stringify({ content: 'hi' }) },
          { type: 'image', content: JSON.stringify({ md5sum: MD5, filesize: 1, sdkfileid: 'M1' }) },
          { type: 'emotion', content: JSON.stringify({ type: 2, md5sum: '', imagesize: 5, sdkfileid: 'M2' }) },
        ],
      },
    });
    expect(mediaRefsOf(mixed).map((r) => [r.slot, r.kind, r.path, r.sdkfileid, r.md5Note])).toEqual([
      [0, 'image', 'mixed.item[1]', 'M1', null],
      [1, 'emotion', 'mixed.item[2]', 'M2', 'empty'],
    ]);
    const record = msg('chatrecord', {
      chatrecord: {
        title: '群聊',
        item: [
          { type: 'ChatRecordText', msgtime: 1, content: JSON.stringify({ content: 'x' }) },
          { type: 'ChatRecordFile', msgtime: 1, content: JSON.stringify({ filename: '../../etc/passwd', filesize: 3, md5sum: MD5.toUpperCase(), sdkfileid: 'C1' }) },
          { type: 'ChatRecordMixed', msgtime: 1, content: JSON.stringify({ item: [{ type: 'image', content: JSON.stringify({ sdkfileid: 'C2', md5sum: 'xyz' }) }] }) },
          { type: 'ChatRecordVideo', msgtime: 1, content: JSON.stringify({ sdkfileid: 'C3', filesize: 9 }) },
        ],
      },
    });
    const refs = mediaRefsOf(record);
    expect(refs.map((r) => [r.slot, r.kind, r.path, r.sdkfileid])).toEqual([
      [0, 'file', 'chatrecord.item[1]', 'C1'],
      [1, 'image', 'chatrecord.item[2].item[0]', 'C2'],
      [2, 'video', 'chatrecord.item[3]', 'C3'],
    ]);
    // md5 normalized to lowercase; a malformed one counts as none; the name is only text
    expect(refs[0]).toMatchObject({ md5: MD5, fileName: '../../etc/passwd' });
    expect(refs[1]).toMatchObject({ md5: null, md5Note: 'malformed' });
  });

  it('keeps an unusable sdkfileid out (as a failed reference) and bounds hostile messages', () => {
    const bad = mediaRefsOf(msg('image', { image: { sdkfileid: 'A\u0000B', md5sum: MD5 } }));
    expect(bad[0]).toMatchObject({ sdkfileid: '', invalid: expect.stringContaining('printable ASCII') });
    expect(mediaRefsOf(msg('image', { image: { sdkfileid: 'x'.repeat(9000) } }))[0]!.invalid).toMatch(/9000 characters/);
    const many = Array.from({ length: MAX_REFS_PER_MESSAGE + 5 }, (_, i) => ({ type: 'image', content: JSON.stringify({ sdkfileid: `id${i}` }) }));
    const refs = mediaRefsOf(msg('mixed', { mixed: { item: many } }));
    expect(refs).toHaveLength(MAX_REFS_PER_MESSAGE + 1);
    expect(refs.at(-1)!.invalid).toMatch(/205 media; only the first 200/);
    // control characters inside strings (WeCom sends them) do not lose the reference
    expect(mediaRefsOf(`{"msgtype":"file","file":{"filename":"a\u0001b","sdkfileid":"F"}}`)[0]).toMatchObject({ sdkfileid: 'F', fileName: 'a\u0001b' });
  });
});

describe('file names', () => {
  it('are kept as text a database can hold (NUL replaced), never trusted as paths', () => {
    const [ref] = mediaRefsOf(JSON.stringify({ msgtype: 'file', file: { filename: '/tmp/x\u0000.exe', sdkfileid: 'F' } }));
    expect(ref!.fileName).toBe('/tmp/x\ufffd.exe');
  });
});
