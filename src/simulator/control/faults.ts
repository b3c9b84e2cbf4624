/**
 * Faults the simulator injects on request, so the archive's retry, gap and error paths can be
 * exercised: SDK return codes (10001–10011), slow calls, a JSON-level errcode inside a successful
 * GetChatData (WeCom reports errors in two layers: the SDK's return code, and an errcode in the
 * JSON of a call that returned 0), truncated bodies, dropped connections, and media chunks with
 * flipped bytes (so the file no longer matches its md5).
 *
 * Each fault applies to the next `count` calls of its operation, in the order added.
 */
import { ValidationError } from '../../errors/errors.ts';
import { SDK_CODES } from '../../errors/wecom-codes.ts';

export type FaultOperation = 'chatdata' | 'media' | 'decrypt';
export type FaultTarget = FaultOperation | 'any';

export type FaultSpec =
  | { op: FaultTarget; kind: 'sdk-code'; code: number; count?: number }
  | { op: FaultTarget; kind: 'delay'; ms: number; count?: number }
  | { op: FaultTarget; kind: 'errcode'; errcode: number; errmsg?: string; count?: number }
  | { op: FaultTarget; kind: 'truncate'; count?: number }
  | { op: FaultTarget; kind: 'disconnect'; count?: number }
  | { op: FaultTarget; kind: 'corrupt'; count?: number };

export type Fault = FaultSpec & { remaining: number };

const OPS: readonly FaultTarget[] = ['chatdata', 'media', 'decrypt', 'any'];
const MAX_DELAY_MS = 600_000;

/** errmsg texts WeCom uses for the msgaudit server codes */
const ERRMSG: Readonly<Record<number, string>> = {
  301042: 'ip not in whitelist',
  301052: 'msgaudit service expired',
  301053: 'msgaudit service not open',
  301058: 'request too large, please reduce limit',
  [-1]: 'system busy',
};

export function defaultErrmsg(errcode: number): string {
  return ERRMSG[errcode] ?? `simulated errcode ${errcode}`;
}

/** Whether a fault kind means anything for an operation (an errcode only exists in chat data). */
function appliesTo(kind: FaultSpec['kind'], op: FaultOperation): boolean {
  if (kind === 'errcode') return op === 'chatdata';
  if (kind === 'corrupt') return op === 'media';
  return true;
}

export class FaultInjector {
  private faults: Fault[] = [];

  add(spec: FaultSpec): void {
    this.faults.push({ ...spec, remaining: spec.count ?? 1 });
  }

  clear(): void {
    this.faults = [];
  }

  list(): readonly Fault[] {
    return this.faults;
  }

  /** The fault for this call, if any, used up by one. */
  take(op: FaultOperation): Fault | undefined {
    const k = this.faults.findIndex((f) => (f.op === op || f.op === 'any') && appliesTo(f.kind, op));
    if (k < 0) return undefined;
    const fault = this.faults[k] as Fault;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.splice(k, 1);
    return fault;
  }
}

/**
 * Parses the CLI form `OP:WHAT[xCOUNT]`: OP is chatdata, media, decrypt or any; WHAT is an SDK code
 * (10001), `delay=MS`, `errcode=CODE`, `truncate`, `disconnect` or `corrupt`; COUNT is a number or
 * `*` for every call. Examples: `chatdata:10001x3`, `media:delay=2000`, `chatdata:errcode=301042`.
 */
export function parseFaultSpec(text: string): FaultSpec {
  const m = /^(\w+):([\w=-]+?)(?:x(\d+|\*))?$/.exec(text.trim());
  const bad = (why: string) =>
    new ValidationError(
      'FAULT_INVALID',
      `fault ${JSON.stringify(text)}: ${why}. Use OP:WHAT[xCOUNT], e.g. chatdata:10001x3, media:delay=2000, chatdata:errcode=301042, any:truncate, any:disconnect, media:corrupt`,
    );
  if (!m) throw bad('not of the form OP:WHAT[xCOUNT]');
  const [, op = '', what = '', countText] = m;
  const count = countText === undefined ? 1 : countText === '*' ? Number.POSITIVE_INFINITY : Number(countText);
  const eq = what.indexOf('=');
  const name = eq < 0 ? what : what.slice(0, eq);
  const arg = eq < 0 ? undefined : what.slice(eq + 1);
  let spec: unknown;
  if (/^\d+$/.test(name) && arg === undefined) spec = { op, kind: 'sdk-code', code: Number(name), count };
  else if (name === 'delay') spec = { op, kind: 'delay', ms: Number(arg), count };
  else if (name === 'errcode') spec = { op, kind: 'errcode', errcode: Number(arg), count };
  else if ((name === 'truncate' || name === 'disconnect' || name === 'corrupt') && arg === undefined) spec = { op, kind: name, count };
  else throw bad(`unknown fault ${JSON.stringify(what)}`);
  try {
    return validateFaultSpec(spec);
  } catch (err) {
    throw bad((err as Error).message);
  }
}

/** Checks a fault given as JSON (control API) or built by parseFaultSpec. */
export function validateFaultSpec(input: unknown): FaultSpec {
  const bad = (why: string) => new ValidationError('FAULT_INVALID', why);
  if (typeof input !== 'object' || input === null) throw bad('a fault must be an object like {"op":"chatdata","kind":"sdk-code","code":10001,"count":3}');
  const f = input as Record<string, unknown>;
  const op = f.op ?? 'any';
  if (!OPS.includes(op as FaultTarget)) throw bad(`"op" must be one of ${OPS.join(', ')}, got ${JSON.stringify(op)}`);
  // JSON has no Infinity, so "*" stands for "every call"
  const count = f.count === '*' ? Number.POSITIVE_INFINITY : (f.count ?? 1);
  if (typeof count !== 'number' || !(count >= 1) || (!Number.isInteger(count) && count !== Number.POSITIVE_INFINITY)) {
    throw bad(`"count" must be a positive integer or "*", got ${JSON.stringify(count)}`);
  }
  const base = { op: op as FaultTarget, count };
  switch (f.kind) {
    case 'sdk-code':
      if (typeof f.code !== 'number' || SDK_CODES[f.code] === undefined) throw bad(`"code" must be an SDK return code 10000–10011, got ${JSON.stringify(f.code)}`);
      return { ...base, kind: 'sdk-code', code: f.code };
    case 'delay':
      if (typeof f.ms !== 'number' || !Number.isInteger(f.ms) || f.ms < 0 || f.ms > MAX_DELAY_MS)
        throw bad(`"ms" must be an integer 0–${MAX_DELAY_MS}, got ${JSON.stringify(f.ms)}`);
      return { ...base, kind: 'delay', ms: f.ms };
    case 'errcode':
      if (typeof f.errcode !== 'number' || !Number.isInteger(f.errcode) || f.errcode === 0) throw bad(`"errcode" must be a non-zero integer, got ${JSON.stringify(f.errcode)}`);
      if (f.errmsg !== undefined && typeof f.errmsg !== 'string') throw bad('"errmsg" must be a string');
      if (op === 'media' || op === 'decrypt') throw bad('an errcode fault only exists for chatdata');
      return { ...base, kind: 'errcode', errcode: f.errcode, errmsg: f.errmsg as string | undefined };
    case 'corrupt':
      if (op !== 'media' && op !== 'any') throw bad('a corrupt fault only exists for media');
      return { ...base, kind: 'corrupt' };
    case 'truncate':
    case 'disconnect':
      return { ...base, kind: f.kind };
    default:
      throw bad(`"kind" must be sdk-code, delay, errcode, truncate, disconnect or corrupt, got ${JSON.stringify(f.kind)}`);
  }
}
