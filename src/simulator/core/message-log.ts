/**
 * The order in which messages reached the simulated server, and when. The log holds segments, not
 * messages: a run of generated messages is (first index, count, time span), a rate segment grows
 * with the clock, and only fixture lines are held as bytes (they were given to us). Memory is
 * O(segments), whatever the number of messages.
 *
 * Arrival times never decrease with the index, which is what lets the 5-day window be found by
 * binary search and makes "seq order = server order" true as in WeCom.
 */
import { ValidationError } from '../../errors/errors.ts';
import type { SimClock } from './clock.ts';

type Segment =
  | { kind: 'generated'; first: number; count: number; t0: number; t1: number }
  | { kind: 'fixtures'; first: number; lines: readonly Buffer[]; msgids: readonly string[]; at: number }
  /** open-ended while it is the last segment: message k arrives at t0 + (k+1)·1000/perSecond */
  | { kind: 'rate'; first: number; t0: number; perSecond: number; closedCount: number | undefined };

export type MessageSource = { kind: 'generated' } | { kind: 'fixture'; line: Buffer; msgid: string };

export class MessageLog {
  private readonly segments: Segment[] = [];

  /** `capacity`: how many messages seq can number (2^64 - seqStart, at most 2^53). */
  constructor(
    private readonly clock: SimClock,
    private readonly capacity: number,
  ) {}

  /** Messages that have arrived by `now`. */
  size(now = this.clock.now()): number {
    const last = this.segments[this.segments.length - 1];
    if (last === undefined) return 0;
    return last.first + this.segmentCount(last, now);
  }

  /** `count` generated messages arriving evenly over [t0, t1]. */
  addGenerated(count: number, t0: number, t1: number): void {
    if (count <= 0) return;
    const first = this.closeRate();
    this.checkCapacity(first, count);
    if (t0 < this.lastArrival(first)) throw new Error('generated segment would arrive before earlier messages');
    this.segments.push({ kind: 'generated', first, count, t0, t1 });
  }

  /**
   * `count` generated messages arriving now: spread over the last few seconds (10 ms apart) but
   * never before the previous message, so the newest has msgtime ≈ now.
   */
  appendGenerated(count: number): { first: number; count: number } {
    const now = this.clock.now();
    const rate = this.openRate();
    const first = this.closeRate(now);
    const t0 = Math.max(this.lastArrival(first), now - (count - 1) * 10);
    this.addGenerated(count, Math.min(t0, now), now);
    if (rate) this.setRate(rate.perSecond);
    return { first, count };
  }

  /** Fixture plaintexts, all arriving now (their own msgtime is whatever the line says). */
  appendFixtures(lines: readonly Buffer[]): { first: number; count: number } {
    const now = this.clock.now();
    const rate = this.openRate();
    const first = this.closeRate(now);
    this.checkCapacity(first, lines.length);
    if (lines.length > 0)
      this.segments.push({ kind: 'fixtures', first, lines, msgids: lines.map((l, k) => fixtureMsgid(l, first + k)), at: Math.max(now, this.lastArrival(first)) });
    if (rate) this.setRate(rate.perSecond);
    return { first, count: lines.length };
  }

  /** From now on, `perSecond` new generated messages per second (0 stops). */
  setRate(perSecond: number): void {
    if (!Number.isFinite(perSecond) || perSecond < 0) throw new ValidationError('RATE_INVALID', `rate must be a number >= 0 messages per second, got ${perSecond}`);
    const now = this.clock.now();
    const first = this.closeRate(now);
    if (perSecond > 0) this.segments.push({ kind: 'rate', first, t0: Math.max(now, this.lastArrival(first)), perSecond, closedCount: undefined });
  }

  rate(): number {
    return this.openRate()?.perSecond ?? 0;
  }

  arrivalOf(i: number): number {
    const s = this.segmentOf(i);
    const k = i - s.first;
    switch (s.kind) {
      case 'generated':
        return s.count === 1 ? s.t1 : s.t0 + Math.floor((k * (s.t1 - s.t0)) / (s.count - 1));
      case 'fixtures':
        return s.at;
      case 'rate':
        return rateArrival(s, k);
    }
  }

  source(i: number): MessageSource {
    const s = this.segmentOf(i);
    if (s.kind !== 'fixtures') return { kind: 'generated' };
    const k = i - s.first;
    return { kind: 'fixture', line: s.lines[k] as Buffer, msgid: s.msgids[k] as string };
  }

  /** First index whose arrival is at or after `since` (size() when none). */
  firstArrivedSince(since: number, now = this.clock.now()): number {
    let lo = 0;
    let hi = this.size(now);
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (this.arrivalOf(mid) < since) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private segmentOf(i: number): Segment {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if ((this.segments[mid] as Segment).first <= i) lo = mid;
      else hi = mid - 1;
    }
    const s = this.segments[lo];
    if (s === undefined || i < 0) throw new RangeError(`no message ${i}`);
    return s;
  }

  private segmentCount(s: Segment, now: number): number {
    switch (s.kind) {
      case 'generated':
        return s.count;
      case 'fixtures':
        return s.lines.length;
      case 'rate':
        return s.closedCount ?? Math.min(rateCount(s, now), this.capacity - s.first);
    }
  }

  private openRate(): Extract<Segment, { kind: 'rate' }> | undefined {
    const last = this.segments[this.segments.length - 1];
    return last?.kind === 'rate' && last.closedCount === undefined ? last : undefined;
  }

  /** Freezes an open rate segment at what has arrived by `now`; returns the next free index. */
  private closeRate(now = this.clock.now()): number {
    const rate = this.openRate();
    if (rate) rate.closedCount = Math.min(rateCount(rate, now), this.capacity - rate.first);
    return this.size(now);
  }

  private lastArrival(size: number): number {
    return size === 0 ? Number.NEGATIVE_INFINITY : this.arrivalOf(size - 1);
  }

  private checkCapacity(first: number, count: number): void {
    if (first + count > this.capacity) {
      throw new ValidationError('SEQ_EXHAUSTED', `cannot add ${count} messages: seq would pass 2^64-1 (room for ${this.capacity - first} more)`);
    }
  }
}

function rateArrival(s: { t0: number; perSecond: number }, k: number): number {
  return s.t0 + Math.floor(((k + 1) * 1000) / s.perSecond);
}

/** How many rate messages have arrived by `now` (floating point nudged to agree with rateArrival). */
function rateCount(s: { t0: number; perSecond: number }, now: number): number {
  if (now < s.t0) return 0;
  let n = Math.max(0, Math.ceil(((now - s.t0 + 1) * s.perSecond) / 1000) - 1);
  while (n > 0 && rateArrival(s, n - 1) > now) n--;
  while (rateArrival(s, n) <= now) n++;
  return n;
}

/** The msgid of a fixture line, for its envelope; a line without one gets a stand-in. */
function fixtureMsgid(line: Buffer, index: number): string {
  const m = /"msgid"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(line.toString('utf8'));
  if (m) {
    try {
      return JSON.parse(`"${m[1]}"`) as string;
    } catch {
      return m[1] as string;
    }
  }
  return `fixture_${index}`;
}
