import { describe, expect, it } from 'vitest';
import { KEY_LIMITS, keyQuery, nameKeys } from './name-keys.ts';

const variants = (keys: string | null) => (keys === null ? [] : keys.split(' '));

describe('nameKeys', () => {
  it('gives a Chinese name its full pinyin without tones or spaces, and its initials', () => {
    expect(nameKeys('张三')).toEqual({ pinyin: 'zhangsan', initials: 'zs' });
    expect(nameKeys('吕布')).toEqual({ pinyin: 'lvbu', initials: 'lb' });
  });

  it('gives a Latin name itself, lowercased without spaces or punctuation, and the first letter of each word', () => {
    expect(nameKeys('John Smith')).toEqual({ pinyin: 'johnsmith', initials: 'js' });
    expect(nameKeys("O'Brien, Pat")).toEqual({ pinyin: 'obrienpat', initials: 'obp' });
    // full-width letters are letters (NFKC)
    expect(nameKeys('ＡＢＣ')).toEqual({ pinyin: 'abc', initials: 'a' });
  });

  it('reads a mixed name piece by piece, leaving out what is neither Han nor a letter or digit', () => {
    expect(nameKeys('Alice王')).toEqual({ pinyin: 'alicewang', initials: 'aw' });
    expect(nameKeys('张三(销售)')).toEqual({ pinyin: 'zhangsanxiaoshou', initials: 'zsxs' });
    expect(nameKeys('R2-D2 小王')).toEqual({ pinyin: 'r2d2xiaowang', initials: 'rdxw' });
    expect(nameKeys('😀张')).toEqual({ pinyin: 'zhang', initials: 'z' });
  });

  it('gives no keys to a name without Han characters, letters or digits', () => {
    for (const name of [null, undefined, '', '   ', '김철수', '🙂🙂']) expect(nameKeys(name)).toEqual({ pinyin: null, initials: null });
  });

  it('indexes every reading of a polyphonic character, the surname reading first', () => {
    // 曾 as a surname is zeng; ceng is its other reading
    expect(variants(nameKeys('曾小明').pinyin)).toEqual(['zengxiaoming', 'cengxiaoming']);
    expect(variants(nameKeys('曾小明').initials)).toEqual(['zxm', 'cxm']);
    // 单 as a surname is shan; dan and chan are kept too
    expect(variants(nameKeys('单田芳').pinyin)[0]).toBe('shantianfang');
    expect(variants(nameKeys('单田芳').pinyin)).toEqual(expect.arrayContaining(['dantianfang', 'chantianfang']));
    // where the surname mode reads wrong (长孙 is chang), the plain reading is there as well
    expect(variants(nameKeys('长孙无忌').pinyin)).toEqual(expect.arrayContaining(['zhangsunwuji', 'changsunwuji']));
    // a given name read either way by its owner
    expect(variants(nameKeys('朝阳').pinyin)).toEqual(expect.arrayContaining(['chaoyang', 'zhaoyang']));
  });

  it('keeps the readings within the column: at most KEY_LIMITS.variants, and KEY_LIMITS.chars characters', () => {
    const many = nameKeys('和长行');
    expect(variants(many.pinyin).length).toBe(KEY_LIMITS.variants);
    expect(variants(many.pinyin)[0]).toBe('hechangxing');
    const long = nameKeys('张'.repeat(500));
    expect(long.pinyin!.length).toBeLessThanOrEqual(KEY_LIMITS.chars);
    expect(long.pinyin).toMatch(/^(zhang)+/);
    expect(long.initials!.length).toBeLessThanOrEqual(KEY_LIMITS.chars);
  });
});

describe('keyQuery', () => {
  it('turns what a user types into key form', () => {
    expect(keyQuery('Zhang San')).toBe('zhangsan');
    expect(keyQuery('ＺＳ')).toBe('zs');
    expect(keyQuery('lü')).toBe('lv');
    expect(keyQuery('张三')).toBe('');
    expect(keyQuery("%_'")).toBe('');
  });
});
