/**
 * The simulated corp's directory as WeCom's HTTP APIs describe it: departments, members with their
 * departments and positions, tags, external contacts with the members who follow them, internal and
 * customer groups, robots, archive consent and the permit list. Built from the same CorpDirectory
 * the message generator uses (so every id in a message is describable), plus what messages do not
 * need. Mutable: the control API renames, adds and deletes, and each change can be announced by a
 * callback (api-state.ts). One customer group is "undescribable": neither group API knows it, as
 * with some groups started from WeChat.
 */
import type { CorpDirectory } from '../core/corp-directory.ts';
import { Rng, type SeedMaterial } from '../core/prng.ts';

export interface SimDepartment {
  id: number;
  name: string;
  nameEn: string;
  parentId: number;
  order: number;
}

export interface SimMember {
  userid: string;
  name: string;
  alias: string;
  position: string;
  department: number[];
  mainDepartment: number;
  status: number;
  gender: number;
}

export interface SimFollow {
  userid: string;
  remark: string;
  /** seconds */
  createtime: number;
}

export interface SimExternal {
  externalUserId: string;
  name: string;
  type: 1 | 2;
  corpName: string;
  corpFullName: string;
  position: string;
  follow: SimFollow[];
}

export interface SimGroupMember {
  id: string;
  type: 1 | 2;
  /** seconds */
  joinTime: number;
  name: string;
}

export interface SimGroup {
  roomid: string;
  /** internal: msgaudit/groupchat/get; customer: externalcontact/groupchat/*; undescribable: neither */
  kind: 'internal' | 'customer' | 'undescribable';
  name: string;
  owner: string;
  notice: string;
  /** seconds */
  createTime: number;
  members: SimGroupMember[];
}

export interface SimRobot {
  robotId: string;
  name: string;
  creatorUserid: string;
}

export interface SimTag {
  tagId: number;
  name: string;
  users: Set<string>;
  parties: Set<number>;
}

export interface SimConsent {
  status: 'Agree' | 'Disagree' | 'Default_Agree';
  /** seconds */
  changeTime: number;
}

export interface SimDirectoryData {
  departments: Map<number, SimDepartment>;
  members: Map<string, SimMember>;
  tags: Map<number, SimTag>;
  externals: Map<string, SimExternal>;
  groups: Map<string, SimGroup>;
  robots: Map<string, SimRobot>;
  /** `userid|externalid` → consent */
  consent: Map<string, SimConsent>;
  permitUsers: Set<string>;
}

const DEPARTMENTS: ReadonlyArray<readonly [string, string]> = [
  ['研发部', 'R&D'],
  ['产品部', 'Product'],
  ['销售部', 'Sales'],
  ['客户服务部', 'Customer Service'],
  ['行政部', 'Administration'],
  ['财务部', 'Finance'],
];
const POSITIONS = ['工程师', '高级工程师', '产品经理', '销售经理', '客服专员', '行政主管', '会计', '总监', 'Engineer', 'Designer'];
const TAGS = ['管理层', '新员工', '值班', '华东区'];
const CORP_NAMES = ['', 'ACME Corp', '腾讯科技', '个人', '星河物业'];
const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '赵', '黄', '周', '吴', '徐', '孙', '胡', '朱', '高', '林', '何', '郭', '马', '罗'];
const GIVEN = ['伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋', '勇', '艳', '杰', '娟', '涛', '明', '超', '秀英', '霞', '平', '刚', '桂英', '文', '辉'];

/** Seconds at a fixed base, so the directory is the same whatever the clock says. */
const BASE_S = 1_700_000_000;

export function buildDirectoryData(dir: CorpDirectory, seed: SeedMaterial): SimDirectoryData {
  const rng = new Rng(seed.seed32, 0x64697264, 0x41504931, seed.key.readUInt32BE(20));
  const departments = new Map<number, SimDepartment>();
  departments.set(1, { id: 1, name: dir.corpName, nameEn: 'Head office', parentId: 0, order: 100000000 });
  DEPARTMENTS.forEach(([name, nameEn], i) => departments.set(i + 2, { id: i + 2, name, nameEn, parentId: 1, order: 100000000 - (i + 1) * 1000 }));
  const deptIds = [...departments.keys()].filter((id) => id !== 1);

  const members = new Map<string, SimMember>();
  for (const [i, p] of dir.members.entries()) {
    const main = deptIds[i % deptIds.length]!;
    const department = i % 7 === 3 ? [main, deptIds[(i + 2) % deptIds.length]!] : [main];
    members.set(p.id, {
      userid: p.id,
      name: p.name,
      alias: p.lang === 'en' ? p.name.split(' ')[0]! : '',
      position: rng.pick(POSITIONS),
      department,
      mainDepartment: main,
      status: 1,
      gender: 1 + rng.int(2),
    });
  }
  const memberIds = [...members.keys()];

  const tags = new Map<number, SimTag>();
  TAGS.forEach((name, i) => tags.set(i + 1, { tagId: i + 1, name, users: new Set(rng.sample(memberIds, 3 + rng.int(4))), parties: new Set(i === 0 ? [2] : []) }));

  const externals = new Map<string, SimExternal>();
  for (const [i, p] of dir.externals.entries()) {
    const followers = rng.sample(memberIds, 1 + (i % 3 === 0 ? 1 : 0));
    const corpName = rng.pick(CORP_NAMES);
    externals.set(p.id, {
      externalUserId: p.id,
      name: p.name,
      type: corpName && corpName !== '个人' ? 2 : 1,
      corpName,
      corpFullName: corpName ? `${corpName}有限公司` : '',
      position: corpName ? rng.pick(POSITIONS) : '',
      follow: followers.map((userid, j) => ({ userid, remark: j === 0 ? p.name : '', createtime: BASE_S - (i + 1) * 86_400 })),
    });
  }

  const robots = new Map<string, SimRobot>();
  for (const r of dir.robots) robots.set(r.id, { robotId: r.id, name: r.name, creatorUserid: memberIds[0]! });

  const groups = new Map<string, SimGroup>();
  const customerGroups = dir.groups.filter((g) => g.hasExternal);
  const undescribable = customerGroups[customerGroups.length - 1];
  for (const [i, g] of dir.groups.entries()) {
    const inner = g.members.filter((p) => p.kind === 'member');
    const owner = inner[0]?.id ?? memberIds[0]!;
    groups.set(g.roomid, {
      roomid: g.roomid,
      kind: g === undescribable ? 'undescribable' : g.hasExternal ? 'customer' : 'internal',
      name: g.name,
      owner,
      notice: i % 2 === 0 ? `${g.name}：请大家遵守群规` : '',
      createTime: BASE_S - (i + 10) * 86_400,
      members: g.members.map((p, j) => ({ id: p.id, type: p.kind === 'external' ? (2 as const) : (1 as const), joinTime: BASE_S - (i + 10) * 86_400 + j * 60, name: p.name })),
    });
  }

  // Most customers agreed to archiving; a few refused, some never answered (Default_Agree).
  const consent = new Map<string, SimConsent>();
  for (const [i, e] of [...externals.values()].entries()) {
    for (const f of e.follow)
      consent.set(`${f.userid}|${e.externalUserId}`, { status: i % 5 === 4 ? 'Disagree' : i % 5 === 3 ? 'Default_Agree' : 'Agree', changeTime: f.createtime + 3600 });
  }
  // Archiving is licensed for most members, not all.
  const permitUsers = new Set(memberIds.filter((_, i) => i % 9 !== 8));
  return { departments, members, tags, externals, groups, robots, consent, permitUsers };
}

/**
 * Adds `count` generated members spread over `departmentCount` new departments (for the
 * 10,000-member directory benchmark). Userids `bulk000001…`.
 */
export function addBulkMembers(data: SimDirectoryData, count: number, departmentCount = Math.max(1, Math.ceil(count / 100))): void {
  const firstDept = Math.max(...data.departments.keys()) + 1;
  for (let d = 0; d < departmentCount; d++) {
    const id = firstDept + d;
    data.departments.set(id, { id, name: `业务组 ${d + 1}`, nameEn: `Team ${d + 1}`, parentId: 1, order: 1000 - d });
  }
  const start = data.members.size;
  for (let i = 0; i < count; i++) {
    const n = start + i;
    const userid = `bulk${String(n).padStart(6, '0')}`;
    const dept = firstDept + (i % departmentCount);
    const name = `${SURNAMES[n % SURNAMES.length]}${GIVEN[Math.floor(n / SURNAMES.length) % GIVEN.length]}${n >= SURNAMES.length * GIVEN.length ? Math.floor(n / (SURNAMES.length * GIVEN.length)) : ''}`;
    data.members.set(userid, { userid, name, alias: '', position: POSITIONS[n % POSITIONS.length]!, department: [dept], mainDepartment: dept, status: 1, gender: 1 + (n % 2) });
  }
}
