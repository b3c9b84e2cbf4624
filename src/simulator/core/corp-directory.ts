/**
 * The simulated corp: its members, external contacts, robots and groups, derived from the seed.
 * Small (tens of people), so it is built once and held; messages only pick from it.
 * Id shapes follow the docs: userids like `zhangsan`, external contacts `wm…`/`wo…`, robots `wb…`,
 * group chats `wr…`.
 */
import { Rng, type SeedMaterial } from './prng.ts';

export interface Person {
  readonly id: string;
  readonly name: string;
  readonly kind: 'member' | 'external' | 'robot';
  /** language the person's WeCom client uses; decides the quote/reply prefix */
  readonly lang: 'zh' | 'en';
}

export interface Group {
  readonly roomid: string;
  readonly name: string;
  readonly members: readonly Person[];
  readonly hasExternal: boolean;
  readonly robot: Person | undefined;
}

export interface CorpDirectory {
  readonly corpid: string;
  readonly corpName: string;
  readonly secret: string;
  readonly members: readonly Person[];
  readonly externals: readonly Person[];
  readonly robots: readonly Person[];
  readonly groups: readonly Group[];
}

const MEMBER_NAMES: ReadonlyArray<readonly [string, string]> = [
  ['zhangsan', '张三'],
  ['lisi', '李四'],
  ['wangwu', '王五'],
  ['zhaoliu', '赵六'],
  ['sunqi', '孙七'],
  ['zhouba', '周八'],
  ['wujiu', '吴九'],
  ['zhengshi', '郑十'],
  ['chenjing', '陈静'],
  ['liuyang', '刘洋'],
  ['huangwei', '黄伟'],
  ['yangfan', '杨帆'],
  ['xuli', '徐丽'],
  ['heqiang', '何强'],
  ['gaomin', '高敏'],
  ['linna', '林娜'],
  ['luoyi', '罗毅'],
  ['songjia', '宋佳'],
  ['tanghao', '唐浩'],
  ['hanmei', '韩梅'],
  ['fengxue', '冯雪'],
  ['dengchao', '邓超'],
  ['caojun', '曹军'],
  ['pengli', '彭丽'],
  ['XuJinSheng', '徐金生'],
  ['icefog', '冰雾'],
  ['kenshin', '剑心'],
  ['DuDuDu', '嘟嘟'],
  ['18002520162', '前台'],
  ['ou.yang', '欧阳娜娜'],
];
const ENGLISH_MEMBERS: ReadonlyArray<readonly [string, string]> = [
  ['alice.chen', 'Alice Chen'],
  ['bob', 'Bob Li'],
  ['carol.w', 'Carol Wang'],
  ['david', 'David Zhou'],
];
const EXTERNAL_NAMES = [
  '王先生',
  '李女士',
  '刘总',
  '陈经理',
  '客户-赵工',
  'Mia (ACME Corp)',
  'John Smith',
  '周老师',
  '物业-小吴',
  '供应商-黄',
  '孙律师',
  '快递小哥',
  '林同学',
  '张阿姨',
  'Sarah',
  '郑会计',
  '吴主任',
  '何医生',
  '马师傅',
  '秦总助理',
];
const CORP_NAMES = ['北京星河科技有限公司', '上海云帆信息技术有限公司', '深圳前海数智有限公司', '杭州青禾网络科技有限公司'];
const GROUP_NAMES = [
  '研发一部',
  '产品讨论群',
  '客户服务群',
  '销售周会',
  '华东区项目组',
  '午饭搭子',
  '运维告警',
  'ACME 项目对接群',
  '新员工培训',
  '年会筹备组',
  '售后支持群',
  'Design Review',
  '财务报销',
  '市场活动群',
];
const ROBOT_NAMES = ['告警机器人', '日报助手', 'CI Bot'];

/** base64url-ish tail characters WeCom uses in external ids */
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

export function buildCorpDirectory(seed: SeedMaterial, overrides: { corpid?: string; secret?: string } = {}): CorpDirectory {
  const rng = new Rng(seed.seed32, 0x636f7270, 0x44495231, seed.key.readUInt32BE(12));
  const corpid = overrides.corpid ?? `ww${rng.chars('0123456789abcdef', 16)}`;
  const secret = overrides.secret ?? rng.chars(SECRET_ALPHABET, 43);
  const corpName = rng.pick(CORP_NAMES);

  const members: Person[] = [
    ...rng.sample(MEMBER_NAMES, 22).map(([id, name]): Person => ({ id, name, kind: 'member', lang: 'zh' })),
    ...ENGLISH_MEMBERS.map(([id, name]): Person => ({ id, name, kind: 'member', lang: 'en' })),
  ];
  const externals: Person[] = EXTERNAL_NAMES.map((name, i): Person => ({
    id: `${i % 3 === 0 ? 'wo' : 'wm'}${rng.chars(ID_ALPHABET, 30)}`,
    name,
    kind: 'external',
    lang: /^[A-Za-z]/.test(name) ? 'en' : 'zh',
  }));
  const robots: Person[] = ROBOT_NAMES.map((name): Person => ({ id: `wb${rng.chars(ID_ALPHABET, 30)}`, name, kind: 'robot', lang: 'zh' }));

  const groups: Group[] = GROUP_NAMES.map((name, i): Group => {
    const inner = rng.sample(members, rng.range(3, 14));
    const outer = i % 3 === 2 ? rng.sample(externals, rng.range(1, 4)) : [];
    const robot = i % 4 === 1 ? rng.pick(robots) : undefined;
    return {
      roomid: `wr${rng.chars(ID_ALPHABET, 30)}`,
      name,
      members: [...inner, ...outer],
      hasExternal: outer.length > 0,
      robot,
    };
  });
  return { corpid, corpName, secret, members, externals, robots, groups };
}
