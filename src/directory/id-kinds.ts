/**
 * What an id in a message names, by WeCom's id prefixes: external contacts start with `wm`/`wo`,
 * robots with `wb`; everything else in from/tolist is a member's userid. Roomids are groups.
 */
export type PersonKind = 'member' | 'external' | 'robot';

const EXTERNAL = /^w[mo][A-Za-z0-9_-]{16,}$/;
const ROBOT = /^wb[A-Za-z0-9_-]{16,}$/;
/** userids as WeCom allows them (letters, digits, "_-.@"), within the column size */
const USERID = /^[A-Za-z0-9_.@-]{1,64}$/;

export function personKind(id: string): PersonKind {
  if (EXTERNAL.test(id)) return 'external';
  if (ROBOT.test(id)) return 'robot';
  return 'member';
}

/** Ids worth asking WeCom about: anything else is malformed input and not sent to the API. */
export function isPlausibleId(id: string): boolean {
  return id.length <= 191 && (EXTERNAL.test(id) || ROBOT.test(id) || USERID.test(id));
}

export function isPlausibleRoomId(roomid: string): boolean {
  return /^[A-Za-z0-9_-]{1,191}$/.test(roomid);
}
