/**
 * The types shown as a card: a title and a few lines built from the body's fields, all as text.
 * Nothing here is fetched: a link's or news item's picture URL and a location's map stay unused,
 * since loading them would tell an outside server who reads the archive and when.
 */
import { formatDateTime, formatDuration } from '../time.ts';
import { list, isFields, num, safeHttpUrl, str, strings, type Fields } from './body.ts';

export interface Card {
  /** i18n key of the card's kind label */
  kind: string;
  title: string;
  lines: string[];
  /** an http(s) address the card may open (after a confirmation), never anything else */
  url?: string;
  /** the raw address as text, shown even when it is not one the card opens */
  urlText?: string;
}

export type Translate = (key: string, params?: Record<string, unknown>) => string;

export const CARD_TYPES: ReadonlySet<string> = new Set([
  'link',
  'weapp',
  'card',
  'location',
  'news',
  'todo',
  'vote',
  'collect',
  'redpacket',
  'external_redpacket',
  'meeting',
  'meeting_notification',
  'docmsg',
  'calendar',
  'sphfeed',
  'voiptext',
  'qydiskfile',
]);

function nonEmpty(lines: (string | undefined | false)[]): string[] {
  return lines.filter((l): l is string => typeof l === 'string' && l.trim() !== '');
}

/** A WeCom time in seconds (or milliseconds, which some bodies use) as a local date and time. */
function when(fields: Fields, key: string, locale: string): string {
  const v = num(fields, key);
  if (v === undefined || v <= 0) return '';
  return formatDateTime(v < 1e12 ? v * 1000 : v, locale);
}

function linked(raw: string): Pick<Card, 'url' | 'urlText'> {
  return raw ? { url: safeHttpUrl(raw), urlText: raw } : {};
}

/** The card for one body, or undefined for a type that is not shown as a card. */
export function cardOf(msgtype: string, b: Fields, t: Translate, locale: string): Card | undefined {
  const line = (key: string, v: string): string | undefined => (v ? t(`msg.card.${key}`, { v }) : undefined);
  switch (msgtype) {
    case 'link':
      return { kind: 'link', title: str(b, 'title'), lines: nonEmpty([str(b, 'description')]), ...linked(str(b, 'link_url')) };
    case 'weapp':
      return { kind: 'weapp', title: str(b, 'title'), lines: nonEmpty([str(b, 'description'), line('app', str(b, 'displayname'))]) };
    case 'card':
      return { kind: 'card', title: str(b, 'userid'), lines: nonEmpty([line('corp', str(b, 'corpname'))]) };
    case 'location': {
      const lat = num(b, 'latitude');
      const lng = num(b, 'longitude');
      return {
        kind: 'location',
        title: str(b, 'title') || str(b, 'address'),
        lines: nonEmpty([str(b, 'title') ? str(b, 'address') : '', lat !== undefined && lng !== undefined && t('msg.card.coords', { lat, lng })]),
      };
    }
    case 'news': {
      const first = list(b, 'item').find(isFields) ?? {};
      const more = list(b, 'item').filter(isFields).slice(1);
      return {
        kind: 'news',
        title: str(first, 'title'),
        lines: nonEmpty([str(first, 'description'), ...more.map((i) => str(i, 'title'))]),
        ...linked(str(first, 'url')),
      };
    }
    case 'todo':
      return { kind: 'todo', title: str(b, 'content'), lines: nonEmpty([str(b, 'title')]) };
    case 'vote': {
      const joined = num(b, 'votetype') === 102;
      return {
        kind: 'vote',
        title: str(b, 'votetitle'),
        lines: nonEmpty([t(joined ? 'msg.card.voteJoin' : 'msg.card.voteStart'), line('options', strings(b, 'voteitem').join(' / '))]),
      };
    }
    case 'collect':
      return {
        kind: 'collect',
        title: str(b, 'title'),
        lines: nonEmpty([
          ...list(b, 'details')
            .filter(isFields)
            .map((d) => `${str(d, 'ques')}${str(d, 'type') ? ` (${str(d, 'type')})` : ''}`),
          line('creator', str(b, 'creator')),
          line('room', str(b, 'room_name')),
          line('createdAt', str(b, 'create_time')),
        ]),
      };
    case 'redpacket':
    case 'external_redpacket': {
      const fen = num(b, 'totalamount');
      const kind = num(b, 'type');
      return {
        kind: msgtype,
        title: str(b, 'wish'),
        lines: nonEmpty([
          kind !== undefined && [1, 2, 3].includes(kind) ? t(`msg.card.packetKind.${kind}`) : '',
          fen !== undefined ? t('msg.card.amount', { count: num(b, 'totalcnt') ?? 0, yuan: (fen / 100).toFixed(2) }) : '',
        ]),
      };
    }
    case 'meeting': {
      const quick = num(b, 'endtime') === undefined;
      return {
        kind: 'meeting',
        title: str(b, 'topic'),
        lines: nonEmpty([
          line('start', when(b, 'starttime', locale)),
          line('end', when(b, 'endtime', locale)),
          line('place', str(b, 'address')),
          line('remarks', str(b, 'remarks')),
          quick && t('msg.card.quick'),
          line('meetingId', str(b, 'meetingid')),
        ]),
      };
    }
    case 'meeting_notification':
      return { kind: 'meeting_notification', title: str(b, 'content'), lines: nonEmpty([line('meetingId', str(b, 'meeting_id'))]) };
    case 'docmsg':
      return { kind: 'docmsg', title: str(b, 'title'), lines: nonEmpty([line('creator', str(b, 'doc_creator'))]), ...linked(str(b, 'link_url')) };
    case 'calendar': {
      const attendees = strings(b, 'attendeename').length > 0 ? strings(b, 'attendeename') : strings(b, 'attendeeename');
      return {
        kind: 'calendar',
        title: str(b, 'title'),
        lines: nonEmpty([
          line('start', when(b, 'starttime', locale)),
          line('end', when(b, 'endtime', locale)),
          line('place', str(b, 'place')),
          line('organizer', str(b, 'creatorname')),
          line('attendees', attendees.join('、')),
          line('remarks', str(b, 'remarks')),
        ]),
      };
    }
    case 'sphfeed': {
      const kind = str(b, 'feed_type');
      return { kind: 'sphfeed', title: str(b, 'sph_name'), lines: nonEmpty([['2', '4', '9'].includes(kind) ? t(`msg.card.feedKind.${kind}`) : '', str(b, 'feed_desc')]) };
    }
    case 'voiptext': {
      const kind = num(b, 'invitetype');
      const secs = num(b, 'callduration');
      return {
        kind: 'voiptext',
        title: kind !== undefined && [1, 2, 3, 4].includes(kind) ? t(`msg.card.callKind.${kind}`) : t('msg.card.voiptext'),
        lines: nonEmpty([secs !== undefined ? t('msg.card.callDuration', { v: formatDuration(secs) }) : '']),
      };
    }
    case 'qydiskfile':
      return { kind: 'qydiskfile', title: str(b, 'filename'), lines: [] };
    default:
      return undefined;
  }
}
