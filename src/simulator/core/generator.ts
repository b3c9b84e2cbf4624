/**
 * Message i as a pure function of (seed, i) and the time it reached the server. Nothing is kept
 * per message, so a million messages cost no memory; asking twice gives the same bytes.
 *
 * Two independent random streams per message: the plan (type, conversation, msgid shape) and the
 * body. A revoke can then look up the plan of an earlier message cheaply, without building its body.
 */
import type { MediaKind, MediaPool } from '../sdk/media-pool.ts';
import type { CorpDirectory, Group, Person } from './corp-directory.ts';
import { writeJson, type JsonValue } from './json-writer.ts';
import { BODY_BUILDERS, meetingNotificationInfo, type BodyContext, type MediaFields } from './message-bodies.ts';
import {
  isRevocable,
  messageTypes,
  SHOWCASE_EVERY,
  SHOWCASE_OFFSET,
  TYPE_RULES,
  TYPE_WEIGHT_TOTAL,
  TYPE_WEIGHTS,
  type ConversationNeed,
  type MessageType,
} from './message-types.ts';
import { mix64, pickWeighted, rngFor, type Rng, type SeedMaterial } from './prng.ts';

/** What the generator needs to know about other messages of the log. */
export interface GeneratorContext {
  /** true when message j exists and is generated (not a fixture) */
  isGenerated(j: number): boolean;
  /** msgid of message j */
  msgidOf(j: number): string;
}

export interface GeneratedMessage {
  readonly index: number;
  readonly type: MessageType;
  readonly msgid: string;
  readonly plaintext: Buffer;
}

interface Conversation {
  readonly roomid: string;
  readonly sender: Person;
  readonly others: readonly Person[];
  /** meeting_voice_call and voip_doc_share examples have no roomid member at all */
  readonly omitRoomid: boolean;
}

interface Plan extends Conversation {
  readonly type: MessageType;
  readonly msgidStyle: 'base64' | 'seconds' | 'millis';
  readonly suffix: '' | '_external' | '_updown_stream';
  /** client send time is a little before the server's arrival time */
  readonly jitterMs: number;
}

const STREAM_PLAN = 1;
const STREAM_BODY = 2;

export class MessageGenerator {
  private readonly robotGroups: readonly Group[];
  private readonly internalGroups: readonly Group[];
  private readonly externalGroups: readonly Group[];

  constructor(
    private readonly seed: SeedMaterial,
    private readonly directory: CorpDirectory,
    private readonly media: MediaPool,
  ) {
    this.robotGroups = directory.groups.filter((g) => g.robot !== undefined);
    this.internalGroups = directory.groups.filter((g) => !g.hasExternal);
    this.externalGroups = directory.groups.filter((g) => g.hasExternal);
  }

  /** The msgid of generated message i that arrived at `arrival` (ms). */
  msgid(i: number, arrival: number): string {
    const plan = this.plan(i);
    return this.msgidFor(i, plan, arrival - plan.jitterMs);
  }

  generate(i: number, arrival: number, ctx: GeneratorContext): GeneratedMessage {
    let plan = this.plan(i);
    const rng = rngFor(this.seed.seed32, i, STREAM_BODY);
    const msgtime = arrival - plan.jitterMs;
    const msgid = this.msgidFor(i, plan, msgtime);

    let preMsgid = '';
    if (plan.type === 'revoke') {
      const target = this.revokeTarget(i, rng, ctx);
      if (target === undefined) {
        plan = { ...plan, type: 'text' };
      } else {
        // the recall comes from the original sender, in the original conversation
        const original = this.plan(target);
        plan = { ...plan, roomid: original.roomid, sender: original.sender, others: original.others, omitRoomid: original.omitRoomid };
        preMsgid = ctx.msgidOf(target);
      }
    }

    let slot = 0;
    const media = (kind: MediaKind): MediaFields => {
      const blob = this.media.pickBlob(kind, rng);
      return {
        sdkfileid: this.media.sdkFileId(kind, blob, i, slot++),
        // WeCom sometimes sends an empty md5sum; wrong ones on request (media-pool.ts)
        md5sum: this.media.declaredMd5(kind, blob, rng.float()),
        filesize: this.media.size(kind, blob),
      };
    };
    const body: BodyContext = { rng, msgtime, sender: plan.sender, others: plan.others, roomid: plan.roomid, directory: this.directory, preMsgid, media };
    const tolist = plan.others.map((p) => p.id);

    let doc: JsonValue;
    if (plan.type === 'switch') {
      doc = { msgid, action: 'switch', time: msgtime, user: plan.sender.id };
    } else if (plan.type === 'meeting_notification') {
      // the reference example lists this type's members in this (alphabetical) order, with a
      // human-readable China-time `time` string after them
      doc = {
        action: 'send',
        from: plan.sender.id,
        info: meetingNotificationInfo(body),
        msgid,
        msgtime,
        msgtype: plan.type,
        roomid: plan.roomid,
        tolist,
        time: chinaTime(msgtime),
      };
    } else {
      doc = {
        msgid,
        action: plan.type === 'revoke' ? 'recall' : 'send',
        from: plan.sender.id,
        tolist,
        roomid: plan.omitRoomid ? undefined : plan.roomid,
        msgtime,
        msgtype: plan.type,
        ...BODY_BUILDERS[plan.type](body),
      };
    }
    return { index: i, type: plan.type, msgid, plaintext: Buffer.from(writeJson(doc), 'utf8') };
  }

  private plan(i: number): Plan {
    const rng = rngFor(this.seed.seed32, i, STREAM_PLAN);
    const type: MessageType =
      i % SHOWCASE_EVERY === SHOWCASE_OFFSET
        ? (messageTypes[Math.floor(i / SHOWCASE_EVERY) % messageTypes.length] as MessageType)
        : (messageTypes[pickWeighted(rng, TYPE_WEIGHTS, TYPE_WEIGHT_TOTAL)] as MessageType);
    const conv = this.conversation(rng, TYPE_RULES[type].need);
    const external = conv.sender.kind === 'external' || conv.others.some((p) => p.kind === 'external');
    let suffix: Plan['suffix'] = '';
    if (type === 'sphfeed' || type === 'qydiskfile' || (external && rng.chance(0.25))) suffix = '_external';
    else if (rng.chance(0.02)) suffix = '_updown_stream';
    const styleRoll = rng.float();
    const msgidStyle: Plan['msgidStyle'] =
      type === 'meeting_notification' || type === 'voiptext' || type === 'qydiskfile' ? 'millis' : styleRoll < 0.25 ? 'base64' : styleRoll < 0.75 ? 'seconds' : 'millis';
    return { ...conv, type, suffix, msgidStyle, jitterMs: rng.int(2000) };
  }

  private conversation(rng: Rng, need: ConversationNeed): Conversation {
    const d = this.directory;
    const direct = (a: Person, b: Person, omitRoomid = false): Conversation => ({ roomid: '', sender: a, others: [b], omitRoomid });
    const inGroup = (g: Group): Conversation => {
      const sender = rng.pick(g.members);
      return { roomid: g.roomid, sender, others: g.members.filter((p) => p !== sender), omitRoomid: false };
    };
    const twoMembers = (): [Person, Person] => {
      const [a, b] = rng.sample(d.members, 2) as [Person, Person];
      return [a, b];
    };
    switch (need) {
      case 'none':
        return { roomid: '', sender: rng.pick(d.members), others: [], omitRoomid: true };
      case 'robot': {
        const g = rng.pick(this.robotGroups);
        return { roomid: g.roomid, sender: g.robot as Person, others: g.members, omitRoomid: false };
      }
      case 'from-external':
        return direct(rng.pick(d.externals), rng.pick(d.members));
      case 'to-external':
        return direct(rng.pick(d.members), rng.pick(d.externals));
      case 'internal':
        return rng.chance(0.5) ? inGroup(rng.pick(this.internalGroups)) : direct(...twoMembers());
      case 'with-external': {
        if (rng.chance(0.5)) return inGroup(rng.pick(this.externalGroups));
        const m = rng.pick(d.members);
        const e = rng.pick(d.externals);
        return rng.chance(0.5) ? direct(m, e) : direct(e, m);
      }
      case 'direct':
      case 'any': {
        if (need === 'any' && rng.chance(0.55)) return inGroup(rng.pick(d.groups));
        const omit = need === 'direct' && rng.chance(0.5);
        if (rng.chance(0.6)) return direct(...twoMembers(), omit);
        const m = rng.pick(d.members);
        const e = rng.pick(d.externals);
        return rng.chance(0.6) ? direct(m, e, omit) : direct(e, m, omit);
      }
    }
  }

  /**
   * msgid shapes seen in real archive data: `CAQQ…=` base64, `<uint64>_<unix s>`,
   * `<uint64>_<unix ms>`, optionally `_external` / `_updown_stream`. The uint64 is a bijection of
   * the index, so msgids never collide.
   */
  private msgidFor(i: number, plan: Plan, msgtime: number): string {
    const unique = mix64(BigInt(i) + this.seed.seed64);
    if (plan.type === 'switch') return `${unique}${i % 10}`;
    let base: string;
    if (plan.msgidStyle === 'base64') {
      const bytes = Buffer.alloc(23);
      bytes.set([0x08, 0x04, 0x10], 0);
      bytes.writeBigUInt64BE(unique, 3);
      bytes.writeBigUInt64BE(mix64(unique ^ 0x5bd1e995n), 11);
      bytes.writeUInt32BE(msgtime % 4294967296, 19);
      base = bytes.toString('base64');
    } else {
      base = `${unique}_${plan.msgidStyle === 'seconds' ? Math.floor(msgtime / 1000) : msgtime}`;
    }
    return base + plan.suffix;
  }

  private revokeTarget(i: number, rng: Rng, ctx: GeneratorContext): number | undefined {
    for (let attempt = 0; attempt < 6 && i > 0; attempt++) {
      const j = i - rng.range(1, Math.min(i, 30));
      if (ctx.isGenerated(j) && isRevocable(this.plan(j).type)) return j;
    }
    return undefined;
  }
}

/** "2023-11-24 16:52:38:880" in China time, as meeting_notification's `time` shows it. */
function chinaTime(ms: number): string {
  const iso = new Date(ms + 8 * 3_600_000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}:${iso.slice(20, 23)}`;
}
