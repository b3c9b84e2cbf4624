import { describe, expect, it } from 'vitest';
import type { RequiredToken } from '../store/dialects/dialect.ts';
import { filterFacets, MAX_DAY_FACETS, MAX_MONTH_FACETS, messageFacets, timeFacetsFitRange } from './facets.ts';
import { encodeFacet } from './token-codec.ts';

const at = (iso: string): number => Date.parse(iso);
const anyOf = (t: RequiredToken | undefined): readonly string[] => (t !== undefined && 'anyOf' in t ? t.anyOf : []);

describe('search facets', () => {
  it('gives a message its conversation, sender, UTC day and month, as tokens no text makes', () => {
    const facets = messageFacets({ conversation_key: 'room:wr1/x', from_id: 'zhangsan', msgtime: at('2026-12-03T23:59:59.999Z') });
    expect(facets).toEqual([encodeFacet('conversation', 'room:wr1/x'), encodeFacet('sender', 'zhangsan'), 'dy20261203', 'mo202612']);
    for (const f of facets) expect(f).toMatch(/^(cv|fr|dy|mo)[0-9a-f]+$/);
    expect(encodeFacet('conversation', 'a')).not.toBe(encodeFacet('conversation', 'b'));
    expect(encodeFacet('conversation', 'a')).not.toBe(encodeFacet('sender', 'a'));
  });

  it('gives the same facets when it remembers them as when it makes them, past the most it remembers', () => {
    for (let i = 0; i < 10_000; i++) {
      const m = { conversation_key: `room:r${i % 5_000}`, from_id: `u${i % 7}`, msgtime: at('2026-12-03T23:59:59.999Z') + (i % 3) * 86_400_000 + i };
      const day = new Date(m.msgtime).toISOString().slice(0, 10).replaceAll('-', '');
      expect(messageFacets(m)).toEqual([encodeFacet('conversation', m.conversation_key), encodeFacet('sender', m.from_id), `dy${day}`, `mo${day.slice(0, 6)}`]);
    }
  });

  it('asks for a conversation, any of the senders, and any day of a range [since, until)', () => {
    const [conversation, senders, days] = filterFacets({
      conversationKey: 'single:a:b',
      fromIds: ['a', 'b'],
      since: at('2026-12-01T12:00:00Z'),
      until: at('2026-12-04T00:00:00Z'),
    });
    expect(conversation).toEqual({ token: encodeFacet('conversation', 'single:a:b'), prefix: false });
    expect(anyOf(senders)).toEqual([encodeFacet('sender', 'a'), encodeFacet('sender', 'b')]);
    // until is exclusive: a message at 2026-12-04T00:00 is outside, so that day is not asked for
    expect(anyOf(days)).toEqual(['dy20261201', 'dy20261202', 'dy20261203']);
  });

  it('leaves the time to the entries’ ids when asked to (time: false), still asking for the rest', () => {
    const filters = { conversationKey: 'room:r1', fromIds: ['a'], since: at('2026-12-01T00:00:00Z'), until: at('2026-12-02T00:00:00Z') };
    expect(filterFacets(filters)).toHaveLength(3);
    expect(filterFacets(filters, { time: false })).toEqual([{ token: encodeFacet('conversation', 'room:r1'), prefix: false }, { anyOf: [encodeFacet('sender', 'a')] }]);
  });

  it('covers every day a message of the range can fall on, up to the limit, then months, then nothing', () => {
    const since = at('2026-01-31T23:00:00Z');
    // 23:00 of the first day to 22:59 of the 62nd: 62 days
    const days = anyOf(filterFacets({ since, until: since + (MAX_DAY_FACETS - 1) * 86_400_000 })[0]);
    expect(days).toHaveLength(MAX_DAY_FACETS);
    expect([days[0], days.at(-1)]).toEqual(['dy20260131', 'dy20260402']);
    // an hour more touches a 63rd day: the range is asked for by its months
    const months = anyOf(filterFacets({ since, until: since + (MAX_DAY_FACETS - 1) * 86_400_000 + 3_600_001 })[0]);
    expect(months).toEqual(['mo202601', 'mo202602', 'mo202603', 'mo202604']);
    const years = filterFacets({ since: at('2020-01-01T00:00:00Z'), until: at('2023-01-01T00:00:00Z') });
    expect(anyOf(years[0])).toHaveLength(MAX_MONTH_FACETS);
    expect(filterFacets({ since: at('2020-01-01T00:00:00Z'), until: at('2023-01-02T00:00:00Z') })).toEqual([]);
  });

  it('asks for nothing it cannot bound: an open range, an empty range, no senders, or too many', () => {
    expect(filterFacets({ since: at('2026-01-01T00:00:00Z') })).toEqual([]);
    expect(filterFacets({ until: at('2026-01-01T00:00:00Z') })).toEqual([]);
    expect(filterFacets({ since: 10, until: 10 })).toEqual([]);
    expect(filterFacets({ fromIds: [] })).toEqual([]);
    expect(filterFacets({ fromIds: Array.from({ length: 21 }, (_, i) => `u${i}`) })).toEqual([]);
    expect(filterFacets({ corpid: 'ww1', msgtypes: ['text'], external: true })).toEqual([]);
  });

  it('says whether a range covers at least half of the time its day or month facets span', () => {
    const fits = (since: string, until: string) => timeFacetsFitRange({ since: at(since), until: at(until) });
    // 24 hours across two days: half of the 48 the two day facets span
    expect(fits('2026-01-06T12:00:00Z', '2026-01-07T12:00:00Z')).toBe(true);
    expect(fits('2026-01-06T12:00:01Z', '2026-01-07T12:00:00Z')).toBe(false);
    // an hour of one day: its day facet holds 24 times the range
    expect(fits('2026-01-06T12:00:00Z', '2026-01-06T13:00:00Z')).toBe(false);
    expect(fits('2026-01-06T00:00:00Z', '2026-01-07T00:00:00Z')).toBe(true);
    // by months past MAX_DAY_FACETS days: January 15 to April 15 spans four months (120 days), 90 of them in range
    expect(fits('2026-01-15T00:00:00Z', '2026-04-15T00:00:00Z')).toBe(true);
    // twelve hours across midnight: two day facets, 48 hours
    expect(fits('2026-01-06T18:00:00Z', '2026-01-07T06:00:00Z')).toBe(false);
    // no time facet: an open range, or one too long for months
    expect(timeFacetsFitRange({ since: at('2026-01-01T00:00:00Z') })).toBe(false);
    expect(fits('2020-01-01T00:00:00Z', '2023-01-02T00:00:00Z')).toBe(false);
    expect(timeFacetsFitRange({})).toBe(false);
  });
});
